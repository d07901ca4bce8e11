"""Real WhatsApp identities through a real Rasa server (own Redis, own server, so it can be
restarted): a lead first seen by its LID continues under its phone, with its history, once any
event shows both; and every real capture of tests/data/evolution_captures/ through the webhook.
"""
from __future__ import annotations

import copy
import json
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List

import httpx
import pytest
import redis as redis_lib
import yaml

from scripts.procs import SHIPPED_SANIC_WORKERS, Server, free_port, start_rasa_server, write_credentials
from tests.conftest import TEST_CREDENTIALS, launch_redis, server_env
from tests.integration.whatsapp import WhatsAppLead, bearer, new_key_id, new_phone

pytestmark = pytest.mark.integration

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "evolution_captures"
EXPECTED: Dict[str, Dict[str, Any]] = yaml.safe_load((CAPTURES / "expected.yml").read_text())
WAIT_S = 60


class Stack:
    def __init__(self, logs: Path, action_server: Server, fake) -> None:
        self.logs, self.action_server, self.fake = logs, action_server, fake
        self.redis_process, self.redis = launch_redis(logs)
        self.port = free_port()
        self.credentials = write_credentials(logs, TEST_CREDENTIALS, "identities-credentials.yml")
        self.server = self.start()

    def start(self) -> Server:
        return start_rasa_server(
            self.logs, action_url=self.action_server.url, credentials=self.credentials,
            env=server_env(self.redis, self.fake), name="rasa-identities", port=self.port,
            workers=SHIPPED_SANIC_WORKERS,
        )

    def restart(self) -> None:
        self.server.kill()
        self.server.process.wait()
        self.server = self.start()

    def user_texts(self, conversation_id: str) -> List[str]:
        response = httpx.get(f"{self.server.url}/conversations/{conversation_id}/tracker", timeout=30)
        response.raise_for_status()
        return [e.get("text") for e in response.json()["events"] if e["event"] == "user"]

    def wait_user_texts(self, conversation_id: str, count: int) -> List[str]:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            texts = self.user_texts(conversation_id)
            if len(texts) >= count:
                return texts
            time.sleep(0.3)
        raise AssertionError(f"{conversation_id}: {self.user_texts(conversation_id)}")

    def tracker_keys(self) -> List[str]:
        client = redis_lib.Redis(host=self.redis.host, port=self.redis.port, decode_responses=True)
        return sorted(client.keys("test:tracker:*"))

    def close(self) -> None:
        self.server.stop()
        self.redis_process.terminate()
        self.redis_process.wait()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, action_server, fake_evolution) -> Iterator[Stack]:
    stack = Stack(tmp_path_factory.mktemp("identities"), action_server, fake_evolution)
    yield stack
    stack.close()


def new_lid() -> str:
    return f"1{uuid.uuid4().int % 10**14:014d}"


def lid_lead(stack: Stack, lid: str) -> WhatsAppLead:
    # `phone` is only the tracker id the helper reads; the chat is the LID's.
    return WhatsAppLead(stack.server.url, stack.fake, phone=lid, jid=f"{lid}@lid")


def with_key(body: Dict[str, Any], **fields: str) -> Dict[str, Any]:
    body["data"]["key"].update(fields)
    return body


def test_a_lid_conversation_moves_to_the_phone_across_a_restart(stack):
    lid, phone = new_lid(), new_phone()
    lead = lid_lead(stack, lid)
    lead.say("oi")
    assert stack.wait_user_texts(lid, 1) == ["oi"]
    stack.restart()
    lead.http = httpx.Client(base_url=stack.server.url, timeout=30)

    # Evolution 2.3.x on some Baileys builds: the phone arrives as key.senderPn.
    replies_before = len(lead.replies())
    response = lead.post(with_key(lead.body(text="quanto custa?"), senderPn=f"{phone}@s.whatsapp.net"))
    assert response.json()["status"] == "accepted"
    # Read no tracker before the turn ran: Rasa's GET creates an empty one, and a phone that
    # already has a conversation keeps it (both are then kept).
    lead.wait_for_replies(replies_before + 1)  # still answered on the LID chat, as received
    lead.settle()
    assert stack.wait_user_texts(phone, 2) == ["oi", "quanto custa?"]  # the history came along
    assert f"test:tracker:{lid}" not in stack.tracker_keys()

    # A later message that shows only the LID joins the same conversation.
    lead.post(lead.body(text="minha conta vem uns 500 reais"))
    assert stack.wait_user_texts(phone, 3)[-1] == "minha conta vem uns 500 reais"
    assert f"test:tracker:{lid}" not in stack.tracker_keys()


def test_contacts_upsert_teaches_the_phone_of_a_lid(stack):
    lid, phone = new_lid(), new_phone()
    lead = lid_lead(stack, lid)
    lead.say("boa tarde")
    contacts = {"event": "contacts.upsert", "instance": "solarprime", "data": [
        {"remoteJid": f"{lid}@lid", "remoteJidAlt": f"{phone}@s.whatsapp.net", "pushName": "Ana"}]}
    answer = lead.post(contacts).json()
    assert answer == {"status": "recorded", "linked": 1}
    before = len(lead.replies())
    lead.post(lead.body(text="quero um orçamento"))
    lead.wait_for_replies(before + 1)
    lead.settle()
    assert stack.wait_user_texts(phone, 2) == ["boa tarde", "quero um orçamento"]


def test_a_device_suffix_never_reaches_the_reply(stack):
    phone = new_phone()
    lead = WhatsAppLead(stack.server.url, stack.fake, phone=phone, jid=f"{phone}:24@s.whatsapp.net")
    lead.post(lead.body(text="oi"))
    assert stack.fake.wait_for(lambda: stack.fake.sent_texts(f"{phone}@s.whatsapp.net"), WAIT_S)
    assert stack.fake.sent_texts(f"{phone}:24@s.whatsapp.net") == []


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
def test_each_real_capture_through_the_webhook(stack, name):
    want = EXPECTED[name]
    published = json.loads((CAPTURES / name).read_text())["body"]
    body = published if "event" in published else {"event": "messages.upsert", "instance": "captured",
                                                      "data": published}
    response = httpx.post(f"{stack.server.url}/webhooks/evolution/webhook", content=json.dumps(fresh(body)),
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
        assert stack.wait_user_texts(want["sender_id"], 1)
