"""Lead events and the lead-sync settings: plain data, no Redis."""
from __future__ import annotations

import json

import pytest

from crm.events import LEAD_FIELDS, LeadEvent, LeadEventType, event_id, phone_of
from crm.settings import KOMMO_TARGET, LeadSyncSettings, webhook_target
from sdr.env import ConfigError
from sdr.vocabulary import LeadStatus


def test_the_same_turn_gives_the_same_event_id_and_anything_else_another():
    first = event_id("5511987654321", "lead.hot", "1700000000.1")
    assert first == event_id("5511987654321", "lead.hot", "1700000000.1")
    assert first != event_id("5511987654321", "lead.qualified", "1700000000.1")
    assert first != event_id("5511987654321", "lead.hot", "1700000099.0")
    assert first != event_id("5521912345678", "lead.hot", "1700000000.1")


@pytest.mark.parametrize("conversation, phone", [
    ("5511987654321", "5511987654321"), ("551132654321", "551132654321"), ("14155550123", "14155550123"),
    ("100000000000001", None), ("lead-without-phone", None), ("", None),
])
def test_only_a_phone_shaped_conversation_id_is_given_as_the_phone(conversation, phone):
    assert phone_of(conversation) == phone


def test_an_event_survives_the_outbox_and_its_webhook_body_has_the_lead():
    event = LeadEvent.create(LeadEventType.OPTED_OUT, "5511987654321",
                             {"customer_name": "Ana", "opted_out": True, "unrelated": 1},
                             anchor="7", occurred_at=1_764_770_400.0, summary="")
    assert LeadEvent.from_json(event.to_json()) == event
    body = event.body()
    assert body["type"] == "lead.opted_out" and body["created_at"] == "2025-12-03T14:00:00+00:00"
    assert set(body["lead"]) == {"phone", "summary", *LEAD_FIELDS} and "unrelated" not in body["lead"]
    assert body["lead"]["summary"] is None
    json.dumps(body)  # plain JSON


@pytest.mark.parametrize("text", ["", "[]", "{}", '{"id": 1}', "not json"])
def test_an_unreadable_event_raises_value_or_key_error(text):
    with pytest.raises((ValueError, KeyError)):
        LeadEvent.from_json(text)


def test_event_fields_are_domain_slots():
    import yaml

    with open("domain.yml", encoding="utf-8") as handle:
        slots = set(yaml.safe_load(handle)["slots"])
    assert set(LEAD_FIELDS) - slots == set()
    assert {LeadStatus.WON.value, LeadStatus.LOST.value} <= set(
        yaml.safe_load(open("domain.yml", encoding="utf-8"))["slots"]["lead_status"]["values"])


def test_targets_follow_the_configuration():
    assert LeadSyncSettings.from_env({}).targets == ()
    assert not LeadSyncSettings.from_env({"KOMMO_BASE_URL": "https://x.kommo.com"}).enabled  # no token
    settings = LeadSyncSettings.from_env({
        "KOMMO_BASE_URL": "https://x.kommo.com", "KOMMO_ACCESS_TOKEN": "t",
        "LEAD_WEBHOOK_URLS": "https://n8n.example/webhook/abc, http://10.0.0.5:8080/in",
        "LEAD_WEBHOOK_SECRET": "s", "LEAD_SYNC_RETRY_DELAYS": "5s,1m",
    })
    hook = webhook_target("https://n8n.example/webhook/abc")
    assert settings.targets == (KOMMO_TARGET, hook, webhook_target("http://10.0.0.5:8080/in"))
    assert settings.url_of(hook) == "https://n8n.example/webhook/abc" and settings.url_of("hook-x") is None
    assert hook.startswith("hook-") and "n8n" not in hook
    assert (settings.max_attempts, settings.retry_delay(1), settings.retry_delay(2), settings.retry_delay(3)) \
        == (3, 5.0, 60.0, None)


@pytest.mark.parametrize("environ, named", [
    ({"LEAD_WEBHOOK_URLS": "https://n8n.example/x"}, "LEAD_WEBHOOK_SECRET"),
    ({"LEAD_WEBHOOK_URLS": "ftp://files/x", "LEAD_WEBHOOK_SECRET": "s"}, "LEAD_WEBHOOK_URLS"),
    ({"LEAD_WEBHOOK_URLS": "n8n.example/x", "LEAD_WEBHOOK_SECRET": "s"}, "LEAD_WEBHOOK_URLS"),
    ({"LEAD_SYNC_RETRY_DELAYS": "10 minutes"}, "LEAD_SYNC_RETRY_DELAYS"),
    ({"LEAD_SYNC_POLL_SECONDS": "soon"}, "LEAD_SYNC_POLL_SECONDS"),
])
def test_a_bad_setting_stops_the_server_naming_the_variable(environ, named):
    with pytest.raises(ConfigError, match=named):
        LeadSyncSettings.from_env(environ)


def test_a_webhook_url_with_a_secret_query_is_not_echoed_in_the_error():
    with pytest.raises(ConfigError) as caught:
        LeadSyncSettings.from_env({"LEAD_WEBHOOK_URLS": "mailto:x?token=abc123", "LEAD_WEBHOOK_SECRET": "s"})
    assert "abc123" not in str(caught.value)


@pytest.mark.parametrize("typed, same", [
    ("+55 11 98765-4321", True), ("(11) 98765-4321", True), ("11987654321", True),
    ("(11) 8765-4321", True),            # written before the ninth digit
    ("5511987654321", True),
    ("(21) 98765-4321", False),          # another area code
    ("(11) 98765-4322", False), ("", False), ("sem telefone", False),
])
def test_a_typed_phone_is_the_same_line_as_the_whatsapp_number(typed, same):
    from crm.phones import same_phone

    assert same_phone(typed, "5511987654321") is same
    assert same_phone("551187654321", "5511987654321")  # WhatsApp's own old-style number


def test_a_foreign_number_must_match_exactly_and_the_search_term_is_the_last_eight_digits():
    from crm.phones import same_phone, search_term

    assert same_phone("+1 415 555 0123", "14155550123") and not same_phone("14155550124", "14155550123")
    assert search_term("5511987654321") == "87654321" and search_term("+55 (11) 8765-4321") == "87654321"


def test_an_event_id_never_reads_as_a_phone_number_in_a_log():
    import re

    ids = [event_id("5511987654321", "lead.hot", str(n)) for n in range(20_000)]
    assert not [i for i in ids if re.search(r"\d{9}", i)]
