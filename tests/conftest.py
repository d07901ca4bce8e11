"""Session-wide servers for the tests that cross process boundaries.

Each heavy server starts once per test session: a private Redis on a free port,
the action server, and the Rasa server with the trained model and the Redis
tracker and lock stores of endpoints.yml (the production configuration).
"""
from __future__ import annotations

import os

from tests.isolation import scrub

# Before anything else reads the environment: no test may reach a service the user configured.
scrub(os.environ)

from scripts.library_warnings import silence_library_deprecations  # noqa: E402

# The libraries' import-time deprecation walls, raised once while collecting, under the filters
# (pyproject.toml's filterwarnings covers what tests raise later).
silence_library_deprecations()
import asyncio
import subprocess  # noqa: E402
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

import pytest
import redis
import sanic_cors  # noqa: E402,F401
from redis import asyncio as aioredis

from scripts.procs import (
    SHIPPED_SANIC_WORKERS,
    Server,
    StartupError,
    start_action_server,
    start_rasa_server,
    start_redis,
    write_credentials,
)
from sdr.faq import DEFAULT_MIN_CONFIDENCE as FAQ_DEFAULT_MIN_CONFIDENCE
from tests.fake_evolution import FakeEvolution
from tests.fake_kommo import PIPELINE_ID, FakeKommo
from tests.fake_openai import FakeOpenAI
from tests.fake_webhook_receiver import FakeWebhookReceiver
from tests.turns import watch_turns

# Secrets of the test server's webhook authentication (all three methods on).
WEBHOOK_TOKEN = "test-webhook-token"
WEBHOOK_JWT_KEY = "test-jwt-key-long-enough-for-hs256-0123456789"
WEBHOOK_HMAC_SECRET = "test-hmac-secret"
EVOLUTION_API_KEY = "test-key"
RASA_AUTH_TOKEN = "test-rasa-token"
OPENAI_API_KEY = "test-openai-key"
SALES_WHATSAPP_NUMBER = "5511900002222"
EVOLUTION_INSTANCE = "solarprime"

# The channel as production configures it, with windows short enough for tests.
TEST_CREDENTIALS = """
rest:
connectors.evolution.EvolutionInput:
  debounce_seconds: 0.6
  takeover_seconds: 4
  rate_limit_per_minute: 20
  max_text_chars: 160
  typing_delay: true
  typing_ms_per_char: 1
  typing_min_ms: 5
  typing_max_ms: 200
  quote_replies: true
  http_max_retries: 2
  outbox_retry_seconds: 0.5
connectors.kommo.KommoInput:
"""
# The session's Kommo and outbound webhooks: fakes, a mapping of the fake account's ids, and
# retries a second apart so an outage test does not wait minutes.
KOMMO_WEBHOOK_SECRET = "test-kommo-path-secret-0123456789"
LEAD_WEBHOOK_SECRET = "test-lead-webhook-secret"
KOMMO_MAPPING_FILE = str(Path(__file__).parent / "data" / "kommo_mapping.yml")
LEAD_WEBHOOK_PATH = "/n8n/lead"


@dataclass
class RedisInfo:
    host: str
    port: int


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server-logs")


def launch_redis(directory: Path, port: int = 0) -> tuple[subprocess.Popen, RedisInfo]:
    """A private redis-server on loopback; nothing kept on disk."""
    try:
        redis_process = start_redis(directory, port)
    except StartupError as error:
        pytest.fail(str(error))
    return redis_process.process, RedisInfo(redis_process.host, redis_process.port)


@pytest.fixture(scope="session")
def redis_server(logs_dir: Path) -> Iterator[RedisInfo]:
    process, info = launch_redis(logs_dir)
    yield info
    process.terminate()
    process.wait()


@pytest.fixture(scope="session")
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=OPENAI_API_KEY) as fake:
        yield fake


@pytest.fixture(scope="session")
def redis_port(redis_server: RedisInfo) -> int:
    return redis_server.port


@pytest.fixture
def two_servers(redis_port: int) -> Callable[..., Any]:
    """two_servers(async fn(a, b), make=lambda client: client): runs fn with two objects built
    on their own Redis clients (decode_responses), as two server processes sharing one Redis."""

    def runner(body: Callable[..., Awaitable[Any]], make: Callable[[Any], Any] = lambda client: client,
               *, decode_responses: bool = True) -> Any:
        async def main() -> Any:
            clients = [aioredis.Redis(host="127.0.0.1", port=redis_port, decode_responses=decode_responses)
                       for _ in range(2)]
            try:
                return await body(*(make(client) for client in clients))
            finally:
                for client in clients:
                    await client.close()

        return asyncio.run(main())

    return runner


@pytest.fixture
def prefix() -> str:
    """A key prefix of the test's own in the session's Redis."""
    return f"t{uuid.uuid4().hex[:10]}:evo"


@pytest.fixture
def raw(redis_port: int) -> Iterator[redis.Redis]:
    """A synchronous client to look at what the code under test wrote."""
    client = redis.Redis(host="127.0.0.1", port=redis_port, decode_responses=True)
    yield client
    client.close()


@pytest.fixture(scope="session")
def fake_kommo() -> Iterator[FakeKommo]:
    with FakeKommo() as fake:
        yield fake


@pytest.fixture(scope="session")
def lead_webhooks() -> Iterator[FakeWebhookReceiver]:
    """Where the session's servers send outbound lead webhooks (an n8n stand-in)."""
    with FakeWebhookReceiver(LEAD_WEBHOOK_SECRET) as receiver:
        yield receiver


def lead_sync_env(kommo: FakeKommo, receiver: FakeWebhookReceiver) -> dict:
    return {
        "KOMMO_BASE_URL": kommo.url,
        "KOMMO_ACCESS_TOKEN": kommo.token,
        "KOMMO_PIPELINE_ID": str(PIPELINE_ID),
        "KOMMO_MAPPING_FILE": KOMMO_MAPPING_FILE,
        "KOMMO_WEBHOOK_SECRET": KOMMO_WEBHOOK_SECRET,
        "LEAD_WEBHOOK_URLS": receiver.url + LEAD_WEBHOOK_PATH,
        "LEAD_WEBHOOK_SECRET": LEAD_WEBHOOK_SECRET,
        "LEAD_SYNC_RETRY_DELAYS": "1s,1s,1s,1s,1s,1s",
        "LEAD_SYNC_POLL_SECONDS": "0.1",
    }


@pytest.fixture(scope="session")
def action_server(
    logs_dir: Path, redis_server: RedisInfo, fake_evolution: FakeEvolution, fake_openai: FakeOpenAI,
    fake_kommo: FakeKommo, lead_webhooks: FakeWebhookReceiver,
) -> Iterator[Server]:
    """The action server as production runs it, with transcription pointed at the fake
    OpenAI-compatible server and media, Evolution and the sales number at the fakes."""
    env = {
        **server_env(redis_server, fake_evolution),
        **lead_sync_env(fake_kommo, lead_webhooks),
        "OPENAI_API_KEY": OPENAI_API_KEY,
        "OPENAI_BASE_URL": fake_openai.base_url,
        "SALES_WHATSAPP_NUMBER": SALES_WHATSAPP_NUMBER,
        "GEMINI_API_KEY": "",
    }
    try:
        server = start_action_server(logs_dir, env)
    except StartupError as error:
        pytest.fail(str(error))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_evolution() -> Iterator[FakeEvolution]:
    fake = FakeEvolution(api_key=EVOLUTION_API_KEY, instance=EVOLUTION_INSTANCE)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def own_fake_evolution() -> Iterator[FakeEvolution]:
    """A fake Evolution of the module's own, for tests that break or inspect it."""
    with FakeEvolution(api_key=EVOLUTION_API_KEY, instance=EVOLUTION_INSTANCE) as fake:
        yield fake


@pytest.fixture
def fake(own_fake_evolution: FakeEvolution) -> Iterator[FakeEvolution]:
    """The module's fake, up and with nothing recorded or injected, for each test."""
    own_fake_evolution.come_back()
    own_fake_evolution.reset()
    yield own_fake_evolution
    own_fake_evolution.come_back()
    own_fake_evolution.reset()


def server_env(redis: RedisInfo, fake: FakeEvolution) -> dict:
    return {
        "REDIS_HOST": redis.host,
        "REDIS_PORT": str(redis.port),
        "REDIS_DB": "0",
        "REDIS_PASSWORD": "",
        "REDIS_KEY_PREFIX": "test",
        "EVOLUTION_URL": fake.url,
        "EVOLUTION_API_KEY": EVOLUTION_API_KEY,
        "EVOLUTION_INSTANCE": EVOLUTION_INSTANCE,
        "EVOLUTION_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "EVOLUTION_WEBHOOK_JWT_KEY": WEBHOOK_JWT_KEY,
        "WEBHOOK_HMAC_SECRET": WEBHOOK_HMAC_SECRET,
        "RASA_AUTH_TOKEN": RASA_AUTH_TOKEN,
        "LOG_FORMAT": "json",  # as in production; tests/operations scans these logs at the end
        # The shipped knowledge base, whatever facts or threshold the user's .env sets.
        "COMPANY_FACTS_FILE": str(Path(__file__).resolve().parents[1] / "company_facts.yml"),
        "FAQ_MIN_CONFIDENCE": str(FAQ_DEFAULT_MIN_CONFIDENCE),
    }


@pytest.fixture(scope="session")
def rasa_server(
    redis_server: RedisInfo, action_server: Server, fake_evolution: FakeEvolution, logs_dir: Path,
    fake_kommo: FakeKommo, lead_webhooks: FakeWebhookReceiver,
) -> Iterator[Server]:
    """One Rasa server for the session: REST channel and Evolution channel, Redis stores,
    worker processes as shipped (a webhook and the next may reach different workers)."""
    credentials = write_credentials(logs_dir, TEST_CREDENTIALS)
    try:
        server = start_rasa_server(
            logs_dir, action_url=action_server.url, credentials=credentials,
            env={**server_env(redis_server, fake_evolution), **lead_sync_env(fake_kommo, lead_webhooks)},
            workers=SHIPPED_SANIC_WORKERS,
        )
    except StartupError as error:
        pytest.fail(str(error))
    # WhatsAppLead.say waits for the turn itself, read from this Redis (tests/turns.py).
    watch_turns(server.url, redis_server.host, redis_server.port,
                server_env(redis_server, fake_evolution)["REDIS_KEY_PREFIX"])
    yield server
    server.stop()
