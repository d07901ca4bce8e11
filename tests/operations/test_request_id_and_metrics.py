"""Operations end to end on the session's servers: one request id follows a turn from
the webhook through the action server to Evolution, and the counters move as predicted.

The servers are shared with other tests, so metrics are compared as deltas."""
from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests import evolution_samples as samples
from tests.conftest import SALES_WHATSAPP_NUMBER
from tests.integration.whatsapp import WhatsAppLead, bearer, new_key_id, new_phone
from tests.operations.scrape import delta, json_lines, lines_with_request_id, scrape

pytestmark = pytest.mark.integration

CHANNEL_METRICS = "/webhooks/evolution/metrics"


@pytest.fixture()
def lead(rasa_server, fake_evolution) -> WhatsAppLead:
    return WhatsAppLead(rasa_server.url, fake_evolution)


def new_request_id() -> str:
    return f"test-{uuid.uuid4().hex}"


def test_one_request_id_follows_a_turn_from_webhook_to_action_to_evolution(
    lead, rasa_server, action_server, fake_evolution
):
    request_id = new_request_id()
    response = lead.post(lead.body(text="oi"), headers={**bearer(), "X-Request-ID": request_id})
    assert response.status_code == 200
    lead.wait_for_replies(1)
    lead.wait_for_turn()

    sends = [r for r in fake_evolution.requests_for("sendText") if (r.json or {}).get("number") == lead.jid]
    assert sends and all(r.headers.get("x-request-id") == request_id for r in sends)

    rasa_lines = lines_with_request_id(rasa_server.log_path, request_id)
    turn_done = [line for line in rasa_lines if line["message"].startswith("evolution.turn_done")]
    assert len(turn_done) == 1
    assert turn_done[0]["duration_ms"] >= 0 and turn_done[0]["messages"] == 1
    assert turn_done[0]["conversation"].startswith(lead.phone[:4]) and lead.phone not in str(turn_done[0])
    assert {"ts", "level", "logger", "message", "request_id"} <= set(turn_done[0])

    action_lines = lines_with_request_id(action_server.log_path, request_id)
    assert any(line["message"].startswith("action.call") for line in action_lines)


def test_the_servers_log_one_json_object_a_line(rasa_server, action_server):
    for server in (rasa_server, action_server):
        entries = list(json_lines(server.log_path))
        assert entries, f"no JSON log lines in {server.log_path}"
        assert all({"ts", "level", "logger", "message", "request_id"} <= set(entry) for entry in entries)


def test_a_caller_request_id_that_is_not_plain_is_replaced(lead, rasa_server):
    unsafe = "bad id {\"level\": \"fake\"}"
    response = lead.post(lead.body(text="oi"), headers={**bearer(), "X-Request-ID": unsafe})
    assert response.status_code == 200
    lead.wait_for_replies(1)
    lead.wait_for_turn()
    assert not lines_with_request_id(rasa_server.log_path, unsafe)


def test_webhook_turn_duplicate_burst_and_evolution_counters(lead, rasa_server):
    url = rasa_server.url + CHANNEL_METRICS
    before = scrape(url)

    key_id = new_key_id()
    lead.send("oi", key_id=key_id)
    lead.wait_for_replies(1)
    lead.wait_for_turn()
    assert lead.post(lead.body(text="oi", key_id=key_id)).json()["status"] == "duplicate"
    lead.send("meu nome é Ana")
    lead.send("e moro em Recife")  # inside the debounce window: one burst of two
    lead.settle()
    after = scrape(url)

    accepted = delta(before, after, "aisdr_webhooks_total", event="messages.upsert", outcome="accepted")
    assert accepted == 3
    assert delta(before, after, "aisdr_webhooks_total", event="messages.upsert", outcome="duplicate") == 1
    assert delta(before, after, "aisdr_duplicates_dropped_total") == 1
    assert delta(before, after, "aisdr_debounced_bursts_total") >= 1
    assert delta(before, after, "aisdr_debounced_messages_total") >= 2
    assert delta(before, after, "aisdr_turn_duration_seconds_count") >= 2
    assert delta(before, after, "aisdr_evolution_requests_total", endpoint="message/sendText", status="201") \
        >= len(lead.replies())


def test_refused_webhooks_are_counted_by_status(lead, rasa_server):
    url = rasa_server.url + CHANNEL_METRICS
    before = scrape(url)
    assert lead.post(lead.body(text="oi"), headers={}).status_code == 401
    after = scrape(url)
    assert delta(before, after, "aisdr_webhooks_total", event="unknown", outcome="http_401") == 1


def qualify_call(phone: str, request_id: str) -> dict:
    slots = {
        "customer_name": "Ana", "monthly_bill_brl": 900.0, "property_type": "residencial",
        "is_owner": True, "roof_type": "ceramica", "is_decision_maker": True, "timeline": "imediato",
        "city": "Recife", "state": "PE", "financing_interest": False, "opted_out": False,
    }
    return {
        "next_action": "action_qualify_lead",
        "sender_id": phone,
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": phone, "slots": slots, "events": [], "paused": False,
            "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen",
            "latest_event_time": time.time(),
            "latest_message": {"text": "sim", "intent": {"name": "affirm"}, "entities": [],
                               "metadata": {"request_id": request_id}},
        },
    }


def test_a_scored_lead_is_counted_by_class_and_logged_with_the_turn_id(action_server, fake_evolution):
    url = action_server.url + "/metrics"
    before = scrape(url)
    request_id = new_request_id()
    call = qualify_call(new_phone(), request_id)
    answer = httpx.post(f"{action_server.url}/webhook", json=call, timeout=60)
    assert answer.status_code == 200, answer.text
    lead_class = next(e["value"] for e in answer.json()["events"] if e.get("name") == "lead_class")
    after = scrape(url)
    assert delta(before, after, "aisdr_leads_total", lead_class=lead_class) == 1
    scored = [line for line in lines_with_request_id(action_server.log_path, request_id)
              if line["message"].startswith("lead.scored")]
    assert scored and lead_class in scored[0]["message"]
    if lead_class == "HOT":  # the sales team was told through Evolution, with the same id
        assert fake_evolution.wait_for(lambda: fake_evolution.sent_texts(SALES_WHATSAPP_NUMBER))


def test_a_voice_note_moves_the_transcription_histogram(lead, action_server, fake_openai):
    url = action_server.url + "/metrics"
    before = scrape(url)
    fake_openai.queue_text("oi, quero saber de energia solar")
    assert lead.post(lead.body(samples.audio_message(base64=samples.AUDIO_BASE64))).status_code == 200
    lead.wait_for_replies(1)
    lead.wait_for_turn()
    after = scrape(url)
    assert delta(before, after, "aisdr_transcription_duration_seconds_count") == 1


def test_follow_up_and_lead_series_exist_before_the_first_event(rasa_server, action_server):
    channel = scrape(rasa_server.url + CHANNEL_METRICS)
    for outcome in ("scheduled", "sent", "cancelled", "suppressed", "deferred"):
        assert ("aisdr_followups_total", frozenset({("outcome", outcome)})) in channel
    actions = scrape(action_server.url + "/metrics")
    for lead_class in ("HOT", "WARM", "COLD", "UNQUALIFIED"):
        assert ("aisdr_leads_total", frozenset({("lead_class", lead_class)})) in actions
