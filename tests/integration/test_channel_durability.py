"""What an acknowledged message survives: Redis refusing it, and the server
being killed (-9) before or during its turn; and a lead's LID history, which must
move to its phone after the restart. These tests own their Rasa server and Redis,
so they can break them.

One kill serves every case: each test sets its case up before the kill (the
`killed` fixture), and checks after the restart that nothing was lost."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List

import httpx
import pytest
import redis as redis_lib

from scripts.procs import SHIPPED_SANIC_WORKERS, Server, free_port, start_rasa_server, write_credentials
from tests.conftest import launch_redis, server_env
from tests.integration.test_lid_identities import lid_lead, new_lid, wait_user_texts, with_key
from tests.integration.whatsapp import WhatsAppLead, new_phone
from tests.turns import watch_turns

pytestmark = pytest.mark.integration

# A long burst window: the kill lands after the acknowledgement, before the turn.
CREDENTIALS = """
connectors.evolution.EvolutionInput:
  debounce_seconds: 3
  typing_delay: false
  outbox_retry_seconds: 0.5
"""


class Stack:
    def __init__(self, logs: Path, action_server: Server, fake) -> None:
        self.logs, self.action_server, self.fake = logs, action_server, fake
        self.redis_process, self.redis = launch_redis(logs)
        self.port = free_port()
        self.credentials = write_credentials(logs, CREDENTIALS, "durability-credentials.yml")
        self.server = self.start()

    def start(self) -> Server:
        env = server_env(self.redis, self.fake)
        server = start_rasa_server(
            self.logs, action_url=self.action_server.url, credentials=self.credentials,
            env=env, name="rasa-durability", port=self.port, workers=SHIPPED_SANIC_WORKERS,
        )
        watch_turns(server.url, self.redis.host, self.redis.port, env["REDIS_KEY_PREFIX"])
        return server

    def stop_redis(self) -> None:
        self.redis_process.terminate()
        self.redis_process.wait()

    def start_redis(self) -> None:
        self.redis_process, _ = launch_redis(self.logs, port=self.redis.port)

    def tracker_keys(self) -> List[str]:
        client = redis_lib.Redis(host=self.redis.host, port=self.redis.port, decode_responses=True)
        try:
            return sorted(client.keys("test:tracker:*"))
        finally:
            client.close()

    def close(self) -> None:
        self.server.stop()
        self.stop_redis()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, action_server, fake_evolution) -> Iterator[Stack]:
    stack = Stack(tmp_path_factory.mktemp("durability"), action_server, fake_evolution)
    yield stack
    stack.close()


def lead_on(stack: Stack) -> WhatsAppLead:
    return WhatsAppLead(stack.server.url, stack.fake)


def test_redis_down_answers_503_so_evolution_retries_and_nothing_crashes(stack):
    lead = lead_on(stack)
    body = lead.body(text="oi")
    stack.stop_redis()
    try:
        assert lead.post(body).status_code == 503
        health = httpx.get(f"{stack.server.url}/webhooks/evolution/", timeout=10)
        assert health.status_code == 200
        ready = httpx.get(f"{stack.server.url}/webhooks/evolution/ready", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["missing"] == ["redis"]
    finally:
        stack.start_redis()
    # Evolution's retry of the same delivery is then taken and answered.
    assert lead.post(body).json()["status"] == "accepted"
    assert "assistente virtual" in lead.wait_for_replies(1)[0]


@dataclass
class BeforeTheKill:
    """What each case saw just before the server was killed; the tests check it."""
    # A lead first seen by its LID, whose conversation was saved under the LID.
    lid: str
    lid_lead: WhatsAppLead
    lid_texts: List[str]
    # A lead whose turn was under way: its reply hanging inside Evolution.
    in_turn: WhatsAppLead
    in_turn_reply_sent: bool
    in_turn_replies: List[str]
    # Leads whose messages were acknowledged, still inside the burst window.
    acknowledged: List[WhatsAppLead]
    acknowledged_statuses: List[str]
    acknowledged_replies: List[List[str]]


@pytest.fixture(scope="module")
def killed(stack: Stack) -> BeforeTheKill:
    """Sets every case up, then kills the server (-9) and starts it again, once. The turn under
    way goes first: after the restart it runs again once its lease (30 s from its start) is over,
    and the other cases are checked meanwhile."""
    in_turn = lead_on(stack)
    lid = new_lid()
    lid_chat = lid_lead(stack.server.url, stack.fake, lid)
    acknowledged = [lead_on(stack) for _ in range(3)]
    stack.fake.set_latency(30)  # the reply hangs inside Evolution
    try:
        in_turn.post(in_turn.body(text="vc é um robô?"))
        reply_sent = stack.fake.wait_for(
            lambda: any(r.json.get("number") == in_turn.jid for r in stack.fake.requests_for("sendText")), 60
        )
        # Only the requests that arrived meanwhile hang: the other leads are answered as usual.
        stack.fake.set_latency(0)
        lid_chat.say("oi")
        lid_texts = wait_user_texts(stack.server.url, lid, 1)
        statuses = [lead.post(lead.body(text="quanto custa?")).json()["status"] for lead in acknowledged]
        acknowledged_replies = [lead.replies() for lead in acknowledged]
        in_turn_replies = in_turn.replies()
        stack.server.kill()  # SIGKILL: no shutdown hooks run
        stack.server.process.wait()
    finally:
        stack.fake.set_latency(0)
    stack.server = stack.start()
    for lead in (lid_chat, in_turn, *acknowledged):
        lead.http = httpx.Client(base_url=stack.server.url, timeout=30)
    return BeforeTheKill(lid, lid_chat, lid_texts, in_turn, reply_sent, in_turn_replies,
                         acknowledged, statuses, acknowledged_replies)


def test_kill_after_acknowledgement_loses_no_message(killed):
    assert killed.acknowledged_statuses == ["accepted"] * 3
    assert killed.acknowledged_replies == [[]] * 3
    for lead in killed.acknowledged:
        replies = lead.wait_for_replies(1)
        assert "O valor depende do seu consumo" in replies[0]
        assert [e["text"] for e in lead.wait_for_user_events(1)] == ["quanto custa?"]


def test_a_lid_conversation_moves_to_the_phone_across_a_restart(stack, killed):
    lid, lead, phone = killed.lid, killed.lid_lead, new_phone()
    assert killed.lid_texts == ["oi"]

    # Evolution 2.3.x on some Baileys builds: the phone arrives as key.senderPn.
    replies_before = len(lead.replies())
    response = lead.post(with_key(lead.body(text="quanto custa?"), senderPn=f"{phone}@s.whatsapp.net"))
    assert response.json()["status"] == "accepted"
    # Read no tracker before the turn ran: Rasa's GET creates an empty one, and a phone that
    # already has a conversation keeps it (both are then kept).
    lead.wait_for_replies(replies_before + 1)  # still answered on the LID chat, as received
    lead.settle()
    assert wait_user_texts(stack.server.url, phone, 2) == ["oi", "quanto custa?"]  # the history came along
    assert f"test:tracker:{lid}" not in stack.tracker_keys()

    # A later message that shows only the LID joins the same conversation.
    lead.post(lead.body(text="minha conta vem uns 500 reais"))
    assert wait_user_texts(stack.server.url, phone, 3)[-1] == "minha conta vem uns 500 reais"
    assert f"test:tracker:{lid}" not in stack.tracker_keys()


def test_kill_during_the_turn_still_answers_after_restart(killed):
    assert killed.in_turn_reply_sent
    assert killed.in_turn_replies == []
    assert "assistente virtual" in killed.in_turn.wait_for_replies(1)[0]
