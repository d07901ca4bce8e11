"""Booking, moving and cancelling a lead's meeting in the consultants' calendars.

The order that makes a double booking impossible: the time is **claimed in Redis** first
(``MeetingStore.claim``: two leads or two replicas cannot hold overlapping times of one
consultant), then **checked again with freeBusy** (someone may have put something in the
calendar by hand), then the **event is created**, with an id derived from the request, so a
retry finds the event the first attempt made instead of making a second one. Only then is the
meeting ``agendada`` and the lead told.

When the calendar cannot be reached (or refuses us) the request is kept, ``pendente``, with its
claim, and retried every ``MEETING_RETRY_SECONDS`` by the scheduler (``retry_pending``); the lead
is told a consultant will confirm, never that it is booked.

Consultants are taken in turn (a counter in Redis) among those free at the chosen time; a moved
meeting stays with its consultant when they are free at the new time.
"""
from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from meetings.google_calendar import (
    CalendarError,
    CalendarNotFound,
    GoogleCalendarClient,
    event_id_for,
    parse_time,
)
from meetings.settings import CalendarSettings
from meetings.slots import Busy, Slot, free_calendars, free_slots, nearest_free, offer, search_window
from meetings.store import MeetingRecord, MeetingStore
from meetings.wording import KIND_LABELS
from observability.privacy import mask_phone
from sdr.vocabulary import MEETING_STATUSES_UPCOMING, MeetingNotice, MeetingStatus

__all__ = ["BookingRequest", "BookingResult", "Booker", "Outcome", "event_body"]

logger = logging.getLogger(__name__)

CLAIM_LEASE_S = 120.0  # a claim of a booking in progress; a booked one holds until the meeting ends
PENDING_HOLD_S = 24 * 3600.0  # a request waiting for the calendar keeps its time this long
DAY_S = 24 * 3600.0
Notice = tuple[MeetingNotice, MeetingRecord]  # what to tell the lead, about which meeting


class Outcome(str, enum.Enum):
    BOOKED = "booked"
    TAKEN = "taken"  # not free (any more): ``alternatives`` holds the nearest free times
    PENDING = "pending"  # the calendar could not take it now: retried


@dataclass(frozen=True)
class BookingRequest:
    conversation_id: str
    kind: str
    address: str = ""
    lead_name: str = ""
    summary: str = ""  # what the consultant reads about the lead
    phone: str = ""  # as a person reads it ("+55 11 98765-4321"); empty for a LID-only lead


@dataclass(frozen=True)
class BookingResult:
    outcome: Outcome
    record: Optional[MeetingRecord] = None
    alternatives: tuple[Slot, ...] = field(default=())


def _local_iso(instant: float, settings: CalendarSettings) -> str:
    return datetime.fromtimestamp(instant, settings.hours.tz).isoformat()


def event_body(request: BookingRequest, start: float, end: float, settings: CalendarSettings,
               review_path: str = "") -> dict[str, Any]:
    """The calendar event a consultant opens: who, what, where, and a way back to the conversation."""
    label = KIND_LABELS.get(request.kind, request.kind)
    lines = [f"{label.capitalize()} agendada pela assistente do WhatsApp."]
    if request.summary:
        lines.append(request.summary)
    if request.phone:
        lines.append(f"WhatsApp do lead: {request.phone}")
    if request.address:
        lines.append(f"Endereço: {request.address}")
    if settings.review_public_url and review_path:
        lines.append(f"Conversa: {settings.review_public_url}{review_path}")
    tz_name = settings.hours.tz.key
    body: dict[str, Any] = {
        "summary": f"Energia solar: {label} com {request.lead_name or 'lead do WhatsApp'}",
        "description": "\n".join(lines),
        "start": {"dateTime": _local_iso(start, settings), "timeZone": tz_name},
        "end": {"dateTime": _local_iso(end, settings), "timeZone": tz_name},
        "extendedProperties": {"private": {"aisdr": "1"}},
    }
    if request.kind == "visita" and request.address:
        body["location"] = request.address
    return body


class Booker:
    """Offers, books, moves and cancels; the scheduler's retries and calendar checks."""

    def __init__(self, settings: CalendarSettings, client: GoogleCalendarClient, store: MeetingStore,
                 review_path: str = "") -> None:
        self.settings = settings
        self.client = client
        self.store = store
        self.rules = settings.rules()
        self.review_path = review_path

    # ----------------------------------------------------------------- what is free

    async def busy(self, now: float, start: Optional[float] = None, *, owner: str = "") -> Busy:
        """The consultants' busy times from now (or around ``start``) over the days offers look at,
        with the times other leads hold in Redis (their booking may not be in the calendar yet)."""
        low, high = search_window(now, self.rules)
        if start is not None:
            low, high = min(low, start - DAY_S), max(high, start + (self.rules.days_ahead + 2) * DAY_S)
        answer = await self.client.free_busy(self.settings.calendar_ids, max(low, now), high)
        for calendar, reason in answer.errors.items():
            logger.warning("meeting.calendar_unreadable calendar=%s reason=%s", calendar, reason)
        held = await self.store.claimed(list(answer.busy), now, but=owner)
        return {calendar: tuple(sorted([*intervals, *held.get(calendar, [])]))
                for calendar, intervals in answer.busy.items()}

    async def offer(self, now: float) -> list[Slot]:
        return offer(await self.busy(now), now, self.rules)

    async def nearest(self, wanted: float, now: float) -> list[Slot]:
        return nearest_free(wanted, await self.busy(now, wanted), now, self.rules)

    async def free_between(self, low: float, high: float, now: float, count: int = 3) -> list[Slot]:
        """Free slots starting in ``[low, high)`` (a day or part of a day the lead named)."""
        busy = await self.busy(now, low)
        first = datetime.fromtimestamp(max(low, now), self.settings.hours.tz).date()
        inside = [slot for slot in free_slots(busy, now, self.rules, first_day=first) if low <= slot.start < high]
        return inside[:count]

    # ----------------------------------------------------------------- booking

    async def book(self, request: BookingRequest, start: float, now: float,
                   previous: Optional[MeetingRecord] = None) -> BookingResult:
        """Book ``start`` (or move ``previous`` there): booked, taken (with alternatives) or pending."""
        conversation = request.conversation_id
        end = start + self.rules.meeting_s
        request_id = f"{conversation}|{start!r}|{now!r}"
        pending = MeetingRecord(conversation, "", start, end, request.kind, MeetingStatus.PENDING.value,
                                request_id, address=request.address, lead_name=request.lead_name,
                                summary=request.summary)
        try:
            busy = await self.busy(now, start, owner=conversation)
        except CalendarError as error:
            return await self._pending(pending, error, now)
        candidates = self._candidates(start, busy, now, previous)
        if len(candidates) > 1:
            candidates = self.rotate(candidates, await self.store.rotation())
        for calendar in candidates:
            holder = await self.store.claim(calendar, start, end, conversation, buffer_s=self.rules.buffer_s,
                                            hold_until=now + CLAIM_LEASE_S, now=now)
            if holder is not None:
                continue  # another lead is booking this consultant at that time
            record = pending.with_(calendar_id=calendar)
            try:
                recheck = await self.client.free_busy([calendar], start - self.rules.buffer_s,
                                                      end + self.rules.buffer_s)
                if not free_calendars(start, recheck.busy, self.rules) or calendar in recheck.errors:
                    await self.store.release(calendar, start, end, conversation)
                    continue
                event = await self._write_event(record, request, previous)
            except CalendarError as error:
                return await self._pending(record, error, now)
            return await self._booked(record, event, previous, now)
        try:  # from a fresh look: the times other leads took meanwhile are not offered
            busy = await self.busy(now, start, owner=conversation)
        except CalendarError:
            pass
        alternatives = [slot for slot in nearest_free(start, busy, now, self.rules) if slot.start != start]
        logger.info("meeting.taken conversation=%s", mask_phone(conversation))
        return BookingResult(Outcome.TAKEN, None, tuple(alternatives))

    def _candidates(self, start: float, busy: Busy, now: float, previous: Optional[MeetingRecord]) -> list[str]:
        day = datetime.fromtimestamp(start, self.settings.hours.tz).date()
        valid = any(slot.start == start for slot in free_slots(busy, now, self.rules, first_day=day))
        if not valid:
            return []
        free = list(free_calendars(start, busy, self.rules))
        if previous is not None and previous.calendar_id in free:
            return [previous.calendar_id]  # the same consultant, when free at the new time
        return free

    async def _write_event(self, record: MeetingRecord, request: BookingRequest,
                           previous: Optional[MeetingRecord]) -> dict[str, Any]:
        body = event_body(request, record.start, record.end, self.settings, self.review_path)
        if previous is not None and previous.event_id and previous.calendar_id == record.calendar_id:
            try:
                return await self.client.patch_event(
                    record.calendar_id, previous.event_id, {"start": body["start"], "end": body["end"]})
            except CalendarNotFound:
                pass  # deleted in the calendar meanwhile: make a new one
        event = await self.client.insert_event(record.calendar_id, body, record.request_id)
        if previous is not None and previous.event_id and previous.calendar_id:
            if previous.event_id != event.get("id") or previous.calendar_id != record.calendar_id:
                await self.client.delete_event(previous.calendar_id, previous.event_id)
        return event

    async def _booked(self, record: MeetingRecord, event: dict[str, Any], previous: Optional[MeetingRecord],
                      now: float) -> BookingResult:
        moved = previous is not None and previous.status in MEETING_STATUSES_UPCOMING
        status = MeetingStatus.RESCHEDULED if moved else MeetingStatus.BOOKED
        booked = record.with_(event_id=str(event.get("id") or ""), status=status.value, pending_reason="")
        await self.store.hold(booked.calendar_id, booked.start, booked.end, booked.conversation_id,
                              until=booked.end + self.rules.buffer_s)
        if previous is not None and previous.calendar_id and previous.start != booked.start:
            await self.store.release(previous.calendar_id, previous.start, previous.end, previous.conversation_id)
        await self.store.save(booked)
        await self.store.finish_pending(booked.conversation_id)
        await self.plan_reminders(booked, now)
        logger.info("meeting.%s conversation=%s calendar=%s", status.value, mask_phone(booked.conversation_id),
                    booked.calendar_id)
        return BookingResult(Outcome.BOOKED, booked)

    async def _pending(self, record: MeetingRecord, error: CalendarError, now: float) -> BookingResult:
        if record.calendar_id:  # keep the time while we wait for the calendar
            await self.store.hold(record.calendar_id, record.start, record.end, record.conversation_id,
                                  until=now + PENDING_HOLD_S)
        waiting = record.with_(status=MeetingStatus.PENDING.value, pending_reason=type(error).__name__)
        await self.store.save(waiting)
        await self.store.queue_pending(record.conversation_id, now + self.settings.retry_seconds)
        logger.error("meeting.pending conversation=%s error=%s status=%s", mask_phone(record.conversation_id),
                     type(error).__name__, error.status)
        return BookingResult(Outcome.PENDING, waiting)

    def rotate(self, calendars: Sequence[str], turn: int) -> list[str]:
        """Round-robin: the consultants in ``GOOGLE_CALENDAR_IDS`` order, starting at this turn's."""
        order = [c for c in self.settings.calendar_ids if c in calendars]
        if not order:
            return list(calendars)
        shift = turn % len(order)
        return order[shift:] + order[:shift]

    # ----------------------------------------------------------------- reminders, cancel

    async def plan_reminders(self, record: MeetingRecord, now: float) -> None:
        notices = (MeetingNotice.REMINDER_DAY, MeetingNotice.REMINDER_HOURS)
        due = [(notice.value, record.start - before)
               for notice, before in zip(notices, self.settings.reminders_s) if record.start - before > now]
        await self.store.plan_reminders(record.conversation_id, record.start, due)

    async def cancel(self, record: MeetingRecord) -> MeetingRecord:
        """Delete the event and free the time. Raises ``CalendarError`` when the calendar could not
        be reached (the record is then kept as it was: the caller says a consultant will cancel)."""
        if record.event_id and record.calendar_id:
            await self.client.delete_event(record.calendar_id, record.event_id)
        return await self.forget(record)

    async def forget(self, record: MeetingRecord) -> MeetingRecord:
        """The meeting is off (cancelled here or in the calendar): no claim, reminders or retries."""
        if record.calendar_id:
            await self.store.release(record.calendar_id, record.start, record.end, record.conversation_id)
        await self.store.cancel_reminders(record.conversation_id)
        await self.store.finish_pending(record.conversation_id)
        cancelled = record.with_(status=MeetingStatus.CANCELLED.value)
        await self.store.save(cancelled)
        return cancelled

    # ----------------------------------------------------------------- the scheduler's side

    async def retry_pending(self, conversation_id: str, now: float) -> Optional[Notice]:
        """Try a waiting request again: the notice to give the lead, or None while still waiting."""
        record = await self.store.get(conversation_id)
        if record is None or record.status != MeetingStatus.PENDING.value:
            await self.store.finish_pending(conversation_id)
            return None
        request = BookingRequest(conversation_id, record.kind, record.address, record.lead_name, record.summary)
        if record.calendar_id:  # the same request: the event id is the one a lost attempt may have made
            result = await self._retry_same(record, request, now)
        else:
            result = await self.book(request, record.start, now)
        if result.outcome is Outcome.BOOKED and result.record is not None:
            return MeetingNotice.CONFIRMED, result.record
        if result.outcome is Outcome.TAKEN:
            await self.store.finish_pending(conversation_id)
            dropped = record.with_(status=MeetingStatus.CANCELLED.value, pending_reason="taken")
            await self.store.save(dropped)
            return MeetingNotice.NOT_BOOKED, dropped
        return None

    async def _retry_same(self, record: MeetingRecord, request: BookingRequest, now: float) -> BookingResult:
        try:
            recheck = await self.client.free_busy([record.calendar_id], record.start - self.rules.buffer_s,
                                                  record.end + self.rules.buffer_s)
            existing = await self._existing_event(record)
            if existing is None and not free_calendars(record.start, recheck.busy, self.rules):
                await self.store.release(record.calendar_id, record.start, record.end, record.conversation_id)
                return BookingResult(Outcome.TAKEN)
            event = existing or await self.client.insert_event(
                record.calendar_id, event_body(request, record.start, record.end, self.settings, self.review_path),
                record.request_id)
        except CalendarError as error:
            return await self._pending(record, error, now)
        return await self._booked(record, event, None, now)

    async def _existing_event(self, record: MeetingRecord) -> Optional[dict[str, Any]]:
        """The event a lost attempt made (the id derives from the request), if any."""
        try:
            event = await self.client.get_event(record.calendar_id, event_id_for(record.request_id))
        except CalendarNotFound:
            return None
        return None if event.get("status") == "cancelled" else event

    async def check_in_calendar(self, record: MeetingRecord, now: float) -> Optional[Notice]:
        """Compare a booked meeting with its event: deleted or moved there → the notice to give."""
        if record.status not in MEETING_STATUSES_UPCOMING:
            await self.store.unwatch(record.conversation_id)
            return None
        if record.end + self.rules.buffer_s < now:
            done = record.with_(status=MeetingStatus.DONE.value)
            await self.store.save(done)
            await self.store.unwatch(record.conversation_id)
            return MeetingNotice.DONE, done
        try:
            event = await self.client.get_event(record.calendar_id, record.event_id)
        except CalendarNotFound:
            event = {"status": "cancelled"}
        if event.get("status") == "cancelled":
            return MeetingNotice.CANCELLED_IN_CALENDAR, await self.forget(record)
        start = _event_start(event)
        if start is None or start == record.start:
            return None
        moved_end = _event_end(event) or start + (record.end - record.start)
        await self.store.release(record.calendar_id, record.start, record.end, record.conversation_id)
        moved = record.with_(start=start, end=moved_end, status=MeetingStatus.RESCHEDULED.value)
        await self.store.hold(moved.calendar_id, moved.start, moved.end, moved.conversation_id,
                              until=moved.end + self.rules.buffer_s)
        await self.store.save(moved)
        await self.plan_reminders(moved, now)
        return MeetingNotice.MOVED_IN_CALENDAR, moved


def _event_start(event: dict[str, Any]) -> Optional[float]:
    return _event_time(event.get("start"))


def _event_end(event: dict[str, Any]) -> Optional[float]:
    return _event_time(event.get("end"))


def _event_time(value: Any) -> Optional[float]:
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        return None  # an all-day event has only a date: not a meeting time we can read
    try:
        return parse_time(value["dateTime"])
    except ValueError:
        return None
