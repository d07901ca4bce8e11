"""The lead-events outbox in Redis: durable, ordered per lead and target, retried, with a dead letter.

A published event is appended to one queue per (target, conversation): Kommo is one target,
each outbound webhook URL another. Per lead and target the events leave in the order they
happened (a lead is created before it is marked as opted out), while one lead's failing
delivery never holds up another's. Keys under ``<prefix>:leadsync:``:

- ``seen:<event id>``                  the event was published (a retried action publishes once);
- ``queue:<target>:<conversation>``    list of event JSON, oldest first;
- ``due`` / ``claims``                 sorted sets of ``<target>|<conversation>`` (sdr.lease_queue);
- ``dead``                             sorted set of queues whose head used up its attempts;
- ``state:<target>:<conversation>``    hash: attempts, last_error, since;
- ``done:<target>:<event id>``         delivered (a crash before the pop does not deliver twice);
- ``deliveries``                       the latest delivery records, newest first, for operators.

Publishing never waits for a target; delivering is `crm.worker`'s job.
"""
from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from redis import asyncio as aioredis

from crm.events import LeadEvent
from sdr.lease_queue import CLAIM_DUE

__all__ = ["DeadQueue", "Delivery", "LeadOutbox", "QueueRef"]

# A retried action a month later is a new fact, not a retry.
SEEN_TTL_SECONDS = 30 * 24 * 3600
DONE_TTL_SECONDS = 30 * 24 * 3600
DELIVERIES_KEPT = 1000
MEMBER_SEPARATOR = "|"

# A dead queue that gets a new event goes back in line with fresh attempts.
# KEYS: seen, due, claims, dead, then per target: queue, state | ARGV: event json, now, seen ttl,
# member per target
PUBLISH = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then
  return 0
end
for i = 5, #KEYS, 2 do
  local member = ARGV[4 + (i - 5) / 2]
  redis.call('RPUSH', KEYS[i], ARGV[1])
  if redis.call('ZREM', KEYS[4], member) == 1 then
    redis.call('DEL', KEYS[i + 1])
    redis.call('ZADD', KEYS[2], ARGV[2], member)
  elseif not redis.call('ZSCORE', KEYS[3], member) and not redis.call('ZSCORE', KEYS[2], member) then
    redis.call('ZADD', KEYS[2], ARGV[2], member)
  end
end
return 1
"""

# Ends one server's hold on a queue. KEYS: due, claims, dead, queue | ARGV: member, action, at
# action 'next': due again at `at` if events are left; 'dead': parked until an operator retries.
SETTLE = """
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] == 'dead' then
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
elseif redis.call('LLEN', KEYS[4]) > 0 then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
"""

# Removes the head only if it is still the event just delivered. KEYS: queue | ARGV: event json
POP_IF_HEAD = """
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
  redis.call('LPOP', KEYS[1])
  return 1
end
return 0
"""


@dataclass(frozen=True)
class QueueRef:
    """One lead's queue for one target."""

    target: str
    conversation_id: str

    @property
    def member(self) -> str:
        return f"{self.target}{MEMBER_SEPARATOR}{self.conversation_id}"

    @classmethod
    def parse(cls, member: str) -> QueueRef:
        target, _, conversation_id = member.partition(MEMBER_SEPARATOR)
        return cls(target, conversation_id)


@dataclass(frozen=True)
class Delivery:
    """One attempt's outcome, as operators see it (the phone masked)."""

    at: float
    event_id: str
    event_type: str
    target: str
    conversation: str
    outcome: str  # delivered | retry | dead | dropped
    attempts: int
    detail: str = ""


@dataclass(frozen=True)
class DeadQueue:
    ref: QueueRef
    since: float
    attempts: int
    last_error: str
    pending: int


class LeadOutbox:
    """Needs a client with ``decode_responses=True``."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix
        self._publish = client.register_script(PUBLISH)
        self._claim = client.register_script(CLAIM_DUE)
        self._settle = client.register_script(SETTLE)
        self._pop_if_head = client.register_script(POP_IF_HEAD)

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, "leadsync") + parts)

    def _queue(self, ref: QueueRef) -> str:
        return self.key("queue", ref.target, ref.conversation_id)

    def _state(self, ref: QueueRef) -> str:
        return self.key("state", ref.target, ref.conversation_id)

    # --- publishing (the action server) ----------------------------------------------------

    async def publish(self, event: LeadEvent, targets: Sequence[str], now: Optional[float] = None) -> bool:
        """Queue the event for every target; False when this event id was published before."""
        if not targets:
            return False
        refs = [QueueRef(target, event.conversation_id) for target in targets]
        published = await self._publish(
            keys=[self.key("seen", event.id), self.key("due"), self.key("claims"), self.key("dead")]
            + [key for ref in refs for key in (self._queue(ref), self._state(ref))],
            args=[event.to_json(), repr(time.time() if now is None else now), SEEN_TTL_SECONDS]
            + [ref.member for ref in refs],
        )
        return bool(published)

    # --- delivering (crm.worker) -----------------------------------------------------------

    async def claim_due(self, now: float, lease_seconds: float, limit: int) -> List[QueueRef]:
        members = await self._claim(keys=[self.key("due"), self.key("claims")],
                                    args=[repr(now), repr(now + lease_seconds), limit])
        return [QueueRef.parse(member) for member in members]

    async def head(self, ref: QueueRef) -> Optional[str]:
        head: Optional[str] = await self.redis.lindex(self._queue(ref), 0)
        return head

    async def pop_head(self, ref: QueueRef, raw_event: str) -> bool:
        return bool(await self._pop_if_head(keys=[self._queue(ref)], args=[raw_event]))

    async def was_delivered(self, ref: QueueRef, event_id: str) -> bool:
        return bool(await self.redis.exists(self.key("done", ref.target, event_id)))

    async def mark_delivered(self, ref: QueueRef, event_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.key("done", ref.target, event_id), "1", ex=DONE_TTL_SECONDS)
            pipe.delete(self._state(ref))
            await pipe.execute()

    async def count_failure(self, ref: QueueRef, error: str, now: float) -> int:
        """Attempts so far at the queue's head, this failure included."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(self._state(ref), "attempts", 1)
            pipe.hset(self._state(ref), mapping={"last_error": error[:300], "since": repr(now)})
            attempts, _ = await pipe.execute()
        return int(attempts)

    async def settle(self, ref: QueueRef, *, at: float, dead: bool = False) -> None:
        await self._settle(
            keys=[self.key("due"), self.key("claims"), self.key("dead"), self._queue(ref)],
            args=[ref.member, "dead" if dead else "next", repr(at)],
        )

    async def record(self, delivery: Delivery) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.lpush(self.key("deliveries"), json.dumps(delivery.__dict__, ensure_ascii=False))
            pipe.ltrim(self.key("deliveries"), 0, DELIVERIES_KEPT - 1)
            await pipe.execute()

    # --- operators (health route, review UI, CLI) ------------------------------------------

    async def deliveries(self, limit: int = 100) -> List[Delivery]:
        raw = await self.redis.lrange(self.key("deliveries"), 0, limit - 1)
        return [Delivery(**json.loads(item)) for item in raw]

    async def dead(self, limit: int = 100) -> List[DeadQueue]:
        entries: List[Tuple[str, float]] = await self.redis.zrange(
            self.key("dead"), 0, limit - 1, withscores=True)
        found = []
        for member, since in entries:
            ref = QueueRef.parse(member)
            state: Dict[str, Any] = await self.redis.hgetall(self._state(ref))
            found.append(DeadQueue(ref, float(since), int(state.get("attempts") or 0),
                                   str(state.get("last_error") or ""), int(await self.redis.llen(self._queue(ref)))))
        return found

    async def retry_dead(self, ref: QueueRef, now: Optional[float] = None) -> bool:
        """Back in line with fresh attempts; False when that queue is not dead."""
        if not await self.redis.zrem(self.key("dead"), ref.member):
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._state(ref))
            pipe.zadd(self.key("due"), {ref.member: time.time() if now is None else now})
            await pipe.execute()
        return True

    async def figures(self) -> Dict[str, int]:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self.key("due"))
            pipe.zcard(self.key("claims"))
            pipe.zcard(self.key("dead"))
            due, claimed, dead = await pipe.execute()
        return {"queued": int(due), "in_delivery": int(claimed), "dead": int(dead)}

    async def next_due_at(self) -> Optional[float]:
        first = await self.redis.zrange(self.key("due"), 0, 0, withscores=True)
        return float(first[0][1]) if first else None
