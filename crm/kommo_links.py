"""Which Kommo lead and contact belong to which conversation, kept in Redis both ways.

The sync writes the pair as soon as Kommo gave the ids (before anything else can fail), so a
retried sync updates the same lead instead of creating another; Kommo's webhooks name a lead
id, and this is how they find the conversation. Slots ``crm_lead_id`` / ``crm_contact_id``
mirror it for people and the review UI; this store is what the code trusts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from redis import asyncio as aioredis

__all__ = ["KommoLink", "KommoLinks"]


@dataclass(frozen=True)
class KommoLink:
    lead_id: Optional[int]
    contact_id: Optional[int]


def _int(value: Optional[str]) -> Optional[int]:
    return int(value) if value and value.isdigit() else None


class KommoLinks:
    """Needs a client with ``decode_responses=True``."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, "leadsync", "kommo") + parts)

    async def of_conversation(self, conversation_id: str) -> KommoLink:
        found = await self.redis.hgetall(self.key("conversation", conversation_id))
        return KommoLink(_int(found.get("lead_id")), _int(found.get("contact_id")))

    async def conversation_of_lead(self, lead_id: int) -> Optional[str]:
        found: Optional[str] = await self.redis.get(self.key("lead", str(lead_id)))
        return found

    async def link(self, conversation_id: str, *, lead_id: Optional[int], contact_id: Optional[int]) -> None:
        fields = {name: str(value) for name, value in (("lead_id", lead_id), ("contact_id", contact_id))
                  if value is not None}
        if not fields:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.key("conversation", conversation_id), mapping=fields)
            if lead_id is not None:
                pipe.set(self.key("lead", str(lead_id)), conversation_id)
            await pipe.execute()

    async def next_responsible(self) -> int:
        """A counter for round-robin assignment, shared by every server."""
        return int(await self.redis.incr(self.key("round_robin"))) - 1

    async def step_done(self, event_id: str, step: str) -> bool:
        return bool(await self.redis.exists(self.key("step", event_id, step)))

    async def mark_step(self, event_id: str, step: str, ttl_seconds: int) -> None:
        """A note or a task of one event was created: a retry of the event skips it."""
        await self.redis.set(self.key("step", event_id, step), "1", ex=ttl_seconds)
