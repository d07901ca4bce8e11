"""When proactive messages may go out: pure time arithmetic, no I/O.

Follow-up cadences (`FOLLOWUP_DELAYS`), business hours (`BUSINESS_HOURS` in
`TZ_NAME`) and the weekly report's slot (`WEEKLY_REPORT_AT`) are parsed here
and answered for any instant, so the scheduler and its tests share one truth.
Instants are Unix timestamps (float seconds); calendars use the zone's rules,
daylight saving included.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$", re.IGNORECASE)
CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
WEEKDAYS = {
    "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
    "seg": 0, "ter": 1, "qua": 2, "qui": 3, "sex": 4, "sab": 5, "sáb": 5, "dom": 6,
}


class ScheduleConfigError(ValueError):
    """A schedule setting that cannot be understood: the server refuses to start."""


def parse_duration(text: str) -> float:
    """`30m` → 1800.0; units s, m, h, d."""
    match = DURATION.match(text or "")
    if not match:
        raise ScheduleConfigError(f"{text!r} is not a duration like 30s, 30m, 24h or 3d")
    seconds = float(match.group(1)) * UNIT_SECONDS[match.group(2).lower()]
    if seconds <= 0:
        raise ScheduleConfigError(f"{text!r}: a delay must be longer than zero")
    return seconds


def parse_delays(text: str) -> Tuple[float, ...]:
    """`30m,24h,72h` → (1800.0, 86400.0, 259200.0). An empty value turns follow-ups off."""
    parts = [part for part in (text or "").split(",") if part.strip()]
    return tuple(parse_duration(part) for part in parts)


def parse_clock(text: str) -> time:
    match = CLOCK.match(text or "")
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ScheduleConfigError(f"{text!r} is not a time of day like 09:00")
    return time(int(match.group(1)), int(match.group(2)))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ScheduleConfigError(f"{name!r} is not a time zone like America/Sao_Paulo") from error


@dataclass(frozen=True)
class BusinessHours:
    """A daily window in a time zone, e.g. 09:00-20:00 in America/Sao_Paulo.

    The window may cross midnight (22:00-06:00); equal ends mean all day.
    """

    opens: time
    closes: time
    tz: ZoneInfo

    @classmethod
    def parse(cls, text: str, tz_name: str) -> BusinessHours:
        bounds = (text or "").split("-")
        if len(bounds) != 2:
            raise ScheduleConfigError(f"{text!r} is not a window like 09:00-20:00")
        return cls(parse_clock(bounds[0]), parse_clock(bounds[1]), zone(tz_name))

    @property
    def all_day(self) -> bool:
        return self.opens == self.closes

    def is_open(self, instant: float) -> bool:
        if self.all_day:
            return True
        now = datetime.fromtimestamp(instant, self.tz).time()
        if self.opens < self.closes:
            return self.opens <= now < self.closes
        return now >= self.opens or now < self.closes

    def next_opening(self, instant: float) -> float:
        """`instant` itself when the window is open, else the next time it opens."""
        if self.is_open(instant):
            return instant
        local = datetime.fromtimestamp(instant, self.tz)
        for days_ahead in range(0, 3):
            day = (local + timedelta(days=days_ahead)).date()
            opening = datetime.combine(day, self.opens, tzinfo=self.tz).timestamp()
            if opening > instant:
                return opening
        raise AssertionError("a daily window opens within two days")  # pragma: no cover


@dataclass(frozen=True)
class WeeklySlot:
    """A weekly moment such as `mon 09:00` in a time zone (the weekly report)."""

    weekday: int
    at: time
    tz: ZoneInfo

    @classmethod
    def parse(cls, text: str, tz_name: str) -> WeeklySlot:
        parts = (text or "").split()
        if len(parts) != 2 or parts[0].lower()[:3] not in WEEKDAYS:
            raise ScheduleConfigError(f"{text!r} is not a weekly slot like 'mon 09:00'")
        return cls(WEEKDAYS[parts[0].lower()[:3]], parse_clock(parts[1]), zone(tz_name))

    def latest_at_or_before(self, instant: float) -> float:
        """The most recent occurrence of the slot not later than `instant`."""
        local = datetime.fromtimestamp(instant, self.tz)
        back = (local.weekday() - self.weekday) % 7
        candidate = datetime.combine((local - timedelta(days=back)).date(), self.at, tzinfo=self.tz)
        if candidate.timestamp() > instant:
            candidate = datetime.combine(
                (local - timedelta(days=back + 7)).date(), self.at, tzinfo=self.tz
            )
        return candidate.timestamp()

    def label(self, occurrence: float) -> str:
        """A name for one occurrence (its local date), used to run it exactly once."""
        return datetime.fromtimestamp(occurrence, self.tz).strftime("%Y-%m-%d")


def local_date(instant: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(instant, tz).strftime("%d/%m/%Y")

