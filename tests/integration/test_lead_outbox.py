"""The lead-events outbox and its worker against a real Redis: once, in order, retried, dead-lettered."""
from __future__ import annotations

import asyncio
import uuid
from typing import Any, Awaitable, Callable, Dict, List

import httpx
import pytest
from redis import asyncio as aioredis

from crm.delivery import DeliveryError
from crm.events import LeadEvent, LeadEventType
from crm.outbox import LeadOutbox, QueueRef
from crm.settings import LeadSyncSettings
from crm.webhooks import SIGNATURE_HEADER, WebhookSender
from crm.worker import LeadSyncWorker
from tests.fake_webhook_receiver import FakeWebhookReceiver

LEAD = "5511987654321"
OTHER = "5521912345678"
SECRET = "lead-webhook-secret"
SLOTS = {"customer_name": "Ana Souza", "monthly_bill_brl": 450.0, "city": "Campinas", "state": "SP",
         "lead_class": "HOT", "lead_status": "qualificado"}
SETTINGS = LeadSyncSettings(retry_delays=(10.0, 60.0), poll_seconds=0.05, lease_seconds=30.0)


def event(kind: LeadEventType = LeadEventType.QUALIFIED, conversation: str = LEAD, anchor: str = "1") -> LeadEvent:
    return LeadEvent.create(kind, conversation, SLOTS, anchor=anchor, occurred_at=1_700_000_000.0, summary="Conta alta")


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Target:
    """A deliverer that records, and fails on demand."""

    def __init__(self) -> None:
        self.got: List[str] = []
        self.failures: List[DeliveryError] = []

    async def __call__(self, lead_event: LeadEvent) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.got.append(f"{lead_event.conversation_id}:{lead_event.type}")


@pytest.fixture
def run(two_servers: Callable[..., Any], prefix: str) -> Callable[[Callable[..., Awaitable[Any]]], Any]:
    """run(async fn(store, other_store)): two LeadOutboxs = two servers on one Redis."""
    return lambda body: two_servers(body, lambda client: LeadOutbox(client, prefix))


def test_an_event_published_twice_is_queued_once_per_target(run):
    async def body(outbox, _):
        assert await outbox.publish(event(), ["kommo", "hook-a"], now=5.0) is True
        assert await outbox.publish(event(), ["kommo", "hook-a"], now=6.0) is False  # a retried action
        claimed = await outbox.claim_due(10.0, 30.0, 10)
        assert sorted(ref.target for ref in claimed) == ["hook-a", "kommo"]
        for ref in claimed:
            assert await outbox.redis.llen(outbox._queue(ref)) == 1
        assert await outbox.publish(event(anchor="2"), [], now=7.0) is False  # nowhere to go
    run(body)


def test_each_target_gets_every_event_in_order_and_one_failing_target_holds_up_only_itself(run):
    async def body(outbox, _):
        clock, kommo, hook = Clock(), Target(), Target()
        worker = LeadSyncWorker(outbox, SETTINGS, {"kommo": kommo, "hook-a": hook}, clock=clock)
        hook.failures.append(DeliveryError("HTTP 502"))
        for n, kind in enumerate([LeadEventType.QUALIFIED, LeadEventType.HOT, LeadEventType.OPTED_OUT]):
            await outbox.publish(event(kind, anchor=str(n)), ["kommo", "hook-a"], now=clock.now)
        await outbox.publish(event(conversation=OTHER), ["hook-a"], now=clock.now)
        await worker.run_once()
        assert kommo.got == [f"{LEAD}:lead.qualified", f"{LEAD}:lead.hot", f"{LEAD}:lead.opted_out"]
        assert hook.got == [f"{OTHER}:lead.qualified"]  # the other lead was not held up
        clock.now += 9
        await worker.run_once()
        assert hook.got == [f"{OTHER}:lead.qualified"]  # not before its retry delay
        clock.now += 1
        await worker.run_once()
        assert hook.got[1:] == [f"{LEAD}:lead.qualified", f"{LEAD}:lead.hot", f"{LEAD}:lead.opted_out"]
        await worker.run_once()
        assert len(kommo.got) == 3 and len(hook.got) == 4  # nothing twice
        outcomes = [(d.target, d.outcome, d.attempts) for d in await outbox.deliveries()]
        assert ("hook-a", "retry", 1) in outcomes and outcomes.count(("kommo", "delivered", 0)) == 3
        assert all("98765" not in d.conversation for d in await outbox.deliveries())  # masked
        assert await outbox.figures() == {"queued": 0, "in_delivery": 0, "dead": 0}
    run(body)


def test_a_queue_that_uses_up_its_attempts_waits_in_the_dead_letter_until_retried(run):
    async def body(outbox, _):
        clock, kommo = Clock(), Target()
        worker = LeadSyncWorker(outbox, SETTINGS, {"kommo": kommo}, clock=clock)
        kommo.failures.extend(DeliveryError("Kommo unavailable (503)") for _ in range(3))
        await outbox.publish(event(), ["kommo"], now=clock.now)
        for step in (0, 10, 60):
            clock.now += step
            assert await worker.run_once() == 1
        [dead] = await outbox.dead()
        assert (dead.ref, dead.attempts, dead.pending) == (QueueRef("kommo", LEAD), 3, 1)
        assert "503" in dead.last_error
        clock.now += 3600
        assert await worker.run_once() == 0  # dead stays dead
        assert await outbox.retry_dead(QueueRef("kommo", LEAD), now=clock.now) is True
        assert await outbox.retry_dead(QueueRef("kommo", LEAD), now=clock.now) is False
        await worker.run_once()
        assert kommo.got == [f"{LEAD}:lead.qualified"] and await outbox.dead() == []
    run(body)


def test_a_request_the_target_refuses_as_invalid_is_dead_at_once_and_a_new_event_revives_it(run):
    async def body(outbox, _):
        clock, kommo = Clock(), Target()
        worker = LeadSyncWorker(outbox, SETTINGS, {"kommo": kommo}, clock=clock)
        kommo.failures.append(DeliveryError("Kommo 400: field 123 not found", retryable=False))
        await outbox.publish(event(), ["kommo"], now=clock.now)
        await worker.run_once()
        assert [d.attempts for d in await outbox.dead()] == [1]
        # The operator fixed the mapping; the lead's next event puts the queue back in line,
        # with fresh attempts: one more outage is retried, not dead at once.
        await outbox.publish(event(LeadEventType.HANDOFF, anchor="9"), ["kommo"], now=clock.now)
        kommo.failures.append(DeliveryError("Kommo unavailable (503)"))
        await worker.run_once()
        assert await outbox.dead() == [] and [d.attempts for d in await outbox.deliveries(1)] == [1]
        clock.now += 10
        await worker.run_once()
        assert kommo.got == [f"{LEAD}:lead.qualified", f"{LEAD}:lead.handoff"]
    run(body)


def test_a_retry_after_longer_than_the_delay_is_honoured(run):
    async def body(outbox, _):
        clock, kommo = Clock(), Target()
        worker = LeadSyncWorker(outbox, SETTINGS, {"kommo": kommo}, clock=clock)
        kommo.failures.append(DeliveryError("Kommo 429", retry_after=45.0))
        await outbox.publish(event(), ["kommo"], now=clock.now)
        await worker.run_once()
        assert await outbox.next_due_at() == pytest.approx(clock.now + 45.0)
    run(body)


def test_a_server_that_crashed_after_delivering_does_not_deliver_again(run):
    async def body(outbox, _):
        clock, kommo = Clock(), Target()
        await outbox.publish(event(), ["kommo"], now=clock.now)
        [ref] = await outbox.claim_due(clock.now, 30.0, 10)
        await outbox.mark_delivered(ref, event().id)  # ... and the server died before the pop
        clock.now += 31  # its lease runs out
        await LeadSyncWorker(outbox, SETTINGS, {"kommo": kommo}, clock=clock).run_once()
        assert kommo.got == [] and await outbox.head(ref) is None
    run(body)


def test_two_servers_deliver_each_event_exactly_once(run):
    async def body(one, two):
        clock, got = Clock(), Target()
        workers = [LeadSyncWorker(outbox, SETTINGS, {"kommo": got}, clock=clock) for outbox in (one, two)]
        for n in range(40):
            await one.publish(event(conversation=f"55119000{n:05d}"), ["kommo"], now=clock.now)
        await asyncio.gather(*[workers[i % 2].run_once() for i in range(8)])
        assert len(got.got) == 40 and len(set(got.got)) == 40
    run(body)


def test_a_target_this_server_does_not_know_is_left_for_one_that_does(run):
    async def body(outbox, _):
        clock = Clock()
        await outbox.publish(event(), ["hook-gone"], now=clock.now)
        await LeadSyncWorker(outbox, SETTINGS, {}, clock=clock).run_once()
        assert await outbox.redis.llen(outbox._queue(QueueRef("hook-gone", LEAD))) == 1
        assert await outbox.next_due_at() == pytest.approx(clock.now + SETTINGS.lease_seconds)
    run(body)


def test_an_unreadable_event_is_dropped_and_recorded_not_retried_forever(run):
    async def body(outbox, _):
        clock, kommo = Clock(), Target()
        ref = QueueRef("kommo", LEAD)
        await outbox.redis.rpush(outbox._queue(ref), "{not json")
        await outbox.redis.zadd(outbox.key("due"), {ref.member: clock.now})
        await outbox.publish(event(), ["kommo"], now=clock.now)
        await LeadSyncWorker(outbox, SETTINGS, {"kommo": kommo}, clock=clock).run_once()
        assert kommo.got == [f"{LEAD}:lead.qualified"]
        assert [d.outcome for d in await outbox.deliveries()] == ["delivered", "dropped"]
    run(body)


# --- the outbound webhook ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def receiver():
    with FakeWebhookReceiver(SECRET) as server:
        yield server


def send(url: str, lead_event: LeadEvent, secret: str = SECRET) -> None:
    async def main() -> None:
        async with httpx.AsyncClient(timeout=2.0) as client:
            await WebhookSender(client, url, secret)(lead_event)

    asyncio.run(main())


def test_a_webhook_carries_the_event_signed_with_the_secret(receiver):
    receiver.reset()
    send(f"{receiver.url}/n8n/hook", event(LeadEventType.HOT))
    [hook] = receiver.received
    assert hook.signature_valid and hook.headers[SIGNATURE_HEADER].startswith("sha256=")
    assert hook.headers["X-Event-Id"] == event(LeadEventType.HOT).id
    body: Dict[str, Any] = hook.json
    assert body["type"] == "lead.hot" and body["created_at"] == "2023-11-14T22:13:20+00:00"
    assert body["lead"]["phone"] == LEAD and body["lead"]["customer_name"] == "Ana Souza"
    assert body["lead"]["monthly_bill_brl"] == 450.0 and body["lead"]["summary"] == "Conta alta"


def test_a_receiver_checking_signatures_refuses_another_secret(receiver):
    receiver.reset()
    send(f"{receiver.url}/hook", event(), secret="someone-else")
    assert [hook.signature_valid for hook in receiver.received] == [False]


@pytest.mark.parametrize("status", [404, 500, 503])
def test_a_refusing_receiver_is_a_retryable_failure(receiver, status):
    receiver.reset()
    receiver.fail_next(1, status)
    with pytest.raises(DeliveryError) as caught:
        send(f"{receiver.url}/hook", event())
    assert caught.value.retryable and str(caught.value) == f"HTTP {status}"


def test_an_unreachable_receiver_is_a_retryable_failure():
    from scripts.procs import free_port

    with pytest.raises(DeliveryError) as caught:
        send(f"http://127.0.0.1:{free_port()}/hook", event())
    assert caught.value.retryable and "unreachable" in str(caught.value)


# --- publishing from an action ------------------------------------------------------------------

def test_an_action_publishes_each_turn_once_to_every_configured_target(monkeypatch, redis_port):
    from actions.lead_events import publish_lead_event
    from crm.settings import webhook_target
    from tests.unit.trackers import make_tracker, user_event

    key_prefix = "pub" + uuid.uuid4().hex[:8]
    for name, value in {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(redis_port), "REDIS_KEY_PREFIX": key_prefix,
                        "LEAD_WEBHOOK_URLS": "http://127.0.0.1:9/hook", "LEAD_WEBHOOK_SECRET": SECRET}.items():
        monkeypatch.setenv(name, value)
    turn = make_tracker(SLOTS, events=[{**user_event("quero", "affirm"), "timestamp": 1_764_000_000.5}])
    next_turn = make_tracker(SLOTS, events=[{**user_event("quero", "affirm"), "timestamp": 1_764_000_099.0}])

    async def main():
        results = [await publish_lead_event(LeadEventType.HANDOFF, tracker, SLOTS)
                   for tracker in (turn, turn, next_turn)]
        client = aioredis.Redis(port=redis_port, decode_responses=True)
        try:
            queue = await client.lrange(f"{key_prefix}:leadsync:queue:{webhook_target('http://127.0.0.1:9/hook')}:"
                                        f"{turn.sender_id}", 0, -1)
        finally:
            await client.close()
        return results, [LeadEvent.from_json(item) for item in queue]

    results, queued = asyncio.run(main())
    assert results == [True, False, True]  # Rasa retrying the action's turn publishes nothing new
    assert [e.type for e in queued] == ["lead.handoff", "lead.handoff"] and queued[0].id != queued[1].id
    assert queued[0].lead["customer_name"] == "Ana Souza"


def test_publishing_is_off_without_targets_and_never_fails_the_turn(monkeypatch):
    from actions.lead_events import publish_lead_event
    from scripts.procs import free_port
    from tests.unit.trackers import make_tracker

    assert asyncio.run(publish_lead_event(LeadEventType.HOT, make_tracker(), SLOTS)) is None  # nothing configured
    monkeypatch.setenv("LEAD_WEBHOOK_URLS", "http://127.0.0.1:9/hook")
    monkeypatch.setenv("LEAD_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("REDIS_PORT", str(free_port()))  # Redis down
    assert asyncio.run(publish_lead_event(LeadEventType.HOT, make_tracker(), SLOTS)) is None


def test_a_target_that_crashes_is_retried_and_the_worker_goes_on(run):
    class Broken:
        calls = 0

        async def __call__(self, lead_event: LeadEvent) -> None:
            Broken.calls += 1
            if Broken.calls == 1:
                raise AttributeError("'NoneType' object has no attribute 'lock_store'")

    async def body(outbox, _):
        clock = Clock()
        worker = LeadSyncWorker(outbox, SETTINGS, {"kommo": Broken()}, clock=clock)
        await outbox.publish(event(), ["kommo"], now=clock.now)
        await worker.run_once()
        [failed] = await outbox.deliveries()
        clock.now += 10
        await worker.run_once()
        return failed, await outbox.deliveries()

    failed, deliveries = run(body)
    assert (failed.outcome, failed.detail) == ("retry", "internal error (AttributeError)")
    assert deliveries[0].outcome == "delivered"
