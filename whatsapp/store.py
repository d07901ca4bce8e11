"""The channel's state in Redis: what was acknowledged, what is waiting, what was seen.

A message is written here before the webhook is answered, so an answered
webhook is never lost: the inbox of a conversation is trimmed only after its
turn ran. Keys live under `<REDIS_KEY_PREFIX>:evo:`.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

from redis import asyncio as aioredis

from sdr.redis_settings import RedisSettings
from whatsapp.redis_batch import BatchedScript

# One script per webhook (webhooks arriving together share a round trip):
# dedupe, rate windows and the inbox, atomically.
# KEYS: seen, inbox, due, jid, rate minute, rate hour
# ARGV: dedupe ttl, message json, due at, sender, reply jid, jid ttl, max per minute, max per hour
ADMIT_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'duplicate', 0, 0}
end
local per_minute = redis.call('INCR', KEYS[5])
redis.call('EXPIRE', KEYS[5], 120)
local per_hour = redis.call('INCR', KEYS[6])
redis.call('EXPIRE', KEYS[6], 7200)
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
if per_minute > tonumber(ARGV[7]) or per_hour > tonumber(ARGV[8]) then
  return {'rate_limited', per_minute, per_hour}
end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
redis.call('SET', KEYS[4], ARGV[5], 'EX', ARGV[6])
return {'accepted', per_minute, per_hour}
"""

# KEYS: inbox, due | ARGV: processed count, sender
COMPLETE_SCRIPT = """
redis.call('LTRIM', KEYS[1], ARGV[1], -1)
if redis.call('LLEN', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[2])
end
return redis.call('LLEN', KEYS[1])
"""

# Only the holder may release a lock. KEYS: lock | ARGV: owner
# Moves a conversation's tracker to its new id, only when the new id has none yet: a lead first
# seen by LID whose phone became known keeps its history (Rasa's RedisTrackerStore keeps one
# key per conversation). 1 moved, 0 nothing to move, -1 both exist (left as they are).
MOVE_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
redis.call('RENAME', KEYS[1], KEYS[2])
return 1
"""
RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

JID_TTL_SECONDS = 90 * 24 * 3600
UNLIMITED = 2**62
RECEIPT_TTL_SECONDS = 30 * 24 * 3600
# The assistant's latest messages per conversation whose ids are kept for their receipts.
SENT_KEPT_PER_CONVERSATION = 500
BUTTONS_TTL_SECONDS = 24 * 3600
MEDIA_TTL_SECONDS = 24 * 3600
MINUTE, HOUR = 60, 3600
# A conversation whose turn keeps failing is retried up to turn_max_attempts times; the count
# outlives the retries' backoff but not a day of silence.
TURN_FAILURES_TTL_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Admission:
    status: str  # "accepted" | "duplicate" | "rate_limited"
    per_minute: int
    per_hour: int

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"


class ChannelStore:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix
        self._admit = BatchedScript(client, ADMIT_SCRIPT)
        self._complete = client.register_script(COMPLETE_SCRIPT)
        self._release = client.register_script(RELEASE_SCRIPT)
        self._move = client.register_script(MOVE_SCRIPT)

    @classmethod
    def connect(
        cls, *, host: str, port: int, db: int, password: Optional[str], prefix: str
    ) -> ChannelStore:
        redis = RedisSettings(host=host, port=port, db=db, password=password)
        return cls(redis.async_client(), prefix)

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix,) + parts)

    # --- inbound ------------------------------------------------------------------

    async def accept(
        self, *, instance: str, message_id: str, sender_id: str, reply_jid: str,
        record: Dict[str, Any], due_at: float, dedupe_ttl: int, now: Optional[float] = None,
        max_per_minute: Optional[int] = None, max_per_hour: Optional[int] = None,
    ) -> Admission:
        """Records a message for its conversation, unless it was seen before or its
        sender is over a rate limit (a rate-limited message counts as seen)."""
        now = time.time() if now is None else now
        status, per_minute, per_hour = await self._admit(
            keys=[self.key("seen", instance, message_id), self.key("inbox", sender_id),
                  self.key("due"), self.key("jid", sender_id),
                  self.key("rate", sender_id, "m", str(int(now // MINUTE))),
                  self.key("rate", sender_id, "h", str(int(now // HOUR)))],
            args=[dedupe_ttl, json.dumps(record, ensure_ascii=False), due_at, sender_id, reply_jid,
                  JID_TTL_SECONDS, max_per_minute or UNLIMITED, max_per_hour or UNLIMITED],
        )
        return Admission(status, int(per_minute), int(per_hour))

    async def due_senders(self, now: float, limit: int = 100) -> List[str]:
        # redis-py types replies as Any; the channel's client decodes them to str
        # (RedisSettings.async_client), so the annotations below state what arrives.
        senders: List[str] = await self.redis.zrangebyscore(self.key("due"), "-inf", now, start=0, num=limit)
        return senders

    async def next_due_at(self) -> Optional[float]:
        first = await self.redis.zrange(self.key("due"), 0, 0, withscores=True)
        return first[0][1] if first else None

    async def postpone(self, sender_id: str, due_at: float) -> None:
        await self.redis.zadd(self.key("due"), {sender_id: due_at})

    async def inbox(self, sender_id: str) -> List[Dict[str, Any]]:
        return [json.loads(item) for item in await self.redis.lrange(self.key("inbox", sender_id), 0, -1)]

    async def complete(self, sender_id: str, processed: int) -> int:
        """Drops the first `processed` messages of the inbox; returns how many remain."""
        return int(await self._complete(
            keys=[self.key("inbox", sender_id), self.key("due")], args=[processed, sender_id]
        ))

    async def dead_letter(self, sender_id: str, records: Sequence[Dict[str, Any]]) -> None:
        await self.redis.rpush(
            self.key("dead"), *[json.dumps({"sender_id": sender_id, **r}, ensure_ascii=False) for r in records]
        )

    # --- identities: LID <-> phone --------------------------------------------------

    async def link_lid(self, lid: str, phone: str) -> None:
        """Remember that ``lid`` and ``phone`` are one contact (both ways, no expiry: a LID is
        stable per contact)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(self.key("lid", lid), phone).set(self.key("pn", phone), lid)
            await pipe.execute()

    async def phone_for_lid(self, lid: str) -> Optional[str]:
        phone: Optional[str] = await self.redis.get(self.key("lid", lid))
        return phone

    async def lid_for_phone(self, phone: str) -> Optional[str]:
        lid: Optional[str] = await self.redis.get(self.key("pn", phone))
        return lid

    async def move_key(self, source: str, destination: str) -> int:
        """RENAME ``source`` to ``destination`` unless the latter exists (MOVE_SCRIPT's answer)."""
        moved: int = await self._move(keys=[source, destination])
        return int(moved)

    async def count_turn_failure(self, sender_id: str) -> int:
        """One more failed attempt at this conversation's pending turn, counted across every
        worker and server; the count is forgotten after TURN_FAILURES_TTL_SECONDS."""
        key = self.key("failures", sender_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key).expire(key, TURN_FAILURES_TTL_SECONDS)
            attempts, _ = await pipe.execute()
        return int(attempts)

    async def clear_turn_failures(self, sender_id: str) -> None:
        await self.redis.delete(self.key("failures", sender_id))

    async def lock(self, sender_id: str, owner: str, seconds: int) -> bool:
        return bool(await self.redis.set(self.key("lock", sender_id), owner, nx=True, ex=seconds))

    async def extend_lock(self, sender_id: str, seconds: int) -> None:
        await self.redis.expire(self.key("lock", sender_id), seconds)

    async def backlog(self) -> Dict[str, int]:
        """Conversations waiting for a turn, replies waiting for Evolution, abandoned turns."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self.key("due")).llen(self.key("outbox")).llen(self.key("dead"))
            waiting, queued, dead = await pipe.execute()
        return {"conversations_waiting": int(waiting), "replies_queued": int(queued), "dead_letters": int(dead)}

    async def unlock(self, sender_id: str, owner: str) -> None:
        await self._release(keys=[self.key("lock", sender_id)], args=[owner])

    async def reply_jid(self, sender_id: str) -> Optional[str]:
        jid: Optional[str] = await self.redis.get(self.key("jid", sender_id))
        return jid

    async def remember_jid(self, sender_id: str, jid: str) -> None:
        await self.redis.set(self.key("jid", sender_id), jid, ex=JID_TTL_SECONDS)

    async def store_media(self, message_id: str, base64_data: str, now: Optional[float] = None) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.key("media", message_id), base64_data, ex=MEDIA_TTL_SECONDS)
            pipe.zadd(self.key("media_index"), {message_id: time.time() if now is None else now})
            await pipe.execute()

    async def sweep_media(self, older_than: float) -> int:
        """Removes media kept before `older_than`; the key's TTL is only the backstop
        (a restored backup or a changed retention leaves keys the TTL won't reach in time)."""
        old = await self.redis.zrangebyscore(self.key("media_index"), "-inf", older_than)
        if not old:
            return 0
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(*[self.key("media", message_id) for message_id in old])
            pipe.zrem(self.key("media_index"), *old)
            await pipe.execute()
        return len(old)

    async def media(self, message_id: str) -> Optional[str]:
        """The base64 Evolution put in the webhook, while it is kept (24 h)."""
        base64_data: Optional[str] = await self.redis.get(self.key("media", message_id))
        return base64_data

    # --- rate limit and takeover ------------------------------------------------

    async def claim_rate_notice(self, sender_id: str, now: float) -> bool:
        """True once per sender and hour: the polite notice goes out only once."""
        key = self.key("rate_notice", sender_id, str(int(now // HOUR)))
        return bool(await self.redis.set(key, "1", nx=True, ex=HOUR))

    async def pause_for_human(self, sender_id: str, seconds: int) -> None:
        await self.redis.set(self.key("takeover", sender_id), str(time.time()), ex=seconds)

    async def human_is_talking(self, sender_id: str) -> bool:
        # Either a timed pause (a person typed on the business phone) or an open-ended
        # hold taken from the review UI, until an operator gives the conversation back.
        return bool(await self.redis.exists(self.key("takeover", sender_id), self.key("takeover_hold", sender_id)))

    async def hold_for_human(self, sender_id: str) -> None:
        """Pauses the assistant for this conversation with no end (review UI take-over)."""
        await self.redis.set(self.key("takeover_hold", sender_id), str(time.time()))

    async def release_human(self, sender_id: str) -> None:
        """Gives the conversation back to the assistant: ends a hold and a timed pause."""
        await self.redis.delete(self.key("takeover_hold", sender_id), self.key("takeover", sender_id))

    # --- buttons, receipts, connection ------------------------------------------

    async def offer_buttons(self, sender_id: str, buttons: List[Dict[str, Any]]) -> None:
        await self.redis.set(
            self.key("buttons", sender_id), json.dumps(buttons, ensure_ascii=False), ex=BUTTONS_TTL_SECONDS
        )

    async def offered_buttons(self, sender_id: str) -> List[Dict[str, Any]]:
        raw = await self.redis.get(self.key("buttons", sender_id))
        return json.loads(raw) if raw else []

    async def forget_buttons(self, sender_id: str) -> None:
        await self.redis.delete(self.key("buttons", sender_id))

    async def record_receipt(self, message_id: str, status: str, at: float) -> None:
        key = self.key("receipt", message_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, status, at).expire(key, RECEIPT_TTL_SECONDS)
            await pipe.execute()

    async def remember_sent(self, conversation_id: str, message_id: str, text: str, at: float) -> None:
        """What the assistant sent, with WhatsApp's id: the tracker's bot events carry no id,
        and the review UI matches them to these to show their delivery and read receipts."""
        key = self.key("sent", conversation_id)
        record = json.dumps({"id": message_id, "text": text, "at": at}, ensure_ascii=False)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, record).ltrim(key, -SENT_KEPT_PER_CONVERSATION, -1).expire(key, RECEIPT_TTL_SECONDS)
            await pipe.execute()

    async def sent_messages(self, conversation_id: str) -> List[Dict[str, Any]]:
        return [json.loads(raw) for raw in await self.redis.lrange(self.key("sent", conversation_id), 0, -1)]

    async def receipts(self, message_id: str) -> Dict[str, str]:
        statuses: Dict[str, str] = await self.redis.hgetall(self.key("receipt", message_id))
        return statuses

    async def record_connection(self, state: str, reason: Optional[int], at: float) -> None:
        await self.redis.hset(
            self.key("connection"), mapping={"state": state, "reason": "" if reason is None else reason, "at": at}
        )

    async def last_connection(self) -> Optional[Dict[str, Any]]:
        """The last connection.update any worker or server recorded, or None."""
        stored = await self.redis.hgetall(self.key("connection"))
        if not stored:
            return None
        reason = stored.get("reason")
        return {"state": stored.get("state"), "status_reason": int(reason) if reason else None,
                "at": float(stored["at"]) if stored.get("at") else None}

    # --- outbox: replies Evolution could not take yet ---------------------------

    async def queue_outgoing(self, request: Dict[str, Any]) -> None:
        await self.redis.rpush(self.key("outbox"), json.dumps(request, ensure_ascii=False))

    async def peek_outgoing(self) -> Optional[Dict[str, Any]]:
        raw = await self.redis.lindex(self.key("outbox"), 0)
        if not raw:
            return None
        try:
            queued = json.loads(raw)
        except ValueError:
            queued = None
        # Not a JSON object: nothing this channel queued; {} lets the outbox drop it.
        return queued if isinstance(queued, dict) else {}

    async def drop_outgoing(self) -> None:
        await self.redis.lpop(self.key("outbox"))

    async def outbox_size(self) -> int:
        return int(await self.redis.llen(self.key("outbox")))

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    async def close(self) -> None:
        await self.redis.close()
