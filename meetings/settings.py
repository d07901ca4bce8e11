"""Where the consultants' calendars are and how meetings are laid out (docs/google-calendar-api.md).

- ``GOOGLE_CALENDAR_CREDENTIALS``: path of the service account's JSON key (Google Cloud console >
  IAM > Service accounts > Keys); each consultant shares their calendar with the account's e-mail
  ("Make changes to events");
- ``GOOGLE_CALENDAR_IDS``: the calendars, comma-separated (a consultant's e-mail for their primary
  calendar, or ``…@group.calendar.google.com``); at most 50, freeBusy's limit;
- ``GOOGLE_CALENDAR_BASE_URL`` (https://www.googleapis.com), ``GOOGLE_OAUTH_TOKEN_URL``
  (https://oauth2.googleapis.com/token): only tests point them elsewhere;
- ``MEETING_MINUTES`` (45), ``MEETING_BUFFER_MINUTES`` (15, kept free before and after),
  ``MEETING_DAYS_AHEAD`` (5 business days), ``MEETING_KINDS`` ("video,visita");
- ``MEETING_CONSULTANTS``: optional first names, ``ana@empresa.com=Ana,bruno@empresa.com=Bruno``
  (the lead reads "com a Ana"); without one, the name comes from the calendar id ("ana.souza@…" → Ana);
- ``MEETING_REMINDERS`` ("24h,2h" before the meeting), ``MEETING_SYNC_SECONDS`` (120: how often
  booked events are checked in the calendars, to notice one moved or deleted there),
  ``MEETING_RETRY_SECONDS`` (300: a request the calendar could not take is tried again);
- ``REVIEW_PUBLIC_URL``: the review UI's address, for the link in the calendar event (optional);
- ``BUSINESS_HOURS`` (09:00-20:00) in ``TZ_NAME`` (America/Sao_Paulo), shared with follow-ups.

Booking is optional: without both credentials and ids it is off (``enabled`` is False). Only one
of the two set, or a value that is set but wrong, is a ``ConfigError`` naming the variable, so a
process refuses to start on a typo.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

from meetings.slots import SlotRules
from sdr.env import ConfigError, number
from sdr.schedule_rules import BusinessHours, ScheduleConfigError, parse_delays

__all__ = ["KNOWN_KINDS", "CalendarSettings"]

DEFAULT_BASE_URL = "https://www.googleapis.com"
DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"
DEFAULT_BUSINESS_HOURS = "09:00-20:00"
DEFAULT_TZ_NAME = "America/Sao_Paulo"
KNOWN_KINDS = ("video", "visita")  # a video call, or a visit to the lead's roof
MAX_CALENDARS = 50  # freeBusy answers at most 50 calendars per query
MAX_MEETING_MINUTES = 8 * 60
MAX_DAYS_AHEAD = 30
SECONDS_PER_MINUTE = 60
DEFAULT_REMINDERS_S = (24 * 3600.0, 2 * 3600.0)  # the day before, and two hours before


def _url(environ: Mapping[str, str], name: str, default: str) -> str:
    value = (environ.get(name) or "").strip() or default
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _whole(environ: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    value = int(number(environ, name, default, minimum=minimum, integer=True))
    if value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, got {environ.get(name)!r}")
    return value


def _calendar_ids(environ: Mapping[str, str]) -> tuple[str, ...]:
    raw = environ.get("GOOGLE_CALENDAR_IDS") or ""
    ids = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    bad = [calendar for calendar in ids if any(c.isspace() for c in calendar) or "/" in calendar]
    if bad:
        raise ConfigError(f"GOOGLE_CALENDAR_IDS: {bad[0]!r} is not a calendar id like name@example.com")
    if len(ids) > MAX_CALENDARS:
        raise ConfigError(f"GOOGLE_CALENDAR_IDS: at most {MAX_CALENDARS} calendars, got {len(ids)}")
    return ids


def _kinds(environ: Mapping[str, str]) -> tuple[str, ...]:
    raw = environ.get("MEETING_KINDS")
    if raw is None or not raw.strip():
        return KNOWN_KINDS
    kinds = tuple(dict.fromkeys(part.strip().lower() for part in raw.split(",") if part.strip()))
    unknown = [kind for kind in kinds if kind not in KNOWN_KINDS]
    if unknown or not kinds:
        raise ConfigError(f"MEETING_KINDS must be some of {','.join(KNOWN_KINDS)}, got {raw!r}")
    return kinds


def _names(environ: Mapping[str, str], ids: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    raw = environ.get("MEETING_CONSULTANTS") or ""
    pairs = []
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        calendar, _, name = part.partition("=")
        if not name.strip() or calendar.strip() not in ids:
            raise ConfigError(
                f"MEETING_CONSULTANTS: {part!r} is not calendar=Name for a calendar in GOOGLE_CALENDAR_IDS")
        pairs.append((calendar.strip(), name.strip()))
    return tuple(pairs)


def _reminders(environ: Mapping[str, str]) -> tuple[float, ...]:
    raw = environ.get("MEETING_REMINDERS")
    if raw is None:
        return DEFAULT_REMINDERS_S
    try:
        return tuple(sorted(set(parse_delays(raw)), reverse=True))
    except ScheduleConfigError as error:
        raise ConfigError(f"MEETING_REMINDERS: {error}") from error


def _hours(environ: Mapping[str, str]) -> BusinessHours:
    text = (environ.get("BUSINESS_HOURS") or "").strip() or DEFAULT_BUSINESS_HOURS
    tz_name = (environ.get("TZ_NAME") or "").strip() or DEFAULT_TZ_NAME
    try:
        hours = BusinessHours.parse(text, tz_name)
    except ScheduleConfigError as error:
        name = "TZ_NAME" if "time zone" in str(error) else "BUSINESS_HOURS"
        raise ConfigError(f"{name}: {error}") from error
    return hours


@dataclass(frozen=True)
class CalendarSettings:
    credentials_file: Optional[Path] = None
    calendar_ids: tuple[str, ...] = ()
    base_url: str = DEFAULT_BASE_URL
    token_url: str = DEFAULT_TOKEN_URL
    meeting_minutes: int = 45
    buffer_minutes: int = 15
    days_ahead: int = 5
    kinds: tuple[str, ...] = KNOWN_KINDS
    hours: BusinessHours = field(default_factory=lambda: BusinessHours.parse(DEFAULT_BUSINESS_HOURS, DEFAULT_TZ_NAME))
    consultant_names: tuple[tuple[str, str], ...] = ()
    reminders_s: tuple[float, ...] = DEFAULT_REMINDERS_S
    sync_seconds: float = 120.0
    retry_seconds: float = 300.0
    review_public_url: str = ""

    def consultant_name(self, calendar_id: str) -> str:
        """The consultant's first name, as the lead reads it."""
        named = dict(self.consultant_names).get(calendar_id)
        if named:
            return named.split()[0]
        local = calendar_id.split("@")[0]
        first = local.replace("_", ".").replace("-", ".").split(".")[0]
        return first.capitalize() if first.isalpha() else "nosso consultor"

    @property
    def enabled(self) -> bool:
        return bool(self.credentials_file and self.calendar_ids)

    def rules(self) -> SlotRules:
        """The slot rules these settings describe (``meetings.slots``)."""
        return SlotRules(
            hours=self.hours, meeting_s=self.meeting_minutes * SECONDS_PER_MINUTE,
            buffer_s=self.buffer_minutes * SECONDS_PER_MINUTE, days_ahead=self.days_ahead,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> CalendarSettings:
        raw_path = (environ.get("GOOGLE_CALENDAR_CREDENTIALS") or "").strip()
        credentials = Path(raw_path).expanduser() if raw_path else None
        if credentials is not None and not credentials.is_file():
            raise ConfigError(
                f"GOOGLE_CALENDAR_CREDENTIALS: no such file {raw_path!r} (the service account's JSON key)")
        ids = _calendar_ids(environ)
        if credentials is not None and not ids:
            raise ConfigError("GOOGLE_CALENDAR_IDS is empty but GOOGLE_CALENDAR_CREDENTIALS is set: "
                              "set both to book meetings, or neither")
        if ids and credentials is None:
            raise ConfigError("GOOGLE_CALENDAR_CREDENTIALS is empty but GOOGLE_CALENDAR_IDS is set: "
                              "set both to book meetings, or neither")
        hours = _hours(environ)
        meeting = _whole(environ, "MEETING_MINUTES", 45, 5, MAX_MEETING_MINUTES)
        if not hours.all_day and _window_minutes(hours) < meeting:
            raise ConfigError(f"MEETING_MINUTES ({meeting}) does not fit in BUSINESS_HOURS")
        return cls(
            credentials_file=credentials,
            calendar_ids=ids,
            base_url=_url(environ, "GOOGLE_CALENDAR_BASE_URL", DEFAULT_BASE_URL),
            token_url=_url(environ, "GOOGLE_OAUTH_TOKEN_URL", DEFAULT_TOKEN_URL),
            meeting_minutes=meeting,
            buffer_minutes=_whole(environ, "MEETING_BUFFER_MINUTES", 15, 0, MAX_MEETING_MINUTES),
            days_ahead=_whole(environ, "MEETING_DAYS_AHEAD", 5, 1, MAX_DAYS_AHEAD),
            kinds=_kinds(environ),
            hours=hours,
            consultant_names=_names(environ, ids),
            reminders_s=_reminders(environ),
            sync_seconds=float(_whole(environ, "MEETING_SYNC_SECONDS", 120, 5, 24 * 3600)),
            retry_seconds=float(_whole(environ, "MEETING_RETRY_SECONDS", 300, 1, 24 * 3600)),
            review_public_url=(environ.get("REVIEW_PUBLIC_URL") or "").strip().rstrip("/"),
        )


def _window_minutes(hours: BusinessHours) -> int:
    opens = hours.opens.hour * 60 + hours.opens.minute
    closes = hours.closes.hour * 60 + hours.closes.minute
    return (closes - opens) % (24 * 60)
