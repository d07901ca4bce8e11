"""The detailed health's lead-sync section against a real Redis (connectors/evolution/health.py)."""
from __future__ import annotations

import asyncio
import uuid

from connectors.evolution.health import lead_sync
from crm.events import LeadEvent, LeadEventType
from crm.outbox import LeadOutbox
from scripts.procs import free_port
from whatsapp.store import ChannelStore

T0 = 1_764_000_000.0


# --- the lead sync's outbox -------------------------------------------------------------------


def channel_store(port: int, key_prefix: str) -> ChannelStore:
    # As the channel builds it: EvolutionSettings.redis_prefix is `<REDIS_KEY_PREFIX>:evo`.
    return ChannelStore.connect(host="127.0.0.1", port=port, db=0, password=None, prefix=f"{key_prefix}:evo")


def event(conversation_id: str, anchor: str = "t1") -> LeadEvent:
    return LeadEvent.create(LeadEventType.QUALIFIED, conversation_id, {"lead_class": "HOT"},
                            anchor=anchor, occurred_at=T0)


def test_lead_sync_counts_queued_in_delivery_and_dead_queues_and_the_oldest_lateness(redis_port):
    key_prefix = f"t{uuid.uuid4().hex[:10]}"

    async def main():
        store = channel_store(redis_port, key_prefix)
        try:
            empty = await lead_sync(store, key_prefix, now=T0)
            outbox = LeadOutbox(store.redis, key_prefix)
            await outbox.publish(event("5511987650001"), ["kommo", "hook-abc"], now=T0)
            await outbox.publish(event("5511987650002"), ["kommo"], now=T0 + 10)
            await outbox.publish(event("5511987650003"), ["kommo"], now=T0 + 20)
            # The oldest one (hook-abc|…0001 sorts before kommo|…0001) goes dead, the next is being delivered.
            [dead] = await outbox.claim_due(T0, lease_seconds=60, limit=1)
            await outbox.count_failure(dead, "HTTP 400", T0)
            await outbox.settle(dead, at=T0, dead=True)
            await outbox.claim_due(T0, lease_seconds=60, limit=1)
            return empty, await lead_sync(store, key_prefix, now=T0 + 70)
        finally:
            await store.close()

    empty, section = asyncio.run(main())
    assert empty == {"queued": 0, "in_delivery": 0, "dead": 0, "oldest_due_age_seconds": 0.0}
    # Left due: …0002 since T0 + 10 and …0003 since T0 + 20; the oldest is 60 s late.
    assert section == {"queued": 2, "in_delivery": 1, "dead": 1, "oldest_due_age_seconds": 60.0}


def test_lead_sync_due_in_the_future_is_not_late(redis_port):
    key_prefix = f"t{uuid.uuid4().hex[:10]}"

    async def main():
        store = channel_store(redis_port, key_prefix)
        try:
            await LeadOutbox(store.redis, key_prefix).publish(event("5511987650001"), ["kommo"], now=T0 + 300)
            return await lead_sync(store, key_prefix, now=T0)
        finally:
            await store.close()

    assert asyncio.run(main())["oldest_due_age_seconds"] == 0.0


def test_lead_sync_reports_redis_trouble_instead_of_failing():
    async def main():
        store = channel_store(free_port(), "prod")
        try:
            return await lead_sync(store, "prod")
        finally:
            await store.close()

    section = asyncio.run(main())
    assert list(section) == ["error"] and section["error"].startswith("redis unreachable (")
