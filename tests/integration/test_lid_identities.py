"""Real WhatsApp identities through a real Rasa server: a lead first seen by its LID
continues under its phone, with its history, once any event shows both; and every real
capture of tests/data/evolution_captures/ through the webhook. These run on the session's
servers; the case across a server restart is in test_channel_durability.py, whose server
the tests may kill.
"""
from __future__ import annotations

import copy
import json
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List

import httpx
import pytest
import yaml

from tests.fake_evolution import FakeEvolution
from tests.integration.whatsapp import WhatsAppLead, bearer, new_key_id, new_phone

pytestmark = pytest.mark.integration

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "evolution_captures"
EXPECTED: Dict[str, Dict[str, Any]] = yaml.safe_load((CAPTURES / "expected.yml").read_text())
WAIT_S = 60


def user_texts(rasa_url: str, conversation_id: str) -> List[str]:
    response = httpx.get(f"{rasa_url}/conversations/{conversation_id}/tracker", timeout=30)
    response.raise_for_status()
    return [e.get("text") for e in response.json()["events"] if e["event"] == "user"]


def wait_user_texts(rasa_url: str, conversation_id: str, count: int) -> List[str]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        texts = user_texts(rasa_url, conversation_id)
        if len(texts) >= count:
            return texts
        time.sleep(0.3)
    raise AssertionError(f"{conversation_id}: {user_texts(rasa_url, conversation_id)}")


def new_lid() -> str:
    return f"1{uuid.uuid4().int % 10**14:014d}"


def lid_lead(rasa_url: str, fake: FakeEvolution, lid: str) -> WhatsAppLead:
    # `phone` is only the tracker id the helper reads; the chat is the LID's.
    return WhatsAppLead(rasa_url, fake, phone=lid, jid=f"{lid}@lid")


def with_key(body: Dict[str, Any], **fields: str) -> Dict[str, Any]:
    body["data"]["key"].update(fields)
    return body


def test_contacts_upsert_teaches_the_phone_of_a_lid(rasa_server, fake_evolution):
    lid, phone = new_lid(), new_phone()
    lead = lid_lead(rasa_server.url, fake_evolution, lid)
    lead.say("boa tarde")
    contacts = {"event": "contacts.upsert", "instance": "solarprime", "data": [
        {"remoteJid": f"{lid}@lid", "remoteJidAlt": f"{phone}@s.whatsapp.net", "pushName": "Ana"}]}
    answer = lead.post(contacts).json()
    assert answer == {"status": "recorded", "linked": 1}
    before = len(lead.replies())
    lead.post(lead.body(text="quero um orçamento"))
    lead.wait_for_replies(before + 1)
    lead.settle()
    assert wait_user_texts(rasa_server.url, phone, 2) == ["boa tarde", "quero um orçamento"]


def test_a_device_suffix_never_reaches_the_reply(rasa_server, fake_evolution):
    phone = new_phone()
    lead = WhatsAppLead(rasa_server.url, fake_evolution, phone=phone, jid=f"{phone}:24@s.whatsapp.net")
    lead.post(lead.body(text="oi"))
    assert fake_evolution.wait_for(lambda: fake_evolution.sent_texts(f"{phone}@s.whatsapp.net"), WAIT_S)
    assert fake_evolution.sent_texts(f"{phone}:24@s.whatsapp.net") == []


def fresh(body: Dict[str, Any]) -> Dict[str, Any]:
    """A capture as if it arrived now: a new key id (the channel de-duplicates by it) and a
    current timestamp (older messages are dropped as stale). Everything else as published."""
    body = copy.deepcopy(body)
    data = body.get("data")
    if isinstance(data, dict) and isinstance(data.get("key"), dict) and data["key"].get("id"):
        data["key"]["id"] = new_key_id()
        data["messageTimestamp"] = int(time.time())
    return body


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_real_capture_through_the_webhook(rasa_server, name):
    want = EXPECTED[name]
    published = json.loads((CAPTURES / name).read_text())["body"]
    body = published if "event" in published else {"event": "messages.upsert", "instance": "captured",
                                                      "data": published}
    response = httpx.post(f"{rasa_server.url}/webhooks/evolution/webhook", content=json.dumps(fresh(body)),
                          headers={"Content-Type": "application/json", **bearer()}, timeout=30)
    expected_status = {"message": "accepted", "own": "takeover", "ignored": "ignored",
                       "identities": "recorded" if want.get("pairs") else "ignored",
                       "recorded": "recorded"}.get(want["outcome"])
    if want["outcome"] == "rejected":
        assert response.status_code == 400
        return
    assert response.status_code == 200, response.text
    assert response.json()["status"] == expected_status
    if want["outcome"] == "message":
        assert wait_user_texts(rasa_server.url, want["sender_id"], 1)
