"""The follow-up schedule in Redis, shared by every Rasa server of one deployment.

Rasa's own reminders live in one process's memory (lost on restart, bound to
the replica that set them), so the schedule lives here instead:

- `followup:due`     sorted set, conversation → when its next follow-up is due;
- `followup:claims`  sorted set, conversation → until when a server holds it;
- `followup:<id>`    hash: stage, quiet_since, token of the plan being carried out.

A server takes due conversations with one atomic script (so two servers never
take the same one); a claim whose server died returns to the queue when its
lease runs out, and the follow-up action refuses a stage it already sent, so a
retried firing never messages the lead twice.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import List, Optional

from redis import asyncio as aioredis

from sdr.lease_queue import CLAIM_DUE

# Carries a claimed plan on only if nobody replaced it meanwhile (the lead wrote,
# the plan was cancelled). KEYS: entry, due, claims | ARGV: id, token, action,
# due_at, stage, quiet_since. action: 'next' reschedules, 'done' forgets.
SETTLE = """
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[2] then
  return 0
end
if ARGV[3] == 'next' then
  redis.call('HSET', KEYS[1], 'stage', ARGV[5], 'quiet_since', ARGV[6])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
else
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
"""


@dataclass(frozen=True)
class PlannedFollowUp:
    """The next follow-up of one conversation."""

    conversation_id: str
    stage: int  # 1 for the first follow-up
    quiet_since: float  # when the lead last wrote
    token: str  # which plan this is; a new message from the lead makes a new one


class FollowUpStore:
    """Needs a client with `decode_responses=True` (the channel's)."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix
        self._claim = client.register_script(CLAIM_DUE)
        self._settle = client.register_script(SETTLE)

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, "followup") + parts)

    async def plan(self, conversation_id: str, stage: int, due_at: float, quiet_since: float) -> str:
        """A new cadence step for the conversation, replacing whatever was planned."""
        token = uuid.uuid4().hex
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.key(conversation_id),
                      mapping={"stage": stage, "quiet_since": repr(quiet_since), "token": token})
            pipe.zadd(self.key("due"), {conversation_id: due_at})
            pipe.zrem(self.key("claims"), conversation_id)
            await pipe.execute()
        return token

    async def cancel(self, conversation_id: str) -> bool:
        """Forget the conversation's plan; True when one was pending."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.key(conversation_id))
            pipe.zrem(self.key("due"), conversation_id)
            pipe.zrem(self.key("claims"), conversation_id)
            removed, _, _ = await pipe.execute()
        return bool(removed)

    async def claim_due(self, now: float, lease_seconds: float, limit: int) -> List[PlannedFollowUp]:
        ids = await self._claim(keys=[self.key("due"), self.key("claims")],
                                args=[repr(now), repr(now + lease_seconds), limit])
        claimed = []
        for conversation_id in ids:
            planned = await self.planned(conversation_id)
            if planned is None:  # cancelled between the two calls
                await self.redis.zrem(self.key("claims"), conversation_id)
            else:
                claimed.append(planned)
        return claimed

    async def planned(self, conversation_id: str) -> Optional[PlannedFollowUp]:
        entry = await self.redis.hgetall(self.key(conversation_id))
        if not entry:
            return None
        return PlannedFollowUp(conversation_id, int(entry["stage"]), float(entry["quiet_since"]), entry["token"])

    async def due_at(self, conversation_id: str) -> Optional[float]:
        return await self.redis.zscore(self.key("due"), conversation_id)

    async def advance(self, planned: PlannedFollowUp, stage: int, due_at: float) -> bool:
        """Plan the next stage of a claimed plan, unless it was replaced meanwhile."""
        return await self._settle_plan(planned, "next", due_at, stage)

    async def defer(self, planned: PlannedFollowUp, due_at: float) -> bool:
        """The same stage later (outside business hours)."""
        return await self._settle_plan(planned, "next", due_at, planned.stage)

    async def finish(self, planned: PlannedFollowUp) -> bool:
        """The cadence of a claimed plan is over (last stage sent, or no longer wanted)."""
        return await self._settle_plan(planned, "done", 0.0, planned.stage)

    async def _settle_plan(self, planned: PlannedFollowUp, action: str, due_at: float, stage: int) -> bool:
        settled = await self._settle(
            keys=[self.key(planned.conversation_id), self.key("due"), self.key("claims")],
            args=[planned.conversation_id, planned.token, action, repr(due_at), stage, repr(planned.quiet_since)],
        )
        return bool(settled)

    async def pending(self) -> int:
        return int(await self.redis.zcard(self.key("due")))

    async def next_due_at(self) -> Optional[float]:
        first = await self.redis.zrange(self.key("due"), 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    async def run_once(self, job: str, occurrence: str, ttl_seconds: int) -> bool:
        """True for exactly one caller per job occurrence across all servers."""
        return bool(await self.redis.set(self.key("job", job, occurrence), "1", nx=True, ex=ttl_seconds))
