"""The follow-up schedule against a real Redis: plans, claims, exactly one taker."""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

import pytest

from connectors.followup_store import FollowUpStore
from whatsapp.store import ChannelStore

LEAD = "5511987654321"
OTHER = "5521912345678"
LEASE = 60.0


@pytest.fixture
def run(two_servers: Callable[..., Any], prefix: str) -> Callable[[Callable[..., Awaitable[Any]]], Any]:
    """run(async fn(store, other_store)): two FollowUpStores = two servers on one Redis."""
    return lambda body: two_servers(body, lambda client: FollowUpStore(client, prefix))


def test_a_plan_is_claimed_only_when_due(run):
    async def body(store, _):
        await store.plan(LEAD, 1, due_at=100.0, quiet_since=40.0)
        assert await store.claim_due(99.0, LEASE, 10) == []
        [claimed] = await store.claim_due(100.0, LEASE, 10)
        assert (claimed.conversation_id, claimed.stage, claimed.quiet_since) == (LEAD, 1, 40.0)
        assert await store.claim_due(101.0, LEASE, 10) == []  # held by its claimer
    run(body)


def test_two_servers_never_take_the_same_follow_up(run):
    async def body(one, two):
        for n in range(50):
            await one.plan(f"55119000{n:05d}", 1, due_at=10.0, quiet_since=0.0)
        took = await asyncio.gather(*[(one if i % 2 else two).claim_due(10.0, LEASE, 7) for i in range(20)])
        ids = [planned.conversation_id for batch in took for planned in batch]
        assert len(ids) == 50 and len(set(ids)) == 50
    run(body)


def test_a_claim_whose_server_died_returns_after_its_lease(run):
    async def body(one, two):
        await one.plan(LEAD, 2, due_at=10.0, quiet_since=0.0)
        assert len(await one.claim_due(10.0, LEASE, 10)) == 1  # and the server dies
        assert await two.claim_due(10.0 + LEASE - 1, LEASE, 10) == []
        [again] = await two.claim_due(10.0 + LEASE + 1, LEASE, 10)
        assert again.stage == 2
    run(body)


def test_advance_plans_the_next_stage(run):
    async def body(store, _):
        await store.plan(LEAD, 1, due_at=10.0, quiet_since=5.0)
        [claimed] = await store.claim_due(10.0, LEASE, 10)
        assert await store.advance(claimed, 2, due_at=30.0)
        assert await store.due_at(LEAD) == 30.0
        [second] = await store.claim_due(30.0, LEASE, 10)
        assert (second.stage, second.quiet_since) == (2, 5.0)
        assert await store.finish(second)
        assert await store.planned(LEAD) is None and await store.pending() == 0
    run(body)


def test_a_lead_who_writes_meanwhile_wins_over_the_claimed_plan(run):
    async def body(store, _):
        await store.plan(LEAD, 2, due_at=10.0, quiet_since=0.0)
        [claimed] = await store.claim_due(10.0, LEASE, 10)
        # The lead writes while the follow-up is being sent: a new cadence is planned.
        await store.cancel(LEAD)
        await store.plan(LEAD, 1, due_at=500.0, quiet_since=400.0)
        assert not await store.advance(claimed, 3, due_at=20.0)
        assert not await store.finish(claimed)
        fresh = await store.planned(LEAD)
        assert (fresh.stage, await store.due_at(LEAD)) == (1, 500.0)
    run(body)


def test_cancel_and_defer(run):
    async def body(store, _):
        await store.plan(LEAD, 1, due_at=10.0, quiet_since=0.0)
        await store.plan(OTHER, 1, due_at=10.0, quiet_since=0.0)
        assert await store.cancel(LEAD) and not await store.cancel(LEAD)
        [claimed] = await store.claim_due(10.0, LEASE, 10)
        assert await store.defer(claimed, 1000.0)
        assert await store.due_at(OTHER) == 1000.0 and (await store.planned(OTHER)).stage == 1
        assert await store.next_due_at() == 1000.0
    run(body)


def test_a_job_runs_once_per_occurrence_across_servers(run):
    async def body(one, two):
        results = await asyncio.gather(
            *[(one, two)[i % 2].run_once("weekly_report", "2026-11-23", 60) for i in range(10)]
        )
        assert results.count(True) == 1
        assert await one.run_once("weekly_report", "2026-11-30", 60)
    run(body)


def test_media_older_than_the_retention_is_swept(redis_port, prefix, raw):
    async def body():
        store = ChannelStore.connect(host="127.0.0.1", port=redis_port, db=0, password=None, prefix=prefix)
        try:
            await store.store_media("OLD", "AAAA", now=1_000.0)
            await store.store_media("NEW", "BBBB", now=90_000.0)
            assert await store.sweep_media(older_than=90_000.0 - 86_400) == 1
            assert await store.media("OLD") is None and await store.media("NEW") == "BBBB"
            assert await store.sweep_media(older_than=90_000.0 - 86_400) == 0
        finally:
            await store.close()

    asyncio.run(body())
    assert raw.zrange(f"{prefix}:media_index", 0, -1) == ["NEW"]
