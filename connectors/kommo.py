"""Kommo in the Rasa server: the route Kommo posts lead events to, and the lead-events worker.

Register it in credentials.yml as ``connectors.kommo.KommoInput`` (it does nothing until
configured). Two jobs:

- ``POST /webhooks/kommo/<KOMMO_WEBHOOK_SECRET>``: Kommo's form-encoded lead events (it cannot
  sign them, so the secret is in the path, compared in constant time; any other path is 404).
  A lead moved to won (142) or lost (143) sets ``lead_status`` to ``ganho`` / ``perdido`` and
  ends its follow-ups; a lead moved to a stage of ``stages.in_service`` in the mapping pauses
  the assistant for that conversation, as an operator's take-over does.
- The worker that carries the lead-events outbox (published by the actions) to Kommo and to
  ``LEAD_WEBHOOK_URLS`` (crm.worker); each server process runs one, sharing the queues.
"""
from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, Awaitable, Callable, Dict, List, Optional
from urllib.parse import urlsplit

import httpx
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.shared.core.events import ActiveLoop, ConversationPaused, Event, SlotSet
from redis.exceptions import RedisError
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.followup_store import FollowUpStore
from crm.delivery import Deliver
from crm.kommo_links import KommoLinks
from crm.kommo_mapping import LOST_STATUS_ID, WON_STATUS_ID, KommoMapping
from crm.kommo_settings import KommoSettings
from crm.kommo_sync import KommoSync
from crm.kommo_webhooks import KommoWebhookError, LeadStageEvent, parse_webhook
from crm.outbox import LeadOutbox
from crm.settings import KOMMO_TARGET, LeadSyncSettings, webhook_target
from crm.webhooks import WebhookSender
from crm.worker import LeadSyncWorker
from observability.privacy import mask_phone
from sdr.redis_settings import RedisSettings
from sdr.schedule_rules import BusinessHours
from sdr.signing import secrets_match
from sdr.vocabulary import LeadStatus
from whatsapp.settings import load_settings
from whatsapp.store import ChannelStore

__all__ = ["KommoInput", "status_events"]

logger = logging.getLogger(__name__)

CHANNEL_NAME = "kommo"
# Kommo gives a webhook a couple of seconds; its bodies are a few KB.
MAX_BODY_BYTES = 256 * 1024
SECRET_ENV = "KOMMO_WEBHOOK_SECRET"
# A status the CRM set is final for the assistant: a later stage move does not undo an opt-out.
KEEP_STATUSES = frozenset({LeadStatus.OPTED_OUT.value})
KOMMO_DOMAINS = (".kommo.com", ".amocrm.com", ".amocrm.ru")
# "status": the stage changed; "update": anything changed (the stage included).
STAGE_KINDS = frozenset({"status", "update"})


def status_events(
    change: LeadStageEvent, mapping: KommoMapping, current_status: Optional[str]
) -> List[Event]:
    """The tracker events one Kommo stage move means for the conversation (pure)."""
    if change.status_id is None or current_status in KEEP_STATUSES:
        return []
    if change.status_id == WON_STATUS_ID:
        wanted = LeadStatus.WON.value
    elif change.status_id == LOST_STATUS_ID:
        wanted = LeadStatus.LOST.value
    elif mapping.is_in_service(change.status_id):
        if current_status == LeadStatus.HUMAN.value:
            return []
        return [SlotSet("lead_status", LeadStatus.HUMAN.value), ActiveLoop(None), ConversationPaused()]
    else:
        return []
    return [] if current_status == wanted else [SlotSet("lead_status", wanted), ActiveLoop(None)]


class KommoInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        return cls()

    def __init__(self) -> None:
        self.sync_settings = LeadSyncSettings.from_env()
        self.kommo = KommoSettings.from_env()
        self.redis_settings = RedisSettings.from_env()
        self.webhook_secret = os.environ.get(SECRET_ENV) or None
        self.mapping: Optional[KommoMapping] = self.kommo.mapping() if self.kommo.enabled else None
        evolution = load_settings()
        self.hours = BusinessHours.parse(evolution.business_hours, evolution.tz_name)
        # The channel's own keys (take-over holds, follow-up plans) live under `<prefix>:evo`.
        self.channel_prefix = evolution.redis_prefix
        self._app: Any = None
        self._tasks: List[asyncio.Task[None]] = []
        self._redis: Any = None
        self._http: Optional[httpx.AsyncClient] = None

    # --- the conversation's tracker --------------------------------------------------------

    async def apply(self, conversation_id: str, events: Callable[[Optional[str]], List[Event]]) -> bool:
        """Appends what ``events(current lead_status)`` returns, under the conversation's lock;
        False when there is no such conversation."""
        agent = self._app.ctx.agent
        async with agent.lock_store.lock(conversation_id):
            tracker = await agent.tracker_store.retrieve(conversation_id)
            if tracker is None:
                return False
            new = events(tracker.get_slot("lead_status"))
            for event in new:
                tracker.update(event)
            if new:
                await agent.tracker_store.save(tracker)
        return True

    async def linked(self, conversation_id: str, lead_id: Optional[int], contact_id: Optional[int]) -> None:
        """Mirrors Kommo's ids into the slots (crm_lead_id, crm_contact_id)."""
        def ids(_: Optional[str]) -> List[Event]:
            return [SlotSet(name, str(value)) for name, value in
                    (("crm_lead_id", lead_id), ("crm_contact_id", contact_id)) if value is not None]
        try:
            await self.apply(conversation_id, ids)
        except Exception as error:  # noqa: BLE001 - the ids stay in KommoLinks; the slots are a mirror
            logger.warning("kommo.slots_not_written conversation=%s error=%s",
                           mask_phone(conversation_id), type(error).__name__)

    # --- Kommo's webhook ---------------------------------------------------------------

    async def on_stage_move(self, change: LeadStageEvent) -> str:
        assert self.mapping is not None
        links = KommoLinks(self._redis, self.redis_settings.key_prefix)
        conversation_id = await links.conversation_of_lead(change.lead_id)
        if conversation_id is None:
            return "unknown_lead"
        mapping = self.mapping
        changed: List[Event] = []

        def decide(status: Optional[str]) -> List[Event]:
            changed.extend(status_events(change, mapping, status))
            return changed

        if not await self.apply(conversation_id, decide):
            return "no_conversation"
        if any(isinstance(event, ConversationPaused) for event in changed):
            await ChannelStore(self._redis, self.channel_prefix).hold_for_human(conversation_id)
        new_status = next((e.value for e in changed if isinstance(e, SlotSet) and e.key == "lead_status"), None)
        if new_status in (LeadStatus.WON.value, LeadStatus.LOST.value, LeadStatus.HUMAN.value):
            await FollowUpStore(self._redis, self.channel_prefix).cancel(conversation_id)
        logger.info("kommo.stage_moved lead=%d status=%s conversation=%s lead_status=%s",
                    change.lead_id, change.status_id, mask_phone(conversation_id), new_status or "unchanged")
        return "applied" if changed else "unchanged"

    def same_account(self, subdomain: Optional[str]) -> bool:
        """A webhook naming another account (a copied secret) is refused; one naming none is not."""
        host = (urlsplit(self.kommo.base_url or "").hostname or "").lower()
        if subdomain is None or not host.endswith(KOMMO_DOMAINS):
            return True  # a self-hosted proxy or a test server: nothing to compare with
        return host.split(".")[0] == subdomain.lower()

    # --- routes and worker -------------------------------------------------------------

    def _deliverers(self) -> Dict[str, Deliver]:
        assert self._http is not None
        deliverers: Dict[str, Deliver] = {}
        secret = self.sync_settings.webhook_secret or ""
        for url in self.sync_settings.webhook_urls:
            deliverers[webhook_target(url)] = WebhookSender(self._http, url, secret)
        if self.kommo.enabled and self.mapping is not None:
            deliverers[KOMMO_TARGET] = KommoSync(
                self.kommo, self.mapping, KommoLinks(self._redis, self.redis_settings.key_prefix),
                self._redis, hours=self.hours, on_linked=self.linked,
                timeout_seconds=self.sync_settings.http_timeout_seconds,
            )
        return deliverers

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        routes = Blueprint("kommo_webhook", __name__)

        @routes.listener("after_server_start")
        async def start(app: Any, loop: Any) -> None:
            self._app = app
            self._redis = self.redis_settings.async_client()
            self._http = httpx.AsyncClient(timeout=self.sync_settings.http_timeout_seconds)
            if self.sync_settings.enabled:
                outbox = LeadOutbox(self._redis, self.redis_settings.key_prefix)
                worker = LeadSyncWorker(outbox, self.sync_settings, self._deliverers())
                self._tasks.append(asyncio.create_task(worker.run()))

        @routes.listener("before_server_stop")
        async def stop(app: Any, loop: Any) -> None:
            for task in self._tasks:
                task.cancel()
            if self._http is not None:
                await self._http.aclose()
            if self._redis is not None:
                await self._redis.close()

        @routes.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok", "kommo": self.kommo.enabled,
                                  "webhooks": len(self.sync_settings.webhook_urls)})

        @routes.route(r"/<secret:[^/]{1,256}>", methods=["POST"])
        async def webhook(request: Request, secret: str) -> HTTPResponse:
            if self.mapping is None or not secrets_match(secret, self.webhook_secret):
                return response.json({"error": "not found"}, status=404)
            if len(request.body or b"") > MAX_BODY_BYTES:
                logger.warning("kommo.webhook_refused reason=too_big bytes=%d", len(request.body))
                return response.json({"error": "body too large"}, status=413)
            try:
                hook = parse_webhook(request.body or b"")
            except KommoWebhookError as error:
                logger.warning("kommo.webhook_refused reason=%s", error)
                return response.json({"error": str(error)}, status=400)
            if not self.same_account(hook.subdomain):
                logger.warning("kommo.webhook_refused reason=other_account")
                return response.json({"error": "webhook of another Kommo account"}, status=400)
            changes = hook.events
            outcomes: Dict[str, int] = {}
            try:
                for change in changes:
                    stage_move = change.kind in STAGE_KINDS and change.status_id is not None
                    outcome = await self.on_stage_move(change) if stage_move else "ignored"
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1
            except (RedisError, OSError) as error:
                logger.error("kommo.webhook_failed error=%s", type(error).__name__)
                return response.json({"error": "try again"}, status=503)  # Kommo retries
            logger.info("kommo.webhook events=%d outcomes=%s", len(changes), outcomes)
            return response.json({"status": "ok", "outcomes": outcomes})

        return routes
