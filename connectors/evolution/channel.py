"""Rasa's input channel for WhatsApp through Evolution API v2: the webhook and its routes.

The webhook only authenticates, validates, deduplicates and records a message in Redis, then
answers: it never waits for NLU, actions or Evolution. The turn runs later in the worker
(worker.py); replies go out through the output channel (output.py).
"""
from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import logging
import time
from dataclasses import asdict
from typing import Any, Awaitable, Callable, Dict, List, Optional, TypeVar

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from redis.exceptions import RedisError
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic_cors.core import SANIC_CORS_EVALUATED

from connectors.evolution.health import detailed_health, missing, readiness
from connectors.evolution.output import CHANNEL_NAME, EvolutionOutput, drain_outbox
from connectors.evolution.worker import TurnWorker
from connectors.followup_store import FollowUpStore
from connectors.followups import ProactiveScheduler, ProactiveSettings
from connectors.meetings import MeetingScheduler
from observability import metrics
from observability.errors import init_error_reporting
from observability.logs import (
    REQUEST_ID_HEADER,
    adopt_process_logging,
    get_request_id,
    request_context,
    request_id_from,
)
from observability.privacy import mask_phone
from sdr.clock import Clock
from sdr.redis_settings import RedisSettings
from sdr.signing import secrets_match
from whatsapp.client import EvolutionClient
from whatsapp.identity import pairs_in_contacts
from whatsapp.payload import (
    Envelope,
    Ignored,
    InboundMessage,
    OwnMessage,
    PayloadError,
    inline_base64,
    parse_connection_update,
    parse_receipt,
    parse_webhook_body,
)
from whatsapp.settings import EvolutionSettings, load_settings
from whatsapp.store import Admission, ChannelStore
from whatsapp.webhook_auth import AuthError, verify_webhook

__all__ = ["EvolutionInput", "inbox_record", "webhook_outcome"]

_Contact = TypeVar("_Contact", InboundMessage, OwnMessage)

logger = logging.getLogger(__name__)



def _ok(status: str, **extra: Any) -> HTTPResponse:
    return response.json({"status": status, **extra}, status=200)


def _bearer_token(request: Request) -> Optional[str]:
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _error(status_code: int, reason: str) -> HTTPResponse:
    return response.json({"status": "error", "reason": reason}, status=status_code)


def inbox_record(
    message: InboundMessage, instance: Optional[str], received_at: float, request_id: Optional[str] = None
) -> Dict[str, Any]:
    """What the inbox keeps of a message: everything but media bytes."""
    # Shallow: asdict() deep-copies every field and costs more than the rest of
    # the webhook's parsing; only the media reference is a nested dataclass.
    record = dict(vars(message))
    if message.media is not None:
        record["media"] = asdict(message.media)
    if message.referral is not None:
        record["referral"] = message.referral.as_dict()
    record.update(instance=instance, received_at=received_at, request_id=request_id)
    return record


def webhook_outcome(answer: HTTPResponse) -> str:
    """The metric label for what the webhook did: the answer's status ("accepted",
    "duplicate", "ignored", ...) or, for a refusal, its HTTP code ("http_401")."""
    if answer.status != 200:
        return f"http_{answer.status}"
    try:
        status = json.loads(answer.body or b"{}").get("status")
    except (ValueError, AttributeError):
        status = None
    return status if isinstance(status, str) else "ok"


class EvolutionInput(InputChannel):
    """Receives Evolution's webhooks (see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> EvolutionInput:
        adopt_process_logging()  # LOG_FORMAT=json: JSON lines from here on (see observability.logs)
        init_error_reporting("rasa")
        return cls(load_settings(credentials))

    def __init__(self, settings: EvolutionSettings) -> None:
        if not settings.api_key:
            raise ValueError("The Evolution channel needs EVOLUTION_API_KEY to send replies.")
        if not settings.auth_configured:
            if not settings.allow_unauthenticated:
                raise ValueError(
                    "The Evolution channel needs webhook authentication: set EVOLUTION_WEBHOOK_TOKEN, "
                    "EVOLUTION_WEBHOOK_JWT_KEY or WEBHOOK_HMAC_SECRET (or, for local trials only, "
                    "allow_unauthenticated: true in credentials.yml)."
                )
            logger.warning("evolution.unauthenticated: webhook accepts unauthenticated calls")
        self.settings = settings
        self.proactive_settings = ProactiveSettings.from_channel(settings)
        self.clock = Clock.from_env()
        self._scheduler: Optional[ProactiveScheduler] = None
        self.connection: Dict[str, Any] = {"state": None, "status_reason": None, "at": None}
        self.started_at = time.time()
        self._store: Optional[ChannelStore] = None
        self._client: Optional[EvolutionClient] = None
        self._on_new_message: Optional[Callable[[UserMessage], Awaitable[Any]]] = None
        self._worker: Optional[TurnWorker] = None
        self._app: Any = None
        self._tasks: List[asyncio.Task[None]] = []

    # --- resources, created inside the server's event loop ----------------------

    @property
    def store(self) -> ChannelStore:
        if self._store is None:
            s = self.settings
            self._store = ChannelStore.connect(
                host=s.redis_host, port=s.redis_port, db=s.redis_db,
                password=s.redis_password, prefix=s.redis_prefix,
            )
        return self._store

    @property
    def client(self) -> EvolutionClient:
        if self._client is None:
            s = self.settings
            self._client = EvolutionClient(
                s.evolution_url, s.api_key or "", s.instance,
                timeout_s=s.http_timeout_seconds, max_retries=s.http_max_retries,
            )
        return self._client

    @property
    def scheduler(self) -> ProactiveScheduler:
        if self._scheduler is None:
            self._scheduler = ProactiveScheduler(
                self.proactive_settings,
                FollowUpStore(self.store.redis, self.settings.redis_prefix),
                self.store,
                self.clock,
                agent=lambda: self._app.ctx.agent,
                output_channel=self.get_output_channel,
                meetings=MeetingScheduler(  # the action server's keys: the deployment's prefix, not the channel's
                    self.store.redis, RedisSettings.from_env().key_prefix, self.clock,
                    agent=lambda: self._app.ctx.agent, output_channel=self.get_output_channel,
                    run_once=FollowUpStore(self.store.redis, self.settings.redis_prefix).run_once,
                ),
            )
        return self._scheduler

    def get_output_channel(self) -> Optional[OutputChannel]:
        # Reminders and `trigger_intent` reach WhatsApp through this.
        return EvolutionOutput(self.client, self.store, self.settings)

    # --- routes --------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        self._on_new_message = on_new_message
        webhook = Blueprint("evolution_webhook", __name__)

        @webhook.listener("after_server_start")
        async def start_worker(app: Any, loop: Any) -> None:
            # The model and TensorFlow leave millions of long-lived objects; a full
            # garbage collection walking them stalls every webhook for 100+ ms.
            # Freezing what exists now keeps collections to what requests allocate.
            gc.freeze()
            adopt_process_logging()  # again: Sanic added its own handlers when the app was built
            self._app = app
            assert self._on_new_message is not None
            self._worker = TurnWorker(
                self.settings, self.store, self.client, self.scheduler, self._on_new_message,
                agent=lambda: self._app.ctx.agent,
            )
            self._tasks = [
                asyncio.create_task(self._worker.run()),
                asyncio.create_task(self._run_outbox()),
                asyncio.create_task(self.scheduler.run()),
            ]

        @webhook.listener("before_server_stop")
        async def stop_worker(app: Any, loop: Any) -> None:
            for task in self._tasks:
                task.cancel()
            if self._client is not None:
                await self._client.aclose()

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok", "whatsapp": await self._last_connection()})

        @webhook.route("/ready", methods=["GET"])
        async def ready(request: Request) -> HTTPResponse:
            agent = getattr(getattr(self._app, "ctx", None), "agent", None)
            checks = await readiness(agent, self.store, self.settings.action_server_url)
            absent = missing(checks)
            body = {
                "status": "not_ready" if absent else "ready",
                "missing": absent,
                "checks": {name: asdict(check) for name, check in checks.items()},
            }
            return response.json(body, status=503 if absent else 200)

        @webhook.route("/health", methods=["GET"])
        async def detailed(request: Request) -> HTTPResponse:
            presented = _bearer_token(request) or request.args.get("token")
            if not secrets_match(presented, self.settings.rasa_auth_token):
                return _error(401, "token required")
            report = await detailed_health(
                agent=getattr(getattr(self._app, "ctx", None), "agent", None),
                store=self.store, client=self.client,
                action_endpoint_url=self.settings.action_server_url,
                last_connection_update=await self._last_connection(), started_at=self.started_at,
                key_prefix=self.settings.redis_key_prefix,
            )
            try:
                report["followups"] = {"pending": await self.scheduler.followups.pending(),
                                       "next_due_at": await self.scheduler.followups.next_due_at()}
            except RedisError:
                report["followups"] = {"pending": None, "next_due_at": None}
            return response.json(report)

        @webhook.route("/metrics", methods=["GET"])
        async def prometheus_metrics(request: Request) -> HTTPResponse:
            body, content_type = metrics.render()
            return response.raw(body, content_type=content_type)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self.receive(request, None)

        @webhook.route("/webhook/<event_suffix>", methods=["POST"])
        async def receive_by_event(request: Request, event_suffix: str) -> HTTPResponse:
            return await self.receive(request, event_suffix)

        return webhook

    async def receive(self, request: Request, event_suffix: Optional[str]) -> HTTPResponse:
        """Counts and tags every webhook: the request id (the caller's ``X-Request-ID``
        or a new one) is on every log line of this request and kept with the message."""
        # Webhooks come from a server, never a browser: marking CORS as evaluated
        # makes Rasa's sanic-cors middleware skip them (it cost ~15% of a webhook).
        setattr(request.ctx, SANIC_CORS_EVALUATED, True)
        request.ctx.evolution_event = "unknown"
        with request_context(request_id_from(request.headers.get(REQUEST_ID_HEADER))):
            answer = await self._receive(request, event_suffix)
        metrics.WEBHOOKS.labels(event=request.ctx.evolution_event, outcome=webhook_outcome(answer)).inc()
        return answer

    async def _receive(self, request: Request, event_suffix: Optional[str]) -> HTTPResponse:
        raw = request.body or b""
        if len(raw) > self.settings.max_body_bytes:
            logger.warning("evolution.webhook_rejected status=413 bytes=%d", len(raw))
            return _error(413, "body too large")
        if self.settings.auth_configured:
            headers = {name.lower(): value for name, value in request.headers.items()}
            try:
                verify_webhook(
                    headers, raw,
                    token=self.settings.webhook_token,
                    jwt_key=self.settings.webhook_jwt_key,
                    hmac_secret=self.settings.webhook_hmac_secret,
                )
            except AuthError as error:
                logger.warning("evolution.webhook_rejected status=401 reason=%s ip=%s", error, request.ip)
                return _error(401, str(error))
        try:
            envelope = parse_webhook_body(raw, path_event=event_suffix)
        except PayloadError as error:
            logger.warning("evolution.webhook_rejected status=400 reason=%s", error)
            return _error(400, str(error))
        request.ctx.evolution_event = envelope.event

        handlers = {
            "messages.upsert": self._on_upsert,
            "messages.update": self._on_receipt,
            "connection.update": self._on_connection,
            # Events that may show a contact's LID beside its phone (docs §3.8, §3.9).
            "contacts.upsert": self._on_identities,
            "contacts.update": self._on_identities,
            "chats.upsert": self._on_identities,
            "group-participants.update": self._on_identities,
        }
        handler = handlers.get(envelope.event)
        if handler is None:
            logger.info("evolution.event_ignored event=%s", envelope.event)
            return _ok("ignored", reason="event")
        return await handler(envelope)

    async def _last_connection(self) -> Dict[str, Any]:
        # From Redis: with several workers or servers, another one may have had the update.
        try:
            return await self.store.last_connection() or self.connection
        except RedisError:
            return self.connection

    # --- events -------------------------------------------------------------------

    async def _on_upsert(self, envelope: Envelope) -> HTTPResponse:
        result = envelope.upsert
        if result is None:
            # parse_webhook_body sets it on every messages.upsert envelope (the only kind routed here).
            raise RuntimeError("messages.upsert envelope without its parsed message")
        if isinstance(result, Ignored):
            logger.debug("evolution.message_ignored reason=%s", result.reason)
            return _ok("ignored", reason=result.reason)
        if isinstance(result, OwnMessage):
            return await self._on_own_message(result)

        message = result
        now = time.time()
        if message.timestamp and now - message.timestamp > self.settings.max_message_age_seconds:
            logger.info("evolution.message_ignored reason=stale sender=%s", mask_phone(message.sender_id))
            return _ok("ignored", reason="stale")
        instance = envelope.instance or self.settings.instance
        due_at = now + self.settings.debounce_seconds
        try:
            message = await self._known_contact(message)
            media = inline_base64(envelope.data)
            if media:
                await self.store.store_media(message.message_id, media, now=self.clock.now())
            admission = await self.store.accept(
                instance=instance,
                message_id=message.message_id,
                sender_id=message.sender_id,
                reply_jid=message.reply_jid,
                record=inbox_record(message, envelope.instance, now, request_id=get_request_id()),
                due_at=due_at,
                dedupe_ttl=self.settings.dedupe_ttl_seconds,
                now=now,
                max_per_minute=self.settings.rate_limit_per_minute,
                max_per_hour=self.settings.rate_limit_per_hour,
            )
            if admission.status == "rate_limited":
                await self._rate_limited(message, admission, now)
        except RedisError as error:
            # Not recorded: a 5xx makes Evolution deliver it again later.
            logger.error("evolution.message_not_recorded status=503 error=%s", type(error).__name__)
            return _error(503, "message could not be recorded")
        if admission.status == "duplicate":
            metrics.DUPLICATES_DROPPED.inc()
            return _ok("duplicate")
        if admission.status == "rate_limited":
            return _ok("ignored", reason="rate_limited")
        # Debug only: this runs on every webhook; the turn itself is logged at info.
        logger.debug(
            "evolution.message_accepted sender=%s kind=%s", mask_phone(message.sender_id), message.kind
        )
        if self._worker is not None:
            self._worker.message_due(due_at)
        return _ok("accepted")

    async def _on_own_message(self, message: OwnMessage) -> HTTPResponse:
        # Evolution does not echo what the API sends, so a fromMe message was
        # typed by a person on the business phone: the assistant steps back.
        try:
            message = await self._known_contact(message)
            await self.store.pause_for_human(message.sender_id, self.settings.takeover_seconds)
        except RedisError:
            logger.error("evolution.takeover_not_recorded status=503")
            return _error(503, "takeover could not be recorded")
        logger.info(
            "evolution.human_takeover sender=%s seconds=%d",
            mask_phone(message.sender_id), self.settings.takeover_seconds,
        )
        return _ok("takeover")

    async def _known_contact(self, message: _Contact) -> _Contact:
        """The message under the lead's phone whenever it is known: a message that shows both
        ids teaches the LID -> phone map; one that shows only the LID is looked up in it."""
        if message.lid is None:
            return message
        if message.sender_id != message.lid:
            await self.store.link_lid(message.lid, message.sender_id)
            return message
        phone = await self.store.phone_for_lid(message.lid)
        return dataclasses.replace(message, sender_id=phone) if phone else message

    async def _on_identities(self, envelope: Envelope) -> HTTPResponse:
        pairs = pairs_in_contacts(list(envelope.items) or envelope.data)
        try:
            for lid, phone in pairs:
                await self.store.link_lid(lid, phone)
        except RedisError:
            logger.warning("evolution.identities_not_recorded")
            return _error(503, "identities could not be recorded")
        return _ok("recorded", linked=len(pairs)) if pairs else _ok("ignored", reason="no_identity")

    async def _rate_limited(self, message: InboundMessage, admission: Admission, now: float) -> None:
        logger.warning(
            "evolution.rate_limited sender=%s per_minute=%d per_hour=%d",
            mask_phone(message.sender_id), admission.per_minute, admission.per_hour,
        )
        if await self.store.claim_rate_notice(message.sender_id, now):
            output = EvolutionOutput(self.client, self.store, self.settings, reply_jid=message.reply_jid)
            asyncio.create_task(output.send_text_message(message.sender_id, self.settings.rate_limit_notice))

    async def _on_receipt(self, envelope: Envelope) -> HTTPResponse:
        receipt = parse_receipt(envelope.data)
        if receipt is None:
            return _ok("ignored", reason="receipt")
        try:
            await self.store.record_receipt(receipt.message_id, receipt.status, time.time())
        except RedisError:
            logger.warning("evolution.receipt_not_recorded")
        return _ok("recorded")

    async def _on_connection(self, envelope: Envelope) -> HTTPResponse:
        update = parse_connection_update(envelope.data)
        if update is None:
            return _ok("ignored", reason="connection")
        now = time.time()
        self.connection = {"state": update.state, "status_reason": update.status_reason, "at": now}
        if update.state == "close":
            logger.error("evolution.whatsapp_disconnected reason=%s", update.status_reason)
        else:
            logger.info("evolution.whatsapp_connection state=%s", update.state)
        try:
            await self.store.record_connection(update.state, update.status_reason, now)
        except RedisError:
            logger.warning("evolution.connection_not_recorded")
        return _ok("recorded")

    # --- outbox: replies waiting for Evolution ------------------------------------

    async def _run_outbox(self) -> None:
        while True:
            await asyncio.sleep(self.settings.outbox_retry_seconds)
            try:
                await drain_outbox(self.client, self.store)
            except RedisError:
                logger.warning("evolution.outbox_redis_error")
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must outlive any single failure
                logger.exception("evolution.outbox_error")
