"""The integrations page against a real Redis: the lead outbox's figures, its dead letters
(with "Tentar de novo") and the latest deliveries, as the review UI shows them.

The page needs no conversation from Rasa: this module runs a review UI of its own, on a key
prefix of its own and with an outbound webhook configured, and writes the outbox directly
(what `crm.worker` would have written), so it stays fast."""
from __future__ import annotations

import asyncio
import html
import re
import time
import uuid
from typing import Iterator, List

import httpx
import pytest
from redis import asyncio as aioredis

from crm.events import LeadEvent, LeadEventType
from crm.outbox import Delivery, LeadOutbox, QueueRef
from crm.settings import webhook_target
from observability.privacy import mask_phone, mask_phones_in
from scripts.procs import BIN, Server, StartupError, free_port, start_server
from tests.review.conftest import CHEAP_HASH, REVIEW_TOKEN, ReviewClient, csrf_from

pytestmark = pytest.mark.integration

# The path and the query of a webhook URL may carry the receiver's secret: never on screen.
PATH_SECRET = "s3cr3t-path-0d9f"
QUERY_SECRET = "query-secret-77aa"
WEBHOOK_URL = f"https://hooks.example.com:8443/webhook/{PATH_SECRET}?key={QUERY_SECRET}"
HOOK = webhook_target(WEBHOOK_URL)
UNKNOWN_HOOK = "hook-000000000000"
# Phones of the leads in the outbox.
DEAD_LEAD = "5511987650101"
RETRY_LEAD = "5521912340202"
KEY_PREFIX = f"integ{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def integrations_server(redis_server, logs_dir) -> Iterator[Server]:
    port = free_port()
    env = {
        "REVIEW_TOKEN": REVIEW_TOKEN,
        "REVIEW_HOST": "127.0.0.1",
        "REVIEW_PORT": str(port),
        "REVIEW_SYNC_SECONDS": "5",
        "REDIS_HOST": redis_server.host,
        "REDIS_PORT": str(redis_server.port),
        "REDIS_DB": "0",
        "REDIS_PASSWORD": "",
        "REDIS_KEY_PREFIX": KEY_PREFIX,
        "RASA_URL": f"http://127.0.0.1:{free_port()}",
        "LEAD_WEBHOOK_URLS": WEBHOOK_URL,
        "LEAD_WEBHOOK_SECRET": "test-webhook-signing-secret",
        **CHEAP_HASH,
    }
    try:
        server = start_server("review-integrations", [str(BIN / "python"), "-m", "review"],
                              f"http://127.0.0.1:{port}", "/healthz", logs_dir, env)
    except StartupError as error:
        pytest.fail(str(error))
    yield server
    server.stop()


@pytest.fixture
def operator(integrations_server) -> Iterator[ReviewClient]:
    client = ReviewClient(integrations_server.url)
    yield client
    client.close()


def event(conversation_id: str, event_type: LeadEventType = LeadEventType.QUALIFIED) -> LeadEvent:
    return LeadEvent.create(event_type, conversation_id, {"lead_class": "HOT"},
                            anchor=uuid.uuid4().hex, occurred_at=time.time())


def outbox_call(redis_server, body) -> object:
    """Runs `async body(outbox)` on the module's outbox; what the worker would have written."""
    async def main() -> object:
        client = aioredis.Redis(host=redis_server.host, port=redis_server.port, decode_responses=True)
        try:
            return await body(LeadOutbox(client, KEY_PREFIX))
        finally:
            await client.close()

    return asyncio.run(main())


async def make_dead(outbox: LeadOutbox, conversation_id: str, target: str, error: str, events: int = 1) -> QueueRef:
    """A queue whose head used up its attempts, as crm.worker leaves it."""
    now = time.time()
    published: List[LeadEvent] = [event(conversation_id) for _ in range(events)]
    for item in published:
        await outbox.publish(item, [target], now=now - 60)
    ref = QueueRef(target, conversation_id)
    claimed = await outbox.claim_due(now, lease_seconds=60, limit=1000)
    assert ref in claimed
    for other in claimed:
        if other != ref:  # another test's queue: back in line untouched
            await outbox.settle(other, at=now)
    detail = mask_phones_in(error)
    attempts = 0
    for _ in range(3):
        attempts = await outbox.count_failure(ref, detail, now)
        await outbox.record(Delivery(now, published[0].id, published[0].type, target, mask_phone(conversation_id),
                                     "retry" if attempts < 3 else "dead", attempts, detail))
    await outbox.settle(ref, at=now, dead=True)
    return ref


@pytest.fixture(scope="module")
def lead_outbox(redis_server, integrations_server) -> None:
    async def seed(outbox: LeadOutbox) -> None:
        now = time.time()
        await make_dead(outbox, DEAD_LEAD, HOOK, f"HTTP 500 from the receiver for {DEAD_LEAD}", events=2)
        await make_dead(outbox, DEAD_LEAD, UNKNOWN_HOOK, "no such target")
        # Kommo took the first lead's event; the second lead's waits for another try.
        delivered = event(DEAD_LEAD)
        await outbox.record(Delivery(now, delivered.id, delivered.type, "kommo", mask_phone(DEAD_LEAD),
                                     "delivered", 0, ""))
        later = event(RETRY_LEAD, LeadEventType.HOT)
        await outbox.publish(later, ["kommo"], now=now + 3600)
        await outbox.record(Delivery(now, later.id, later.type, "kommo", mask_phone(RETRY_LEAD), "retry", 1,
                                     "Kommo answered 503"))
        await outbox.record(Delivery(now, "?", "?", "kommo", mask_phone(RETRY_LEAD), "dropped", 0,
                                     "unreadable event"))

    outbox_call(redis_server, seed)


def visible(page: str) -> str:
    """What the operator reads: the markup's text, without tags and attribute values."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def section(page: str, table_id: str) -> str:
    start = page.index(f'<table class="grid" id="{table_id}">')
    return page[start: page.index("</table>", start)]


# --- login ---------------------------------------------------------------------------------------


def test_the_page_needs_a_login(integrations_server):
    url = integrations_server.url
    response = httpx.get(url + "/integrations")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Fintegrations"
    assert httpx.get(url + "/api/integrations").status_code == 401
    assert httpx.post(url + "/integrations/retry", data={"member": f"kommo|{DEAD_LEAD}"}).status_code == 401


# --- what the page shows ---------------------------------------------------------------------------


def test_the_page_shows_figures_dead_letters_and_deliveries(operator, lead_outbox):
    response = operator.http.get("/integrations")
    assert response.status_code == 200
    page = response.text
    assert '<a href="/integrations" class="active">Integrações</a>' in page
    figures = operator.http.get("/api/integrations").json()["figures"]
    assert figures["dead"] >= 2 and figures["queued"] >= 1
    assert re.search(rf"<strong>{figures['queued']}</strong> na fila", page)
    assert f">{figures['dead']}</strong> parados" in page

    dead = visible(section(page, "dead"))
    assert "hooks.example.com:8443" in dead and UNKNOWN_HOOK in dead
    assert "HTTP 500 from the receiver for 5511*******01" in dead
    assert "Tentar de novo" in dead
    # The row links to the conversation by its reference (no number in the URL), and posts
    # the queue it retries.
    assert re.search(r'href="/conversations/c[0-9a-f]{20}"', section(page, "dead"))
    assert f'href="/conversations/{DEAD_LEAD}"' not in page
    assert f'name="member" value="{HOOK}|{DEAD_LEAD}"' in page
    row = re.search(r"hooks\.example\.com:8443.*?</tr>", section(page, "dead"), re.S)
    assert row and re.findall(r"<td>(\d+)</td>", row.group(0)) == ["3", "2"]  # attempts, pending events

    deliveries = visible(section(page, "deliveries"))
    for label in ("entregue", "nova tentativa", "parada", "descartada"):
        assert label in deliveries
    assert "Kommo" in deliveries and "lead.hot" in deliveries and "Kommo answered 503" in deliveries
    assert mask_phone(RETRY_LEAD) in deliveries


def test_phones_are_masked_and_webhook_secrets_never_shown(operator, lead_outbox):
    page = operator.http.get("/integrations").text
    for secret in (PATH_SECRET, QUERY_SECRET, "/webhook/"):
        assert secret not in page
    text = visible(page)
    for phone in (DEAD_LEAD, RETRY_LEAD):
        assert phone not in text
    assert mask_phone(DEAD_LEAD) in text
    # The full phone is only where the page needs it: the link to the conversation and the retry form.
    for line in page.splitlines():
        if DEAD_LEAD in line:
            assert f'href="/conversations/{DEAD_LEAD}"' in line or 'name="member" value="' in line, line
    assert RETRY_LEAD not in page  # a delivery carries the masked phone only
    api = operator.http.get("/api/integrations").text
    assert PATH_SECRET not in api and QUERY_SECRET not in api


# --- "Tentar de novo" ----------------------------------------------------------------------------


def test_retry_needs_the_csrf_token(operator, lead_outbox, raw):
    member = f"{HOOK}|{DEAD_LEAD}"
    assert operator.http.post("/integrations/retry", data={"member": member}).status_code == 403
    assert operator.http.post("/integrations/retry", data={"member": member, "csrf_token": "wrong"}).status_code == 403
    assert raw.zscore(f"{KEY_PREFIX}:leadsync:dead", member) is not None


def test_retry_puts_the_queue_back_in_line(operator, redis_server, raw):
    lead = "5531900000303"
    ref = outbox_call(redis_server, lambda outbox: make_dead(outbox, lead, "kommo", "Kommo refused the lead (400)"))
    assert isinstance(ref, QueueRef)
    page = operator.http.get("/integrations").text
    response = operator.http.post("/integrations/retry", data={"member": ref.member, "csrf_token": csrf_from(page)})
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/integrations?notice=")
    assert raw.zscore(f"{KEY_PREFIX}:leadsync:dead", ref.member) is None
    assert raw.zscore(f"{KEY_PREFIX}:leadsync:due", ref.member) is not None
    assert not raw.exists(f"{KEY_PREFIX}:leadsync:state:kommo:{lead}")  # fresh attempts

    after = operator.http.get(location).text
    assert "de volta na fila" in visible(after) and mask_phone(lead) in visible(after)
    assert f'value="{ref.member}"' not in after
    # Twice is not an error that breaks anything: the queue is simply no longer dead.
    again = operator.post("/integrations/retry", member=ref.member)
    assert again.status_code == 409 and again.json()["ok"] is False
    assert operator.post("/integrations/retry", member="nonsense").status_code == 400
