"""Leads into Kommo and the outbound webhooks, through the real stack: WhatsApp webhook → Rasa →
action server → lead-events outbox in Redis → the Rasa server's worker → fake Kommo and a fake
n8n; and Kommo's own webhooks back into the conversation."""
from __future__ import annotations

import asyncio
import time
from typing import Any, Callable, Dict, List

import httpx
import pytest
import redis as redis_lib
from redis import asyncio as aioredis

from crm.kommo_links import KommoLinks
from tests.conftest import KOMMO_WEBHOOK_SECRET, LEAD_WEBHOOK_PATH
from tests.fake_kommo import IN_SERVICE_STAGE, LOST, QUALIFIED_STAGE, WON
from tests.integration.whatsapp import WhatsAppLead, wait_until

pytestmark = pytest.mark.integration

PREFIX = "test"  # the session servers' REDIS_KEY_PREFIX
SYNC_WAIT_S = 30
HOT_ANSWERS = ["oi", "Maria", "minha conta vem uns R$ 450,00", "Campinas - SP", "é uma casa", "própria",
               "sou eu que decido", "o quanto antes"]


def in_kommo(fake_kommo, phone: str) -> Dict[str, List[Dict[str, Any]]]:
    """What the fake account holds for one phone: its contacts, their leads, notes and tasks."""
    contacts = [c for c in fake_kommo.contacts
                if any(phone in v["value"].replace("+", "") for f in c["custom_fields_values"]
                       if f.get("field_code") == "PHONE" for v in f["values"])]
    lead_ids = {lead_id for c in contacts for lead_id in c["lead_ids"]}
    return {
        "contacts": contacts,
        "leads": [lead for lead in fake_kommo.leads if lead["id"] in lead_ids],
        "notes": [n for n in fake_kommo.notes if n.get("entity_id") in lead_ids],
        "tasks": [t for t in fake_kommo.tasks if t.get("entity_id") in lead_ids],
    }


def field(entity: Dict[str, Any], field_id: int) -> Any:
    for value in entity["custom_fields_values"]:
        if value.get("field_id") == field_id:
            return value["values"][0]["value"]
    return None


def webhooks_of(receiver, phone: str) -> List[Dict[str, Any]]:
    return [body for body in receiver.events() if body["lead"]["phone"] == phone]


@pytest.fixture()
def lead(rasa_server, fake_evolution) -> WhatsAppLead:
    return WhatsAppLead(rasa_server.url, fake_evolution)


def test_a_hot_lead_lands_in_kommo_once_and_writing_again_updates_it(lead, fake_kommo, lead_webhooks):
    for answer in HOT_ANSWERS:
        lead.say(answer)
    assert lead.tracker()["slots"]["lead_class"] == "HOT"
    state = wait_until(lambda: (s := in_kommo(fake_kommo, lead.phone))["tasks"] and len(s["notes"]) >= 2 and s,
                       what="the lead, its notes and its task in Kommo")
    [contact], [crm_lead] = state["contacts"], state["leads"]
    assert contact["name"] == "Maria" and field(contact, 2004) == "Campinas"
    assert crm_lead["name"] == "Maria — energia solar" and crm_lead["status_id"] == QUALIFIED_STAGE
    assert (field(crm_lead, 1001), field(crm_lead, 1004), field(crm_lead, 1005)) == (450.0, "Campinas", "SP")
    assert (field(crm_lead, 1007), field(crm_lead, 1008), field(crm_lead, 1011)) == (True, True, "HOT")
    assert set(crm_lead["tags"]) == {"assistente-whatsapp", "lead quente"}
    assert crm_lead["responsible_user_id"] in (10004026, 10004027)
    notes = [n["params"]["text"] for n in state["notes"]]
    assert len(notes) == 2 and "Lead qualificado" in notes[0] and "QUENTE" in notes[1]
    assert "Conta de luz: R$ 450,00" in notes[0]
    [task] = state["tasks"]
    assert task["complete_till"] > time.time() and "Maria" in task["text"]
    # Rasa's tracker mirrors the ids.
    slots = wait_until(lambda: (s := lead.tracker()["slots"])["crm_lead_id"] and s, what="crm ids in the slots")
    assert (slots["crm_lead_id"], slots["crm_contact_id"]) == (str(crm_lead["id"]), str(contact["id"]))
    # The same events, signed, to the outbound webhook.
    hooks = wait_until(lambda: len(found := webhooks_of(lead_webhooks, lead.phone)) >= 2 and found,
                       what="the outbound webhooks")
    assert [h["type"] for h in hooks] == ["lead.qualified", "lead.hot"]
    assert all(r.signature_valid and r.path == LEAD_WEBHOOK_PATH for r in lead_webhooks.received
               if r.json["lead"]["phone"] == lead.phone)

    # The lead writes again and asks for a person: the same Kommo lead moves on.
    lead.say("quero falar com um atendente")
    # The note and the task are two requests: wait for both, then check nothing came twice.
    state = wait_until(lambda: len((s := in_kommo(fake_kommo, lead.phone))["notes"]) >= 3
                       and len(s["tasks"]) >= 2 and s, what="the hand-off note and task")
    assert len(state["contacts"]) == 1 and len(state["leads"]) == 1
    assert state["leads"][0]["status_id"] == IN_SERVICE_STAGE
    assert "pediu para falar com uma pessoa" in state["notes"][2]["params"]["text"]
    assert len(state["tasks"]) == 2
    wait_until(lambda: len(webhooks_of(lead_webhooks, lead.phone)) >= 3, what="the hand-off webhook")
    time.sleep(1.5)  # a retried delivery would arrive by now
    assert [h["type"] for h in webhooks_of(lead_webhooks, lead.phone)] == ["lead.qualified", "lead.hot", "lead.handoff"]
    after = in_kommo(fake_kommo, lead.phone)
    assert (len(after["notes"]), len(after["tasks"])) == (3, 2)


def test_kommo_down_then_up_gets_everything_once_and_the_conversation_never_waits(lead, fake_kommo, lead_webhooks):
    fake_kommo.go_down()
    try:
        started = time.monotonic()
        replies = lead.say("oi, quero falar com um atendente")
        assert any("equipe" in r for r in replies), replies
        assert time.monotonic() - started < 20  # Kommo's outage did not hold the turn up
        # The webhook receiver is up: it is not held up by Kommo's queue.
        wait_until(lambda: webhooks_of(lead_webhooks, lead.phone), what="the webhook while Kommo is down")
        wait_until(lambda: any(r.path.startswith("/api/v4/contacts") for r in fake_kommo.requests
                               if r.status == 503), what="a failed Kommo attempt")
        assert in_kommo(fake_kommo, lead.phone)["leads"] == []
    finally:
        fake_kommo.come_back()
    state = wait_until(lambda: (s := in_kommo(fake_kommo, lead.phone))["notes"] and s["tasks"] and s,
                       what="the delivery after Kommo came back")
    time.sleep(2.5)  # more retries would have landed by now
    state = in_kommo(fake_kommo, lead.phone)
    assert (len(state["contacts"]), len(state["leads"]), len(state["notes"]), len(state["tasks"])) == (1, 1, 1, 1)
    assert state["leads"][0]["name"] == "Lead WhatsApp — energia solar"  # no name told: nothing invented
    assert [h["type"] for h in webhooks_of(lead_webhooks, lead.phone)] == ["lead.handoff"]


@pytest.fixture()
def link(redis_server) -> Callable[[str, int], None]:
    """link(phone, lead id): as the sync leaves it once Kommo gave the lead's id."""
    def linker(phone: str, lead_id: int) -> None:
        async def main() -> None:
            client = aioredis.Redis(host="127.0.0.1", port=redis_server.port, decode_responses=True)
            try:
                await KommoLinks(client, PREFIX).link(phone, lead_id=lead_id, contact_id=lead_id + 1)
            finally:
                await client.close()

        asyncio.run(main())

    return linker


def kommo_says(rasa_server, fake_kommo, lead_id: int, status_id: int, secret: str = KOMMO_WEBHOOK_SECRET):
    return fake_kommo.post_webhook(f"{rasa_server.url}/webhooks/kommo/{secret}", [
        {"kind": "status", "id": lead_id, "status_id": status_id, "pipeline_id": 7173574, "old_status_id": 59936198}])


def test_won_in_kommo_closes_the_lead_and_ends_its_follow_ups(lead, rasa_server, fake_kommo, redis_server, link):
    lead.say("oi")
    planned = f"{PREFIX}:evo:followup:due"
    raw = redis_lib.Redis(port=redis_server.port, decode_responses=True)
    wait_until(lambda: raw.zscore(planned, lead.phone) is not None, what="a planned follow-up")
    link(lead.phone, 90000001)
    answer = kommo_says(rasa_server, fake_kommo, 90000001, WON)
    assert answer.status_code == 200 and answer.json()["outcomes"] == {"applied": 1}
    assert lead.tracker()["slots"]["lead_status"] == "ganho"
    assert raw.zscore(planned, lead.phone) is None
    # Lost later (a reopened deal) is recorded too; the same move twice changes nothing.
    assert kommo_says(rasa_server, fake_kommo, 90000001, LOST).json()["outcomes"] == {"applied": 1}
    assert kommo_says(rasa_server, fake_kommo, 90000001, LOST).json()["outcomes"] == {"unchanged": 1}
    assert lead.tracker()["slots"]["lead_status"] == "perdido"


def test_a_lead_moved_to_an_in_service_stage_pauses_the_assistant(lead, rasa_server, fake_kommo, link):
    lead.say("oi")
    link(lead.phone, 90000011)
    assert kommo_says(rasa_server, fake_kommo, 90000011, IN_SERVICE_STAGE).json()["outcomes"] == {"applied": 1}
    tracker = lead.tracker()
    assert tracker["slots"]["lead_status"] == "atendimento_humano" and tracker["paused"] is True
    before = len(lead.replies())
    lead.send("oi, ainda estou aqui")
    lead.wait_for_user_events(2)
    time.sleep(2)
    assert len(lead.replies()) == before  # a person of the team answers now, not the assistant


def test_the_kommo_route_refuses_what_is_not_kommos(rasa_server, fake_kommo):
    base = f"{rasa_server.url}/webhooks/kommo"
    assert kommo_says(rasa_server, fake_kommo, 1, WON, secret="wrong-secret").status_code == 404
    bad = httpx.post(f"{base}/{KOMMO_WEBHOOK_SECRET}", content=b"hello=world",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert bad.status_code == 400
    unknown = kommo_says(rasa_server, fake_kommo, 123456789, WON)
    assert unknown.status_code == 200 and unknown.json()["outcomes"] == {"unknown_lead": 1}
    assert httpx.get(f"{base}/").json() == {"status": "ok", "kommo": True, "webhooks": 1}
