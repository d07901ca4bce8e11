"""Meetings in Redis, shared by the action server and every Rasa server of one deployment.

- ``meeting:claims:<calendar>`` sorted set, ``"<start>|<end>|<owner>"`` → until when the claim
  holds. One script checks a new claim against the others (meeting ± buffer) and adds it, so two
  leads, or two replicas, never hold overlapping times of one consultant; a claim of a process
  that died runs out, a booked one holds until the meeting is over;
- ``meeting:rec:<conversation>``: the lead's meeting (``MeetingRecord`` as JSON);
- ``meeting:reminders:due`` / ``…:claims``: reminders, ``"<conversation>|<which>|<start>"`` → when
  due, taken with the leased-queue script every queue shares (``sdr.lease_queue``), so each fires
  on one server, and a server that died mid-way leaves it to another;
- ``meeting:pending:due`` / ``…:claims``: requests the calendar could not take (down), retried;
- ``meeting:watch``: booked meetings (conversation → start) whose event is checked in the
  calendar, so a meeting moved or deleted there is noticed;
- ``meeting:sent:<key>``: a reminder or notice already sent (set once, so a retry never sends twice).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Optional

from meetings.slots import Interval
from sdr.lease_queue import CLAIM_DUE

__all__ = ["MeetingRecord", "MeetingStore", "Reminder"]

# KEYS: claims of one calendar | ARGV: now, start, end, buffer, owner, hold_until
# Returns the owner of a conflicting claim, or "" when the claim was taken.
CLAIM_SLOT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local start, finish, buffer = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local s, e, owner = string.match(member, '^([^|]+)|([^|]+)|(.*)$')
  if owner ~= ARGV[5] and tonumber(s) < finish + buffer and tonumber(e) > start - buffer then
    return owner
  end
end
redis.call('ZADD', KEYS[1], ARGV[6], ARGV[2] .. '|' .. ARGV[3] .. '|' .. ARGV[5])
return ''
"""
SENT_TTL_S = 90 * 24 * 3600
RECORD_TTL_S = 180 * 24 * 3600


@dataclass(frozen=True)
class MeetingRecord:
    """One lead's meeting; ``status`` is a ``sdr.vocabulary.MeetingStatus`` value."""

    conversation_id: str
    calendar_id: str
    start: float
    end: float
    kind: str
    status: str
    request_id: str  # the booking request: Google's event id derives from it
    event_id: str = ""  # empty while the calendar has not taken it (pending)
    address: str = ""
    lead_name: str = ""
    summary: str = ""
    pending_reason: str = ""

    def with_(self, **changes: Any) -> MeetingRecord:
        return replace(self, **changes)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> MeetingRecord:
        data = json.loads(text)
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


@dataclass(frozen=True)
class Reminder:
    conversation_id: str
    which: str  # a sdr.vocabulary.MeetingNotice value
    start: float  # the meeting start it was planned for: a moved meeting's old reminders are void

    @property
    def member(self) -> str:
        return f"{self.conversation_id}|{self.which}|{self.start!r}"

    @classmethod
    def parse(cls, member: str) -> Optional[Reminder]:
        parts = member.split("|")
        if len(parts) != 3:
            return None
        try:
            return cls(parts[0], parts[1], float(parts[2]))
        except ValueError:
            return None


class MeetingStore:
    """Needs a client with ``decode_responses=True``."""

    def __init__(self, client: Any, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix
        self._claim_slot = client.register_script(CLAIM_SLOT)
        self._claim_due = client.register_script(CLAIM_DUE)

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, "meeting") + parts)

    # ----------------------------------------------------------------- slot claims

    async def claim(self, calendar_id: str, start: float, end: float, owner: str, *, buffer_s: float,
                    hold_until: float, now: float) -> Optional[str]:
        """Claim ``[start, end)`` of one calendar; None when taken, else the owner holding it."""
        other = await self._claim_slot(keys=[self.key("claims", calendar_id)],
                                       args=[repr(now), repr(start), repr(end), repr(buffer_s), owner,
                                             repr(hold_until)])
        return str(other) if other else None

    async def release(self, calendar_id: str, start: float, end: float, owner: str) -> None:
        await self.redis.zrem(self.key("claims", calendar_id), f"{start!r}|{end!r}|{owner}")

    async def hold(self, calendar_id: str, start: float, end: float, owner: str, until: float) -> None:
        """Keep a claim until ``until`` (a booked meeting: until it is over)."""
        await self.redis.zadd(self.key("claims", calendar_id), {f"{start!r}|{end!r}|{owner}": until})

    async def claimed(self, calendar_ids: Sequence[str], now: float, *, but: str = "") -> dict[str, list[Interval]]:
        """Times held in Redis (bookings in progress or made), per calendar, except ``but``'s."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for calendar in calendar_ids:
                pipe.zrangebyscore(self.key("claims", calendar), repr(now), "+inf")
            answers = await pipe.execute()
        held: dict[str, list[Interval]] = {}
        for calendar, members in zip(calendar_ids, answers):
            for member in members:
                start, end, owner = member.split("|", 2)
                if owner != but:
                    held.setdefault(calendar, []).append((float(start), float(end)))
        return held

    # ----------------------------------------------------------------- records

    async def get(self, conversation_id: str) -> Optional[MeetingRecord]:
        text = await self.redis.get(self.key("rec", conversation_id))
        return MeetingRecord.from_json(text) if text else None

    async def save(self, record: MeetingRecord) -> None:
        await self.redis.set(self.key("rec", record.conversation_id), record.to_json(), ex=RECORD_TTL_S)

    async def rotation(self) -> int:
        """A counter that grows by one per booking: round-robin over the consultants."""
        return int(await self.redis.incr(self.key("rotation")))

    # ----------------------------------------------------------------- reminders and the watch list

    async def plan_reminders(self, conversation_id: str, start: float, due: Sequence[tuple[str, float]]) -> None:
        """Replace the conversation's reminders with ``due`` (which, when) for a meeting at ``start``;
        and watch the meeting in the calendar."""
        await self.cancel_reminders(conversation_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            for which, when in due:
                pipe.zadd(self.key("reminders", "due"), {Reminder(conversation_id, which, start).member: when})
            pipe.zadd(self.key("watch"), {conversation_id: start})
            await pipe.execute()

    async def cancel_reminders(self, conversation_id: str) -> None:
        """No more reminders nor watching for this conversation's meeting."""
        prefix = f"{conversation_id}|"
        async with self.redis.pipeline(transaction=False) as pipe:
            for queue in ("due", "claims"):
                pipe.zrange(self.key("reminders", queue), 0, -1)
            planned = await pipe.execute()
        mine = [member for members in planned for member in members if member.startswith(prefix)]
        async with self.redis.pipeline(transaction=True) as pipe:
            if mine:
                pipe.zrem(self.key("reminders", "due"), *mine)
                pipe.zrem(self.key("reminders", "claims"), *mine)
            pipe.zrem(self.key("watch"), conversation_id)
            await pipe.execute()

    async def claim_due_reminders(self, now: float, lease_s: float, limit: int) -> list[Reminder]:
        members = await self._claim_due(keys=[self.key("reminders", "due"), self.key("reminders", "claims")],
                                        args=[repr(now), repr(now + lease_s), limit])
        parsed = [Reminder.parse(member) for member in members]
        return [reminder for reminder in parsed if reminder is not None]

    async def finish_reminder(self, reminder: Reminder) -> None:
        await self.redis.zrem(self.key("reminders", "claims"), reminder.member)

    async def reminders(self, conversation_id: str) -> list[tuple[str, float]]:
        """The conversation's planned reminders (which, when), for tests and the review UI."""
        entries = await self.redis.zrange(self.key("reminders", "due"), 0, -1, withscores=True)
        found = [(Reminder.parse(member), when) for member, when in entries]
        return [(reminder.which, float(when)) for reminder, when in found
                if reminder is not None and reminder.conversation_id == conversation_id]

    async def watched(self, limit: int) -> list[str]:
        return list(await self.redis.zrange(self.key("watch"), 0, limit - 1))

    async def unwatch(self, conversation_id: str) -> None:
        await self.redis.zrem(self.key("watch"), conversation_id)

    # ----------------------------------------------------------------- requests the calendar could not take

    async def queue_pending(self, conversation_id: str, retry_at: float) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.key("pending", "claims"), conversation_id)
            pipe.zadd(self.key("pending", "due"), {conversation_id: retry_at})
            await pipe.execute()

    async def claim_due_pending(self, now: float, lease_s: float, limit: int) -> list[str]:
        return list(await self._claim_due(keys=[self.key("pending", "due"), self.key("pending", "claims")],
                                          args=[repr(now), repr(now + lease_s), limit]))

    async def finish_pending(self, conversation_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.key("pending", "claims"), conversation_id)
            pipe.zrem(self.key("pending", "due"), conversation_id)
            await pipe.execute()

    async def pending(self) -> list[tuple[str, float]]:
        """Requests waiting for the calendar (conversation, next try), for operators."""
        due = await self.redis.zrange(self.key("pending", "due"), 0, -1, withscores=True)
        claimed = await self.redis.zrange(self.key("pending", "claims"), 0, -1, withscores=True)
        return sorted([(member, float(when)) for member, when in list(due) + list(claimed)], key=lambda e: e[1])

    # ----------------------------------------------------------------- once

    async def first_time(self, key: str) -> bool:
        """True for exactly one caller per key: a reminder or a notice is sent once."""
        return bool(await self.redis.set(self.key("sent", key), "1", nx=True, ex=SENT_TTL_S))
