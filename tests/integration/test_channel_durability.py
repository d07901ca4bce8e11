"""What an acknowledged message survives: Redis refusing it, and the server
being killed (-9) before or during its turn. These tests own their Rasa server
and Redis, so they can break them."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import httpx
import pytest

from scripts.procs import SHIPPED_SANIC_WORKERS, Server, free_port, start_rasa_server, write_credentials
from tests.conftest import launch_redis, server_env
from tests.integration.whatsapp import WhatsAppLead

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
        return start_rasa_server(
            self.logs, action_url=self.action_server.url, credentials=self.credentials,
            env=server_env(self.redis, self.fake), name="rasa-durability", port=self.port,
            workers=SHIPPED_SANIC_WORKERS,
        )

    def kill_and_restart(self) -> None:
        self.server.kill()  # SIGKILL: no shutdown hooks run
        self.server.process.wait()
        self.server = self.start()

    def stop_redis(self) -> None:
        self.redis_process.terminate()
        self.redis_process.wait()

    def start_redis(self) -> None:
        self.redis_process, _ = launch_redis(self.logs, port=self.redis.port)

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


def test_kill_after_acknowledgement_loses_no_message(stack):
    leads = [lead_on(stack) for _ in range(3)]
    for lead in leads:
        assert lead.post(lead.body(text="quanto custa?")).json()["status"] == "accepted"
    assert all(lead.replies() == [] for lead in leads)
    stack.kill_and_restart()
    for lead in leads:
        lead.http = httpx.Client(base_url=stack.server.url, timeout=30)
        replies = lead.wait_for_replies(1)
        assert "O valor depende do seu consumo" in replies[0]
        assert [e["text"] for e in lead.wait_for_user_events(1)] == ["quanto custa?"]


def test_kill_during_the_turn_still_answers_after_restart(stack):
    lead = lead_on(stack)
    stack.fake.set_latency(30)  # the reply hangs inside Evolution
    try:
        lead.post(lead.body(text="vc é um robô?"))
        assert stack.fake.wait_for(
            lambda: any(r.json.get("number") == lead.jid for r in stack.fake.requests_for("sendText")), 60
        )
        assert lead.replies() == []
        stack.server.kill()
        stack.server.process.wait()
    finally:
        stack.fake.set_latency(0)
    stack.server = stack.start()
    lead.http = httpx.Client(base_url=stack.server.url, timeout=30)
    assert "assistente virtual" in lead.wait_for_replies(1)[0]
