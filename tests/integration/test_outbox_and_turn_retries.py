"""Two defects of 0.6, each against the real Redis and the fake Evolution over loopback:
- one reply in the outbox that can never be sent held back every reply queued behind it
  (and a rejected send was logged as delivered);
- the attempts of a failing turn were counted in one process's memory, so with several
  workers a broken turn ran more often than `turn_max_attempts`.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from typing import Any, Awaitable, Callable, Dict, List

from rasa.core.channels.channel import UserMessage

from connectors.evolution.output import drain_outbox
from connectors.evolution.worker import TurnWorker
from tests.conftest import EVOLUTION_API_KEY, EVOLUTION_INSTANCE
from tests.fake_evolution import FakeEvolution
from whatsapp.client import EvolutionClient
from whatsapp.settings import load_settings
from whatsapp.store import ChannelStore

SENDER = "5511987654321"
JID = f"{SENDER}@s.whatsapp.net"


def run_with_store(fake: FakeEvolution, redis_port: int, prefix: str,
                   body: Callable[[EvolutionClient, ChannelStore], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        store = ChannelStore.connect(host="127.0.0.1", port=redis_port, db=0, password=None, prefix=prefix)
        client = EvolutionClient(fake.url, EVOLUTION_API_KEY, EVOLUTION_INSTANCE, timeout_s=5.0,
                                 max_retries=0, backoff_base_s=0.01, backoff_max_s=0.02)
        try:
            return await body(client, store)
        finally:
            await client.aclose()
            await store.close()

    return asyncio.run(main())


def test_an_unsendable_reply_does_not_hold_back_the_replies_behind_it(fake, redis_port, prefix, caplog):
    caplog.set_level(logging.INFO, logger="connectors.evolution")
    fake.set_unregistered("5511900000000")

    async def body(client: EvolutionClient, store: ChannelStore) -> int:
        # What deliver() queued while Evolution was down, oldest first.
        await store.queue_outgoing({"operation": "send_media", "call": {
            "number": JID, "mediatype": "hologram", "media": "https://cdn.example.com/a.jpg"}})  # client: ValueError
        await store.queue_outgoing({"operation": "send_text", "call": {"number": "5511900000000@s.whatsapp.net",
                                                                       "text": "número inexistente"}})  # 400
        await store.queue_outgoing({"operation": "__class__", "call": {}})  # not a client call
        await store.redis.rpush(store.key("outbox"), "{not json")
        await store.queue_outgoing({"operation": "send_text", "call": {"number": JID, "text": "primeira"}})
        await store.queue_outgoing({"operation": "send_text", "call": {"number": JID, "text": "segunda"}})
        await drain_outbox(client, store)
        return await store.outbox_size()

    assert run_with_store(fake, redis_port, prefix, body) == 0
    assert fake.sent_texts(JID) == ["primeira", "segunda"]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("queued_send_invalid" in m for m in messages) == 3
    assert sum("queued_send_rejected" in m for m in messages) == 1
    # Only the two real sends are reported delivered.
    assert sum("queued_send_delivered" in m for m in messages) == 2


def test_evolution_still_down_keeps_the_queue_in_order(fake, redis_port, prefix):
    async def body(client: EvolutionClient, store: ChannelStore) -> List[str]:
        for text in ("um", "dois"):
            await store.queue_outgoing({"operation": "send_text", "call": {"number": JID, "text": text}})
        fake.go_down()
        await drain_outbox(client, store)
        raw = await store.redis.lrange(store.key("outbox"), 0, -1)
        fake.come_back()
        await drain_outbox(client, store)
        return [json.loads(item)["call"]["text"] for item in raw]

    assert run_with_store(fake, redis_port, prefix, body) == ["um", "dois"]
    assert fake.sent_texts(JID) == ["um", "dois"]


class _Scheduler:
    """The proactive scheduler's two calls the worker makes around a turn, as no-ops."""

    async def lead_wrote(self, sender_id: str) -> None:
        return None

    async def after_lead_turn(self, sender_id: str) -> None:
        return None


def test_a_failing_turn_runs_turn_max_attempts_times_across_workers(fake, redis_port, prefix):
    settings = dataclasses.replace(load_settings({}, environ={}), turn_max_attempts=3, mark_read=False)
    runs: List[str] = []

    async def broken_turn(message: UserMessage) -> None:
        runs.append(message.sender_id)
        raise RuntimeError("the model crashed")

    async def body(client: EvolutionClient, store: ChannelStore) -> Dict[str, Any]:
        record = {"message_id": "M1", "sender_id": SENDER, "reply_jid": JID, "kind": "text", "text": "oi"}
        admission = await store.accept(instance="solarprime", message_id="M1", sender_id=SENDER, reply_jid=JID,
                                       record=record, due_at=0.0, dedupe_ttl=60, now=0.0,
                                       max_per_minute=100, max_per_hour=1000)
        assert admission.accepted
        # Two worker processes of one server (or two servers): each has its own memory.
        workers = [TurnWorker(settings, store, client, _Scheduler(), broken_turn, agent=lambda: None)
                   for _ in range(2)]
        for attempt in range(5):
            worker = workers[attempt % 2]
            await store.postpone(SENDER, 0.0)  # skip the retry backoff
            await worker._process(SENDER)
        return {"inbox": await store.inbox(SENDER),
                "dead": [json.loads(x) for x in await store.redis.lrange(store.key("dead"), 0, -1)],
                "failures": await store.redis.get(store.key("failures", SENDER))}

    result = run_with_store(fake, redis_port, prefix, body)
    assert runs == [SENDER] * 3  # not 3 per worker
    assert result["inbox"] == []
    assert [d["message_id"] for d in result["dead"]] == ["M1"]
    assert result["failures"] is None  # forgotten once dead-lettered


def test_a_queued_reply_goes_out_through_the_instance_that_queued_it(fake, redis_port, prefix):
    async def body(client: EvolutionClient, store: ChannelStore) -> int:
        await store.queue_outgoing({"operation": "send_text", "instance": "filial-bh",
                                    "call": {"number": JID, "text": "pela filial"}})
        await store.queue_outgoing({"operation": "send_text", "call": {"number": JID, "text": "pela padrão"}})
        await drain_outbox(client, store)
        return await store.outbox_size()

    assert run_with_store(fake, redis_port, prefix, body) == 0
    paths = [request.path for request in fake.requests_for("sendText")]
    assert paths == ["/message/sendText/filial-bh", f"/message/sendText/{EVOLUTION_INSTANCE}"]
