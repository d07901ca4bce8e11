"""Which meeting times are free, and which few to offer a lead: pure time arithmetic, no I/O.

Input is what Google's freeBusy answers, per calendar (one per consultant): busy intervals as
``(start, end)`` Unix seconds. A slot is free for a calendar when the meeting, widened by the
buffer on both sides, overlaps none of that calendar's busy intervals; it is offered when at
least one calendar is free then, and it remembers which ones (``Slot.calendars``, in the order
given), so the booking can pick a consultant.

The rules (``SlotRules``), all documented choices:

- slots lie inside the daily business-hours window (``sdr.schedule_rules.BusinessHours``, in
  its zone; a window crossing midnight belongs to the day it opens; "all day" is 00:00-24:00),
  the whole meeting included;
- only business days: Monday to Friday by default (``weekdays``; Saturday and Sunday are not
  business days, holidays are not known here);
- starts on a grid of the local clock (``grid_minutes``, 30: :00 and :30);
- never sooner than ``min_notice_s`` (2 h) from now: today is offered only while at least one
  slot still starts 2 h or more from now, so "today" quietly drops out late in the day;
- the search covers today and the next ``days_ahead`` business days;
- ``offer`` picks ``count`` (3) slots spread over different days and over morning (before
  12:00 local) / afternoon when the calendars allow, preferring earlier ones;
- ``nearest_free`` gives the free slots closest to a time the lead asked for.

Times are computed with the zone's rules (daylight saving included; São Paulo has none since
2019), via aware datetimes, never by adding 86400.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Optional

from sdr.schedule_rules import BusinessHours

__all__ = [
    "Busy",
    "Interval",
    "Slot",
    "SlotRules",
    "free_calendars",
    "free_slots",
    "nearest_free",
    "offer",
    "search_window",
]

Interval = tuple[float, float]
Busy = Mapping[str, Sequence[Interval]]

MINUTE_S = 60
HOUR_S = 3600
WORKDAYS = frozenset(range(5))  # Monday (0) to Friday (4)
NOON = time(12, 0)
DEFAULT_GRID_MINUTES = 30
DEFAULT_MIN_NOTICE_S = 2 * HOUR_S
DEFAULT_COUNT = 3
FAR_APART_S = 2 * HOUR_S  # two offers on the same day and part of it should be at least this far apart
MAX_SCAN_DAYS = 60  # a guard for "days ahead" when business days are rare


@dataclass(frozen=True)
class SlotRules:
    hours: BusinessHours
    meeting_s: float = 45 * MINUTE_S
    buffer_s: float = 15 * MINUTE_S
    days_ahead: int = 5
    grid_minutes: int = DEFAULT_GRID_MINUTES
    min_notice_s: float = DEFAULT_MIN_NOTICE_S
    weekdays: frozenset[int] = field(default=WORKDAYS)

    def __post_init__(self) -> None:
        if self.meeting_s <= 0 or self.buffer_s < 0 or self.min_notice_s < 0:
            raise ValueError("meeting_s must be positive, buffer_s and min_notice_s not negative")
        if self.days_ahead < 0 or not 1 <= self.grid_minutes <= 24 * 60:
            raise ValueError("days_ahead must be >= 0 and grid_minutes between 1 and 1440")
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError("weekdays must be some of 0 (Monday) to 6 (Sunday)")


@dataclass(frozen=True)
class Slot:
    """A meeting time: ``[start, end)`` in Unix seconds, and the calendars free for all of it."""

    start: float
    end: float
    calendars: tuple[str, ...]

    def local(self, rules: SlotRules) -> datetime:
        return datetime.fromtimestamp(self.start, rules.hours.tz)

    def is_morning(self, rules: SlotRules) -> bool:
        return self.local(rules).time() < NOON


# --------------------------------------------------------------------------- days and windows


def _window(day: date, hours: BusinessHours) -> Interval:
    """The business window that opens on ``day``."""
    if hours.all_day:
        opens, closes = datetime.combine(day, time(0, 0), hours.tz), datetime.combine(
            day + timedelta(days=1), time(0, 0), hours.tz)
    else:
        closing_day = day if hours.opens < hours.closes else day + timedelta(days=1)
        opens = datetime.combine(day, hours.opens, hours.tz)
        closes = datetime.combine(closing_day, hours.closes, hours.tz)
    return opens.timestamp(), closes.timestamp()


def _business_days(now: float, rules: SlotRules, *, first: Optional[date] = None) -> Iterator[date]:
    """Today (or ``first``) when it is a business day, then the next ``days_ahead`` business days."""
    day = first or datetime.fromtimestamp(now, rules.hours.tz).date()
    start = day
    ahead = 0
    while (day - start).days <= MAX_SCAN_DAYS:
        if day.weekday() in rules.weekdays:
            if day > start:
                ahead += 1
                if ahead > rules.days_ahead:
                    return
            yield day
        elif day > start and ahead >= rules.days_ahead:
            return
        day += timedelta(days=1)


def search_window(now: float, rules: SlotRules) -> Interval:
    """The interval to ask freeBusy about: from now to the close of the last day ``offer`` looks at."""
    days = list(_business_days(now, rules))
    return now, (_window(days[-1], rules.hours)[1] if days else now)


def _grid_starts(window: Interval, rules: SlotRules, not_before: float) -> Iterator[float]:
    opens, closes = window
    tz = rules.hours.tz
    local = datetime.fromtimestamp(max(opens, not_before), tz)
    midnight = datetime.combine(local.date(), time(0, 0), tz)
    step = rules.grid_minutes * MINUTE_S
    # Steps of the local clock from midnight (no DST jump falls inside business hours in practice;
    # if one does, the aware arithmetic below still lands on wall-clock grid times).
    elapsed = (local.replace(tzinfo=None) - midnight.replace(tzinfo=None)).total_seconds()
    index = math.ceil(elapsed / step - 1e-9)
    while True:
        wall = midnight.replace(tzinfo=None) + timedelta(seconds=index * step)
        start = wall.replace(tzinfo=tz).timestamp()
        if start + rules.meeting_s > closes:
            return
        if start >= opens and start >= not_before:
            yield start
        index += 1


# --------------------------------------------------------------------------- free or busy


def free_calendars(start: float, busy: Busy, rules: SlotRules) -> tuple[str, ...]:
    """The calendars free for a meeting starting at ``start`` (busy ± buffer), in ``busy``'s order.

    Only the calendars: business hours, grid and notice are ``free_slots``'s."""
    low, high = start - rules.buffer_s, start + rules.meeting_s + rules.buffer_s
    return tuple(calendar for calendar, intervals in busy.items()
                 if not any(b_start < high and b_end > low for b_start, b_end in intervals))


def free_slots(
    busy: Busy, now: float, rules: SlotRules, *, first_day: Optional[date] = None,
) -> list[Slot]:
    """Every free grid slot of today (from ``now`` + notice) and the next ``days_ahead`` business
    days (or from ``first_day`` on), in time order."""
    not_before = now + rules.min_notice_s
    slots = []
    for day in _business_days(now, rules, first=first_day):
        window = _window(day, rules.hours)
        for start in _grid_starts(window, rules, not_before):
            calendars = free_calendars(start, busy, rules)
            if calendars:
                slots.append(Slot(start, start + rules.meeting_s, calendars))
    return slots


def offer(busy: Busy, now: float, rules: SlotRules, count: int = DEFAULT_COUNT) -> list[Slot]:
    """``count`` free slots to offer, spread over days and morning / afternoon, in time order.

    Greedy: the earliest free slot first; then, each time, the slot that brings the most new
    (a day not offered yet, a part of the day not offered yet), then one at least 2 h from
    the others, then the earliest."""
    return _spread(free_slots(busy, now, rules), rules, count)


def _spread(candidates: Sequence[Slot], rules: SlotRules, count: int) -> list[Slot]:
    picked: list[Slot] = []
    days: set[date] = set()
    parts: set[bool] = set()
    remaining = list(candidates)
    while remaining and len(picked) < count:
        def score(slot: Slot) -> tuple[int, int, float]:
            local = slot.local(rules)
            novelty = (local.date() not in days) + (slot.is_morning(rules) not in parts)
            far = all(abs(slot.start - other.start) >= FAR_APART_S for other in picked)
            return novelty, int(far), -slot.start
        best = max(remaining, key=score)
        picked.append(best)
        days.add(best.local(rules).date())
        parts.add(best.is_morning(rules))
        remaining.remove(best)
    return sorted(picked, key=lambda slot: slot.start)


def nearest_free(
    wanted_start: float, busy: Busy, now: float, rules: SlotRules, count: int = DEFAULT_COUNT,
) -> list[Slot]:
    """The ``count`` free slots closest to ``wanted_start`` (before or after; a tie goes to the
    earlier), in time order. Looks from the day before the wanted one to ``days_ahead`` business
    days after it, never sooner than now + notice. A wanted time that is itself free comes back
    as one of them (check with ``free_calendars`` first to tell)."""
    wanted_day = datetime.fromtimestamp(wanted_start, rules.hours.tz).date()
    today = datetime.fromtimestamp(now, rules.hours.tz).date()
    first = max(today, wanted_day - timedelta(days=1))
    candidates = free_slots(busy, now, rules, first_day=first)
    nearest = sorted(candidates, key=lambda slot: (abs(slot.start - wanted_start), slot.start))[:count]
    return sorted(nearest, key=lambda slot: slot.start)
