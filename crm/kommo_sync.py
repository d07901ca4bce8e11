"""One lead event into Kommo: the contact and lead created once, then updated; a note; a task.

Idempotent by construction, because the outbox delivers at least once:

- the lead and contact ids are kept (``KommoLinks``) the moment Kommo gives them, and reused;
- without kept ids (first event, or a crash between Kommo's answer and the keeping), the
  contact is looked up by phone and its open lead in our pipeline is reused;
- the note and the task of an event are marked done per event id, so a retry after a partial
  success does not write them twice.

Kommo's errors become ``DeliveryError``: rate limits and outages are retried (Retry-After
honoured); a request Kommo refuses as invalid (a field or stage id the account does not have)
goes to the dead letter at once, since only a corrected mapping can fix it.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Dict, Optional, Tuple

from crm.delivery import DeliveryError
from crm.events import LeadEvent, LeadEventType
from crm.kommo_client import (
    KommoAuthError,
    KommoClient,
    KommoError,
    KommoRateLimited,
)
from crm.kommo_links import KommoLinks
from crm.kommo_mapping import LOST_STATUS_ID, WON_STATUS_ID, KommoMapping
from crm.kommo_payloads import (
    complex_lead_body,
    contact_update_body,
    lead_update_body,
    meeting_task_body,
    new_lead_body,
    note_text,
    task_body,
)
from crm.kommo_settings import KommoSettings
from crm.phones import search_term
from crm.rate_limit import RedisRateLimiter
from observability.privacy import mask_phone
from sdr.schedule_rules import BusinessHours

__all__ = ["EVENT_HEADLINES", "TASK_EVENTS", "UPDATE_ONLY_EVENTS", "KommoSync", "task_deadline"]

logger = logging.getLogger(__name__)

# What the salesperson reads first in the note of each event (pt-BR).
EVENT_HEADLINES = {
    LeadEventType.QUALIFIED.value: "✅ Lead qualificado pela assistente do WhatsApp.",
    LeadEventType.HOT.value: "🔥 Lead QUENTE: fale com ele o quanto antes.",
    LeadEventType.HANDOFF.value: "🙋 O lead pediu para falar com uma pessoa; a assistente parou de responder.",
    LeadEventType.OPTED_OUT.value: "⛔ O lead pediu para não receber mais mensagens (LGPD): não o contate "
                                   "pelo WhatsApp sem um novo pedido dele.",
    LeadEventType.MEETING_BOOKED.value: "📅 Reunião agendada.",
    LeadEventType.MEETING_CANCELLED.value: "📅 Reunião cancelada.",
}
# Events after which someone of the team must act soon: a task for the responsible user.
TASK_EVENTS = frozenset({LeadEventType.HOT.value, LeadEventType.HANDOFF.value})
# Events that update a lead Kommo has but never create one.
UPDATE_ONLY_EVENTS = frozenset({LeadEventType.OPTED_OUT.value})
STEP_TTL_SECONDS = 30 * 24 * 3600
RATE_KEY = "leadsync:kommo:rate"

LinkedCallback = Callable[[str, Optional[int], Optional[int]], Awaitable[None]]


def task_deadline(now: float, minutes: int, hours: BusinessHours) -> float:
    """``minutes`` of the team's working time from ``now``: a lead that arrives at 22:00 is due
    ``minutes`` after the next opening, not in the middle of the night."""
    start = now if hours.is_open(now) else hours.next_opening(now)
    due = start + minutes * 60
    return due if hours.is_open(due) else hours.next_opening(due) + minutes * 60


def _open_in_pipeline(lead: Dict[str, Any], pipeline_id: Optional[int]) -> bool:
    if lead.get("status_id") in (WON_STATUS_ID, LOST_STATUS_ID) or lead.get("is_deleted"):
        return False
    return pipeline_id is None or lead.get("pipeline_id") == pipeline_id


class KommoSync:
    """The ``kommo`` target of the outbox worker (a ``crm.delivery.Deliver``)."""

    def __init__(
        self, settings: KommoSettings, mapping: KommoMapping, links: KommoLinks, redis: Any, *,
        hours: BusinessHours, on_linked: Optional[LinkedCallback] = None,
        clock: Callable[[], float] = time.time, timeout_seconds: float = 10.0,
    ) -> None:
        assert settings.base_url and settings.access_token, "Kommo is not configured"
        self.settings = settings
        self.mapping = mapping
        self.links = links
        self.hours = hours
        self.on_linked = on_linked
        self.clock = clock
        self.limiter = RedisRateLimiter(redis, f"{links.prefix}:{RATE_KEY}")
        self.timeout_seconds = timeout_seconds

    def client(self) -> KommoClient:
        assert self.settings.base_url and self.settings.access_token
        return KommoClient(self.settings.base_url, self.settings.access_token,
                           timeout_seconds=self.timeout_seconds, throttle=self.limiter.acquire)

    async def __call__(self, event: LeadEvent) -> None:
        try:
            async with self.client() as client:
                await self.sync(client, event)
        except KommoRateLimited as error:
            raise DeliveryError(str(error), retry_after=error.retry_after or 0.0) from None
        except KommoAuthError as error:
            # Retried: the fix (a new token, a paid account) needs no change to the event.
            raise DeliveryError(str(error)) from None
        except KommoError as error:
            # Unavailable is retried; a request refused as invalid needs a corrected mapping.
            raise DeliveryError(str(error), retryable=error.retryable) from None

    async def sync(self, client: KommoClient, event: LeadEvent) -> None:
        lead = {**event.lead, "phone": event.phone, "summary": event.summary}
        lead_id, contact_id = await self._known_or_found(client, event)
        if lead_id is not None and not await self._update(client, event, lead, lead_id, contact_id):
            logger.warning("kommo.lead_gone lead=%d conversation=%s", lead_id, mask_phone(event.conversation_id))
            lead_id = None  # deleted in Kommo: the lead is created again, for the same contact
        if lead_id is None and event.type in UPDATE_ONLY_EVENTS:
            # Someone who said stop and never became a lead is not put into the CRM for it.
            logger.info("kommo.skipped event=%s type=%s reason=not_in_crm conversation=%s",
                        event.id, event.type, mask_phone(event.conversation_id))
            return
        if lead_id is None:
            lead_id, contact_id = await self._create(client, event, lead, contact_id)
        if not await self.links.step_done(event.id, "note"):
            headline = EVENT_HEADLINES.get(event.type, event.type)
            await client.add_lead_note(lead_id, f"{headline}\n\n{note_text(lead)}")
            await self.links.mark_step(event.id, "note", STEP_TTL_SECONDS)
        if event.type in TASK_EVENTS and self.mapping.task is not None \
                and not await self.links.step_done(event.id, "task"):
            due = task_deadline(self.clock(), self.mapping.task.deadline_minutes, self.hours)
            body = task_body(lead_id, lead, self.mapping, complete_till=int(due), request_id=event.id)
            if body is not None:
                await client.add_task(body)
            await self.links.mark_step(event.id, "task", STEP_TTL_SECONDS)
        if event.type == LeadEventType.MEETING_BOOKED.value and not await self.links.step_done(event.id, "task"):
            meeting = meeting_task_body(lead_id, lead, request_id=event.id)
            if meeting is not None:
                await client.add_task(meeting)
            await self.links.mark_step(event.id, "task", STEP_TTL_SECONDS)
        logger.info("kommo.synced event=%s type=%s lead=%d conversation=%s",
                    event.id, event.type, lead_id, mask_phone(event.conversation_id))

    async def _known_or_found(self, client: KommoClient, event: LeadEvent) -> Tuple[Optional[int], Optional[int]]:
        known = await self.links.of_conversation(event.conversation_id)
        if known.lead_id is not None:
            return known.lead_id, known.contact_id
        if event.phone is None:
            return None, known.contact_id
        for contact in await client.find_contacts_by_phone(search_term(event.phone)):
            if not contact.has_phone(event.phone):
                continue  # Kommo's query is a full-text search: a near miss is someone else
            for lead_id in contact.lead_ids:
                found = await client.get_lead(lead_id)
                if found is not None and _open_in_pipeline(found, self.settings.pipeline_id):
                    await self._link(event.conversation_id, lead_id, contact.id)
                    return lead_id, contact.id
            return None, contact.id
        return None, None

    async def _create(
        self, client: KommoClient, event: LeadEvent, lead: Dict[str, Any], contact_id: Optional[int],
    ) -> Tuple[int, Optional[int]]:
        responsible = self.mapping.responsible_for(await self.links.next_responsible())
        options: Dict[str, Any] = dict(pipeline_id=self.settings.pipeline_id, event=event.type,
                                       responsible_user_id=responsible, request_id=event.id)
        if contact_id is None:
            lead_id, contact_id = await client.create_lead_with_contact(
                complex_lead_body(lead, self.mapping, **options))
        else:
            lead_id = await client.create_lead(new_lead_body(lead, self.mapping, contact_id=contact_id, **options))
        await self._link(event.conversation_id, lead_id, contact_id)
        logger.info("kommo.lead_created lead=%d contact=%s conversation=%s",
                    lead_id, contact_id, mask_phone(event.conversation_id))
        return lead_id, contact_id

    async def _update(
        self, client: KommoClient, event: LeadEvent, lead: Dict[str, Any], lead_id: int, contact_id: Optional[int],
    ) -> bool:
        """False when Kommo no longer has the lead."""
        current = await client.get_lead(lead_id)
        if current is None or current.get("is_deleted"):
            return False
        body = lead_update_body(
            lead_id, lead, self.mapping, event=event.type,
            current_status_id=current.get("status_id") if current else None, pipeline_id=self.settings.pipeline_id,
        )
        if body is not None:
            await client.update_lead(body)
        contact = contact_update_body(contact_id, lead, self.mapping) if contact_id is not None else None
        if contact is not None:
            await client.update_contact(contact)
        return True

    async def _link(self, conversation_id: str, lead_id: int, contact_id: Optional[int]) -> None:
        await self.links.link(conversation_id, lead_id=lead_id, contact_id=contact_id)
        if self.on_linked is not None:
            await self.on_linked(conversation_id, lead_id, contact_id)
