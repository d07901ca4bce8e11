"""Rasa input and output channel for WhatsApp through Evolution API v2.

The webhook only authenticates, validates, deduplicates and records a message
in Redis, then answers: it never waits for NLU, actions or Evolution. A worker
in the same process picks each conversation up once its burst window has
passed, joins the burst into one user message, runs the turn and replies
through Evolution's REST API. Messages stay in Redis until their turn ran, so
a crash loses nothing that was acknowledged.

Register it in credentials.yml as `connectors.evolution.EvolutionInput`.
"""
from __future__ import annotations

import asyncio
import gc
import json
import logging
import math
import os
import time
import uuid
from dataclasses import asdict
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

import httpx
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from redis.exceptions import RedisError
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic_cors.core import SANIC_CORS_EVALUATED

from sdr.dialogue import SHARE_BILL_INTENT, UNSUPPORTED_MEDIA_INTENT, VOICE_NOTE_UNREADABLE_INTENT
from sdr.clock import Clock
from whatsapp.client import EvolutionClient, EvolutionError, EvolutionUnavailable
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
from connectors.evolution_health import (
    action_server_base,
    detailed_health,
    missing,
    readiness,
    token_matches,
)
from whatsapp.settings import EvolutionSettings, load_settings
from whatsapp.store import Admission, ChannelStore
from connectors.followup_store import FollowUpStore
from connectors.followups import ProactiveScheduler, ProactiveSettings
from whatsapp.outbound import (
    build_quoted,
    match_button_reply,
    media_file_name,
    mediatype_for,
    render_buttons,
    split_text,
    typing_delay_ms,
)
from whatsapp.webhook_auth import AuthError, verify_webhook
from observability import metrics
from observability.privacy import mask_phone
from observability.errors import init_error_reporting
from observability.logs import (
    REQUEST_ID_HEADER,
    adopt_process_logging,
    bind,
    get_request_id,
    request_context,
    request_id_from,
)

logger = logging.getLogger(__name__)

CHANNEL_NAME = "evolution"
# Photos and PDFs are read as electricity bills by the action server.
BILL_KINDS = ("image", "document")
# How long the worker sleeps when nothing is due; a new message wakes it at once.
IDLE_POLL_SECONDS = 0.5
REDIS_RETRY_SECONDS = 1.0
# A conversation being processed is leased for this long and the lease renewed
# while its turn runs, so a crashed server's conversations are picked up soon.
LEASE_SECONDS = 30
LEASE_RENEW_SECONDS = 10
TURN_RETRY_BACKOFF_SECONDS = 5.0
MS_PER_SECOND = 1000


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


def user_text_for(records: List[Dict[str, Any]], buttons: List[Dict[str, Any]]) -> str:
    """One user message for a burst. A reply to offered buttons becomes its payload;
    what is not text becomes one of the channel's intents (sdr/dialogue.py)."""
    if len(records) == 1 and records[0].get("payload"):
        return records[0]["payload"]
    if any(r.get("kind") in BILL_KINDS for r in records):
        return f"/{SHARE_BILL_INTENT}"
    text = "\n".join(r["text"] for r in records if r.get("text"))
    if text:
        return (match_button_reply(text, buttons) or text) if buttons else text
    if any(r.get("transcript_unavailable") for r in records):
        return f"/{VOICE_NOTE_UNREADABLE_INTENT}"
    return f"/{UNSUPPORTED_MEDIA_INTENT}"


def read_receipt_jid(record: Dict[str, Any]) -> str:
    """Evolution drops read receipts for @lid keys: use the phone JID when known."""
    jid = record["reply_jid"]
    sender_id = record["sender_id"]
    if jid.endswith("@lid") and not jid.startswith(f"{sender_id}@"):
        return f"{sender_id}@s.whatsapp.net"
    return jid


def turn_metadata(records: List[Dict[str, Any]]) -> Dict[str, Any]:
    last = records[-1]
    return {
        CHANNEL_NAME: {
            "instance": last.get("instance"),
            "reply_jid": last["reply_jid"],
            "push_name": last.get("push_name"),
            "message_ids": [r["message_id"] for r in records],
            "request_ids": [r.get("request_id") for r in records],
            "messages": [
                {k: r.get(k) for k in ("message_id", "kind", "message_type", "media", "location",
                                       "contacts", "timestamp", "quoted_message_id", "text",
                                       "transcript_unavailable")}
                for r in records
            ],
        },
        # Actions log it (observability.logs), so one id follows the turn end to end.
        "request_id": last.get("request_id"),
    }


class EvolutionOutput(OutputChannel):
    """Sends the assistant's messages to one WhatsApp chat through Evolution."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    def __init__(
        self,
        client: EvolutionClient,
        store: ChannelStore,
        settings: EvolutionSettings,
        reply_jid: Optional[str] = None,
        quoted: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.client = client
        self.store = store
        self.settings = settings
        self.reply_jid = reply_jid
        self.quoted = quoted
        self._quote_pending = settings.quote_replies and quoted is not None

    async def _jid(self, recipient_id: Text) -> str:
        if self.reply_jid:
            return self.reply_jid
        if "@" in recipient_id:  # already a JID (a group, for the weekly report)
            return recipient_id
        try:
            known = await self.store.reply_jid(recipient_id)
        except RedisError:
            known = None
        return known or f"{recipient_id}@s.whatsapp.net"

    def _take_quote(self) -> Optional[Dict[str, Any]]:
        if not self._quote_pending:
            return None
        self._quote_pending = False
        return self.quoted

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        jid = await self._jid(recipient_id)
        for chunk in split_text(text, self.settings.max_text_chars):
            call: Dict[str, Any] = {"number": jid, "text": chunk}
            if self.settings.typing_delay:
                call["delay_ms"] = typing_delay_ms(
                    chunk,
                    per_char_ms=self.settings.typing_ms_per_char,
                    min_ms=self.settings.typing_min_ms,
                    max_ms=self.settings.typing_max_ms,
                )
            quoted = self._take_quote()
            if quoted:
                call["quoted"] = quoted
            await deliver(self.client, self.store, "send_text", call, conversation_id=recipient_id)

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        # WhatsApp-Web (Baileys) no longer renders buttons: offer numbered options
        # and remember them, so "1" or the option's text maps back to its payload.
        try:
            await self.store.offer_buttons(recipient_id, buttons)
        except RedisError:
            logger.warning("evolution.buttons_not_stored")
        await self.send_text_message(recipient_id, render_buttons(text, buttons))

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self._send_media(recipient_id, image, "image/jpeg", kwargs.get("text"))

    async def send_attachment(self, recipient_id: Text, attachment: Any, **kwargs: Any) -> None:
        if isinstance(attachment, dict):
            url = attachment.get("url") or attachment.get("payload", {}).get("src")
            mimetype = attachment.get("mimetype") or attachment.get("type")
            if url:
                await self._send_media(recipient_id, url, mimetype, attachment.get("caption"))
                return
        if isinstance(attachment, str) and attachment.startswith(("http://", "https://")):
            await self._send_media(recipient_id, attachment, None, None)
            return
        await self.send_text_message(recipient_id, str(attachment))

    async def _send_media(
        self, recipient_id: Text, url: str, mimetype: Optional[str], caption: Optional[str]
    ) -> None:
        jid = await self._jid(recipient_id)
        file_name = media_file_name(url, mimetype)
        call: Dict[str, Any] = {
            "number": jid,
            "mediatype": mediatype_for(mimetype) if mimetype else mediatype_for(_guess_mimetype(file_name)),
            "media": url,
            "file_name": file_name,
        }
        if mimetype:
            call["mimetype"] = mimetype
        if caption:
            call["caption"] = caption
        await deliver(self.client, self.store, "send_media", call)

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        custom = json_message.get(CHANNEL_NAME) if isinstance(json_message, dict) else None
        if not isinstance(custom, dict) or not custom.get("endpoint"):
            logger.warning("evolution.custom_json_ignored: expected {'evolution': {'endpoint', 'body'}}")
            return
        body = dict(custom.get("body") or {})
        body.setdefault("number", await self._jid(recipient_id))
        await deliver(self.client, self.store, "post_custom", {"endpoint": custom["endpoint"], "body": body})


def _guess_mimetype(file_name: str) -> str:
    import mimetypes

    return mimetypes.guess_type(file_name)[0] or "application/octet-stream"


async def deliver(
    client: EvolutionClient, store: ChannelStore, operation: str, call: Dict[str, Any],
    conversation_id: Optional[str] = None,
) -> None:
    """Sends now, or queues behind earlier replies that Evolution could not take yet.
    A text sent now is remembered with its WhatsApp id (`remember_sent`) for its receipts."""
    try:
        backlog = await store.outbox_size()
    except RedisError:
        backlog = 0
    if backlog:
        await _queue(store, operation, call)
        return
    try:
        sent = await getattr(client, operation)(**call)
    except EvolutionUnavailable as error:
        if error.maybe_delivered:
            # The request went out and timed out: resending could duplicate it (P12).
            logger.error("evolution.send_uncertain op=%s: not resent to avoid a duplicate", operation)
            return
        logger.warning("evolution.send_deferred op=%s reason=%s", operation, error)
        await _queue(store, operation, call)
    except EvolutionError as error:
        # A 4xx will not succeed on retry (unknown number, bad request): log and move on.
        logger.error("evolution.send_rejected op=%s status=%s", operation, error.status)
    except (ValueError, TypeError) as error:
        # A custom payload the client refuses (unsafe endpoint, unknown media type).
        logger.error("evolution.send_invalid op=%s error=%s", operation, error)
    else:
        message_id = (sent.get("key") or {}).get("id") if isinstance(sent, dict) else None
        if conversation_id and message_id:
            try:
                await store.remember_sent(conversation_id, message_id, call.get("text") or "", time.time())
            except RedisError:
                logger.warning("evolution.sent_id_not_kept")


async def _queue(store: ChannelStore, operation: str, call: Dict[str, Any]) -> None:
    try:
        await store.queue_outgoing({"operation": operation, "call": call})
    except RedisError:
        logger.error("evolution.reply_lost op=%s: Evolution and Redis both unavailable", operation)


class EvolutionInput(InputChannel):
    """Receives Evolution's webhooks (see the module docstring)."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "EvolutionInput":
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
        self.node_id = f"{os.uname().nodename}:{os.getpid()}"
        self.connection: Dict[str, Any] = {"state": None, "status_reason": None, "at": None}
        self.started_at = time.time()
        self._store: Optional[ChannelStore] = None
        self._client: Optional[EvolutionClient] = None
        self._on_new_message: Optional[Callable[[UserMessage], Awaitable[Any]]] = None
        self._app: Any = None
        self._tasks: List[asyncio.Task] = []
        self._wakeup: Optional[asyncio.Event] = None
        self._worker_wakes_at = math.inf
        self._in_flight: set = set()
        self._failures: Dict[str, int] = {}

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
            self._wakeup = asyncio.Event()
            self._tasks = [
                asyncio.create_task(self._run_worker()),
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
            if not token_matches(presented, self.settings.rasa_auth_token):
                return _error(401, "token required")
            report = await detailed_health(
                agent=getattr(getattr(self._app, "ctx", None), "agent", None),
                store=self.store, client=self.client,
                action_endpoint_url=self.settings.action_server_url,
                last_connection_update=await self._last_connection(), started_at=self.started_at,
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
        # The worker is woken only when this message is due before it looks
        # again anyway: under load that is two Redis reads saved per webhook.
        if self._wakeup is not None and due_at < self._worker_wakes_at:
            self._wakeup.set()
        return _ok("accepted")

    async def _on_own_message(self, message: OwnMessage) -> HTTPResponse:
        # Evolution does not echo what the API sends, so a fromMe message was
        # typed by a person on the business phone: the assistant steps back.
        try:
            await self.store.pause_for_human(message.sender_id, self.settings.takeover_seconds)
        except RedisError:
            logger.error("evolution.takeover_not_recorded status=503")
            return _error(503, "takeover could not be recorded")
        logger.info(
            "evolution.human_takeover sender=%s seconds=%d",
            mask_phone(message.sender_id), self.settings.takeover_seconds,
        )
        return _ok("takeover")

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

    # --- the worker: turns run here, never in the webhook --------------------------

    async def _run_worker(self) -> None:
        assert self._wakeup is not None
        while True:
            self._wakeup.clear()
            self._worker_wakes_at = math.inf  # while it looks, any new message makes it look again
            wait = IDLE_POLL_SECONDS
            try:
                now = time.time()
                free = self.settings.max_concurrent_turns - len(self._in_flight)
                if free > 0:
                    due = await self.store.due_senders(now, limit=free + len(self._in_flight))
                    for sender_id in [s for s in due if s not in self._in_flight][:free]:
                        self._in_flight.add(sender_id)
                        asyncio.create_task(self._process(sender_id))
                next_due = await self.store.next_due_at()
                at_capacity = len(self._in_flight) >= self.settings.max_concurrent_turns
                if next_due is not None and not at_capacity:
                    wait = min(IDLE_POLL_SECONDS, max(0.01, next_due - time.time()))
            except RedisError as error:
                logger.error("evolution.worker_redis_error error=%s", type(error).__name__)
                wait = REDIS_RETRY_SECONDS
            except asyncio.CancelledError:
                raise
            except Exception:  # the worker must outlive any single failure
                logger.exception("evolution.worker_error")
            self._worker_wakes_at = time.time() + wait
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout=wait)
            except asyncio.TimeoutError:
                pass

    async def _process(self, sender_id: str) -> None:
        owner = f"{self.node_id}:{uuid.uuid4().hex}"
        renewer: Optional[asyncio.Task] = None
        try:
            if not await self.store.lock(sender_id, owner, LEASE_SECONDS):
                return  # another server is on it
            await self.store.postpone(sender_id, time.time() + LEASE_SECONDS)
            renewer = asyncio.create_task(self._renew_lease(sender_id, owner))
            records = await self.store.inbox(sender_id)
            if records:
                # This task's log lines carry the id of the message that completed the burst.
                bind(records[-1].get("request_id"), sender_id)
                await self.scheduler.lead_wrote(sender_id)
                if await self.store.human_is_talking(sender_id):
                    await self._log_without_reply(sender_id, records)
                else:
                    await self._run_turn(sender_id, records)
                    await self._plan_follow_up(sender_id)
            remaining = await self.store.complete(sender_id, len(records))
            self._failures.pop(sender_id, None)
            if remaining and self._wakeup is not None:
                self._wakeup.set()
        except asyncio.CancelledError:
            raise
        except Exception:
            await self._after_failure(sender_id)
        finally:
            if renewer is not None:
                renewer.cancel()
            try:
                await self.store.unlock(sender_id, owner)
            except RedisError:
                pass
            self._in_flight.discard(sender_id)
            if self._wakeup is not None:
                self._wakeup.set()  # a slot is free for the next conversation

    async def _plan_follow_up(self, sender_id: str) -> None:
        # The lead has had the answer: a failure here must not rerun the turn.
        try:
            await self.scheduler.after_lead_turn(sender_id)
        except Exception:
            logger.exception("followup.not_planned conversation=%s", mask_phone(sender_id))

    async def _renew_lease(self, sender_id: str, owner: str) -> None:
        while True:
            await asyncio.sleep(LEASE_RENEW_SECONDS)
            try:
                await self.store.extend_lock(sender_id, LEASE_SECONDS)
                await self.store.postpone(sender_id, time.time() + LEASE_SECONDS)
            except RedisError:
                logger.warning("evolution.lease_not_renewed sender=%s", mask_phone(sender_id))

    async def _after_failure(self, sender_id: str) -> None:
        attempts = self._failures.get(sender_id, 0) + 1
        self._failures[sender_id] = attempts
        logger.exception("evolution.turn_failed sender=%s attempt=%d", mask_phone(sender_id), attempts)
        abandon = attempts >= self.settings.turn_max_attempts
        metrics.TURN_FAILURES.labels(outcome="abandoned" if abandon else "retried").inc()
        try:
            if abandon:
                records = await self.store.inbox(sender_id)
                await self.store.dead_letter(sender_id, records)
                await self.store.complete(sender_id, len(records))
                self._failures.pop(sender_id, None)
                logger.error("evolution.turn_abandoned sender=%s messages=%d", mask_phone(sender_id), len(records))
            else:
                await self.store.postpone(sender_id, time.time() + TURN_RETRY_BACKOFF_SECONDS * attempts)
        except RedisError:
            logger.error("evolution.turn_failure_not_recorded sender=%s", mask_phone(sender_id))

    async def _run_turn(self, sender_id: str, records: List[Dict[str, Any]]) -> None:
        started = time.perf_counter()
        if len(records) > 1:
            metrics.DEBOUNCED_BURSTS.inc()
            metrics.DEBOUNCED_MESSAGES.inc(len(records))
        await self._converse(sender_id, records)
        elapsed = time.perf_counter() - started
        metrics.TURN_SECONDS.observe(elapsed)
        logger.info(
            "evolution.turn_done sender=%s", mask_phone(sender_id),
            extra={"duration_ms": round(elapsed * MS_PER_SECOND), "messages": len(records)},
        )

    async def _converse(self, sender_id: str, records: List[Dict[str, Any]]) -> None:
        for record in records:
            if record.get("kind") == "audio" and not record.get("text"):
                await self._transcribe(record)
        buttons = await self.store.offered_buttons(sender_id)
        text = user_text_for(records, buttons)
        if buttons and text != "\n".join(r["text"] for r in records if r.get("text")):
            await self.store.forget_buttons(sender_id)
        last = records[-1]
        quoted = build_quoted(last["message_id"], remote_jid=last["reply_jid"], text=last.get("text"))
        output = EvolutionOutput(self.client, self.store, self.settings, reply_jid=last["reply_jid"], quoted=quoted)
        logger.info("evolution.turn sender=%s messages=%d", mask_phone(sender_id), len(records))
        if self.settings.mark_read:
            asyncio.create_task(self._mark_read(records))
        assert self._on_new_message is not None
        await self._on_new_message(
            UserMessage(
                text=text,
                output_channel=output,
                sender_id=sender_id,
                input_channel=self.name(),
                message_id=last["message_id"],
                metadata=turn_metadata(records),
            )
        )

    async def _transcribe(self, record: Dict[str, Any]) -> None:
        """A voice note becomes text before the turn, so it is understood exactly as
        if typed; the action server does the slow work (download, transcription)."""
        url = action_server_base(self.settings.action_server_url) + "/media/transcribe"
        body = {"message": {k: record.get(k) for k in ("message_id", "kind", "media")},
                "reply_jid": record["reply_jid"]}
        try:
            async with httpx.AsyncClient(timeout=self.settings.transcription_timeout_seconds) as client:
                request_id = record.get("request_id") or get_request_id()
                headers = {REQUEST_ID_HEADER: request_id} if request_id else {}
                answer = (await client.post(url, json=body, headers=headers)).json()
        except (httpx.HTTPError, ValueError) as error:
            answer = {"text": None, "reason": "server_error"}
            logger.warning("evolution.transcription_failed error=%s", type(error).__name__)
        if answer.get("text"):
            record["text"] = answer["text"]
        else:
            record["transcript_unavailable"] = answer.get("reason") or "server_error"

    async def _mark_read(self, records: List[Dict[str, Any]]) -> None:
        for record in records:
            try:
                await self.client.mark_as_read(read_receipt_jid(record), record["message_id"])
            except (EvolutionError, EvolutionUnavailable) as error:
                logger.debug("evolution.mark_read_failed error=%s", type(error).__name__)

    async def _log_without_reply(self, sender_id: str, records: List[Dict[str, Any]]) -> None:
        """While a person talks to the lead, the lead's messages are kept in the
        conversation without the assistant predicting or saying anything."""
        agent = self._app.ctx.agent
        for record in records:
            await agent.log_message(
                UserMessage(
                    text=record.get("text") or "",
                    sender_id=sender_id,
                    input_channel=self.name(),
                    message_id=record["message_id"],
                    metadata=turn_metadata([record]),
                )
            )
        logger.info("evolution.logged_during_takeover sender=%s messages=%d", mask_phone(sender_id), len(records))

    # --- outbox: replies waiting for Evolution ------------------------------------

    async def _run_outbox(self) -> None:
        while True:
            await asyncio.sleep(self.settings.outbox_retry_seconds)
            try:
                while True:
                    queued = await self.store.peek_outgoing()
                    if queued is None:
                        break
                    try:
                        await getattr(self.client, queued["operation"])(**queued["call"])
                    except EvolutionUnavailable as error:
                        if not error.maybe_delivered:
                            break  # still down: try again later, order kept
                        logger.error("evolution.queued_send_uncertain: not resent to avoid a duplicate")
                    except EvolutionError as error:
                        logger.error("evolution.queued_send_rejected status=%s", error.status)
                    await self.store.drop_outgoing()
                    logger.info("evolution.queued_send_delivered op=%s", queued["operation"])
            except RedisError:
                logger.warning("evolution.outbox_redis_error")
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("evolution.outbox_error")


if __name__ == "__main__":
    import sys

    from whatsapp.cli import main

    sys.exit(main(sys.argv[1:]))
