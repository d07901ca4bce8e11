"""Publishes lead events (qualified, hot, handoff, opt-out) to the CRM and webhooks outbox.

The action only appends to the outbox in Redis, a millisecond; Kommo and the webhooks are
reached by the Rasa server's worker (crm.worker), so an outage of theirs never slows or
breaks the conversation. Off when neither Kommo nor a webhook URL is configured.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Mapping, Optional

from rasa_sdk import Tracker
from redis.exceptions import RedisError

from crm.events import LeadEvent, LeadEventType
from crm.outbox import LeadOutbox
from crm.settings import LeadSyncSettings
from observability import metrics
from observability.privacy import mask_phone
from sdr.env import ConfigError
from sdr.redis_settings import RedisSettings

__all__ = ["publish_lead_event", "turn_anchor"]

logger = logging.getLogger(__name__)


def turn_anchor(events: Any) -> str:
    """What identifies the turn an event comes from: the latest user message's timestamp, the
    same however often Rasa retries the action."""
    for event in reversed(list(events or [])):
        if isinstance(event, Mapping) and event.get("event") == "user":
            return repr(event.get("timestamp"))
    return "no-user-message"


async def publish_lead_event(
    event_type: LeadEventType, tracker: Tracker, slots: Mapping[str, Any], *, summary: str = "",
) -> Optional[bool]:
    """True when queued, False when it was queued before, None when off or Redis failed."""
    try:
        settings = LeadSyncSettings.from_env()
        redis_settings = RedisSettings.from_env()
    except ConfigError as error:
        logger.error("leadsync.not_published type=%s error=%s", event_type.value, error)
        return None
    if not settings.enabled:
        return None
    event = LeadEvent.create(
        event_type, tracker.sender_id, slots, anchor=turn_anchor(tracker.events),
        occurred_at=time.time(), summary=summary,
    )
    client = redis_settings.async_client()
    try:
        queued = await LeadOutbox(client, redis_settings.key_prefix).publish(event, settings.targets)
    except (RedisError, OSError) as error:
        logger.error("leadsync.not_published type=%s conversation=%s error=%s",
                     event.type, mask_phone(tracker.sender_id), type(error).__name__)
        return None
    finally:
        await client.close()
    if queued:
        metrics.LEAD_EVENTS.labels(type=event.type).inc()
    logger.info("leadsync.published type=%s event=%s conversation=%s new=%s",
                event.type, event.id, mask_phone(tracker.sender_id), queued)
    return queued
