"""One booking session for an action: the calendar settings, a Google client, the Redis store.

Settings are read at each call (as the lead-event publisher does), so a deployment that turns
booking on or off needs no code change; with booking off, ``open_booker`` yields None and the
assistant says a consultant will write, as before issue 19.
"""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Dict, Optional

from meetings.booking import Booker, BookingRequest
from meetings.google_calendar import CalendarAuthError, GoogleCalendarClient, ServiceAccount
from meetings.settings import CalendarSettings
from meetings.store import MeetingStore
from sdr.conversation_refs import load_ref_key, review_path
from sdr.env import ConfigError
from sdr.formatting import format_brl
from sdr.redis_settings import RedisSettings

__all__ = ["booking_request", "calendar_settings", "lead_summary", "open_booker"]

logger = logging.getLogger(__name__)


def calendar_settings() -> Optional[CalendarSettings]:
    """The settings when booking is on; None when off or misconfigured (logged)."""
    try:
        settings = CalendarSettings.from_env()
    except ConfigError as error:
        logger.error("meeting.off error=%s", error)
        return None
    return settings if settings.enabled else None


@asynccontextmanager
async def open_booker(conversation_id: str) -> AsyncIterator[Optional[Booker]]:
    settings = calendar_settings()
    if settings is None or settings.credentials_file is None:
        yield None
        return
    try:
        account = ServiceAccount.from_file(settings.credentials_file)
    except CalendarAuthError as error:
        logger.error("meeting.off error=%s", error)
        yield None
        return
    redis_settings = RedisSettings.from_env()
    redis = redis_settings.async_client()
    try:
        path = review_path(await load_ref_key(redis, redis_settings.key_prefix), conversation_id)
        async with GoogleCalendarClient(account, base_url=settings.base_url, token_url=settings.token_url) as client:
            yield Booker(settings, client, MeetingStore(redis, redis_settings.key_prefix), review_path=path)
    finally:
        await redis.close()


def lead_summary(slots: Dict[str, Any]) -> str:
    """One line a consultant reads before the meeting."""
    parts = []
    bill = slots.get("monthly_bill_brl")
    if isinstance(bill, (int, float)):
        parts.append(f"conta de {format_brl(float(bill))}/mês")
    place = "/".join(str(slots[name]) for name in ("city", "state") if slots.get(name))
    if place:
        parts.append(place)
    if slots.get("property_type"):
        parts.append(str(slots["property_type"]))
    if slots.get("lead_class"):
        score = slots.get("lead_score")
        parts.append(f"lead {slots['lead_class']}" + (f" ({score:.0f} pts)" if isinstance(score, (int, float)) else ""))
    return "Lead: " + ", ".join(parts) if parts else ""


def booking_request(conversation_id: str, slots: Dict[str, Any], phone: str) -> BookingRequest:
    return BookingRequest(
        conversation_id=conversation_id,
        kind=str(slots.get("meeting_kind") or ""),
        address=str(slots.get("meeting_address") or ""),
        lead_name=str(slots.get("customer_name") or ""),
        summary=lead_summary(slots),
        phone=phone,
    )
