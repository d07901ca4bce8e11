"""Readiness and detailed health while a dependency is down, on servers of this module's
own (the session's servers stay up for the other tests): a Redis, an action server and a
fake Evolution that these tests stop and start again, and a Rasa server using them."""
from __future__ import annotations

import concurrent.futures
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from scripts.procs import (
    BIN,
    Server,
    StartupError,
    free_port,
    start_rasa_server,
    start_redis,
    start_server,
    write_credentials,
)
from tests.conftest import RASA_AUTH_TOKEN, TEST_CREDENTIALS, RedisInfo, server_env
from tests.fake_evolution import FakeEvolution
from tests.integration.whatsapp import bearer

pytestmark = pytest.mark.integration


class Stack:
    """The module's servers, with the ports kept so a stopped one comes back in place."""

    def __init__(self, logs_dir: Path, fake: FakeEvolution) -> None:
        self.logs_dir = logs_dir
        self.fake = fake
        self.redis_port = free_port()
        self.action_port = free_port()
        self.redis = start_redis(logs_dir, self.redis_port)
        redis = RedisInfo("127.0.0.1", self.redis_port)
        self.env = {**server_env(redis, fake), "REDIS_KEY_PREFIX": "opsdown"}
        credentials = write_credentials(logs_dir, TEST_CREDENTIALS, name="credentials-opsdown.yml")
        # Side by side: the Rasa server only needs the action server's address to start.
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            actions = pool.submit(self.start_actions)
            rasa = pool.submit(
                start_rasa_server, logs_dir, action_url=f"http://127.0.0.1:{self.action_port}",
                credentials=credentials, env=self.env, name="rasa-opsdown",
            )
        started = [future.result() for future in (actions, rasa) if future.exception() is None]
        if len(started) < 2:  # what did start is stopped, not left behind
            for process in (*started, self.redis):
                process.stop()
            raise next(future.exception() for future in (actions, rasa) if future.exception() is not None)
        self.actions, self.rasa = started

    def start_actions(self) -> Server:
        # A new log file for each start, so the log scan at the end reads every one.
        self.action_starts = getattr(self, "action_starts", 0) + 1
        return start_server(
            f"actions-opsdown-{self.action_starts}",
            [str(BIN / "python"), "-m", "actions.server", "--port", str(self.action_port)],
            f"http://127.0.0.1:{self.action_port}", "/health", self.logs_dir, self.env,
        )

    def restart_redis(self) -> None:
        self.redis = start_redis(self.logs_dir, self.redis_port)

    def stop(self) -> None:
        for server in (self.rasa, self.actions):
            server.stop()
        self.redis.stop()


@pytest.fixture(scope="module")
def stack(logs_dir: Path, own_fake_evolution: FakeEvolution) -> Iterator[Stack]:
    try:
        servers = Stack(logs_dir, own_fake_evolution)
    except StartupError as error:
        pytest.fail(str(error))
    yield servers
    servers.stop()


def ready(url: str) -> httpx.Response:
    return httpx.get(url, timeout=30)


def detailed(stack: Stack) -> dict:
    response = httpx.get(
        f"{stack.rasa.url}/webhooks/evolution/health", headers=bearer(RASA_AUTH_TOKEN), timeout=30
    )
    assert response.status_code == 200
    return response.json()


def test_everything_up_is_ready(stack):
    assert ready(f"{stack.rasa.url}/webhooks/evolution/ready").status_code == 200
    assert ready(f"{stack.actions.url}/ready").status_code == 200
    assert detailed(stack)["whatsapp"]["evolution"]["reachable"] is True


def test_evolution_down_shows_in_the_detailed_health_but_does_not_unready(stack, fake):
    fake.go_down()
    try:
        health = detailed(stack)
        assert health["whatsapp"]["evolution"]["reachable"] is False
        # Replies wait in the outbox while Evolution is down: the server can still take webhooks.
        assert ready(f"{stack.rasa.url}/webhooks/evolution/ready").status_code == 200
    finally:
        fake.come_back()
    assert detailed(stack)["whatsapp"]["evolution"]["reachable"] is True


def test_action_server_stopped_makes_rasa_unready(stack):
    stack.actions.stop()
    try:
        response = ready(f"{stack.rasa.url}/webhooks/evolution/ready")
        assert response.status_code == 503
        assert response.json()["missing"] == ["action_server"]
        health = detailed(stack)
        assert health["checks"]["action_server"]["ok"] is False
    finally:
        stack.actions = stack.start_actions()
    assert ready(f"{stack.rasa.url}/webhooks/evolution/ready").status_code == 200


def test_redis_stopped_makes_both_servers_unready(stack):
    stack.redis.stop()
    try:
        channel = ready(f"{stack.rasa.url}/webhooks/evolution/ready")
        assert channel.status_code == 503 and "redis" in channel.json()["missing"]
        actions = ready(f"{stack.actions.url}/ready")
        assert actions.status_code == 503 and actions.json()["missing"] == ["redis"]
        # Still alive: liveness does not depend on Redis.
        assert httpx.get(f"{stack.rasa.url}/webhooks/evolution/", timeout=30).status_code == 200
    finally:
        stack.restart_redis()
    assert ready(f"{stack.actions.url}/ready").status_code == 200
