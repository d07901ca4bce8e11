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
from sdr.schedule_rules import BusinessHours, ScheduleConfigError

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
        )


def _window_minutes(hours: BusinessHours) -> int:
    opens = hours.opens.hour * 60 + hours.opens.minute
    closes = hours.closes.hour * 60 + hours.closes.minute
    return (closes - opens) % (24 * 60)
