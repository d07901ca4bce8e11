"""A fake Evolution API v2 server for tests and benchmarks.

Real HTTP on loopback: an aiohttp app running in a background thread with its own event loop,
so synchronous tests, asyncio tests and other processes can all talk to it. It answers with
Evolution 2.3.6's request validation, status codes and response shapes (§1.2, §2.6 and §4 of
the project's Evolution API v2 notes) for the endpoints the project uses, and
records every request it receives.

    with FakeEvolution() as fake:               # api_key="test-key", instance="solarprime"
        client = EvolutionClient(fake.url, fake.api_key, fake.instance)
        ...
        assert fake.sent_texts("5511987654321") == ["Olá!"]

Failure injection: ``fail_next``, ``set_latency``, ``go_down``/``come_back`` (connection refused
on the same port), ``set_connection_state`` (sends then fail like a closed WhatsApp socket),
``set_unregistered`` (numbers that are not on WhatsApp).

Simplifications: one instance and one key (the global one); numbers are turned into JIDs
without Evolution's BR/MX/AR mobile-digit rewriting; nothing is persisted.

Standalone: ``python -m tests.fake_evolution --port 8080`` (Ctrl-C stops).
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import collections
import json
import logging
import mimetypes
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Optional, Sequence

from aiohttp import web

from tests.fake_server import DEFAULT_HOST, EPHEMERAL_PORT, BackgroundServer, serve_until_signalled

logger = logging.getLogger(__name__)

DEFAULT_API_KEY = "test-key"
DEFAULT_INSTANCE = "solarprime"
DEFAULT_CLI_PORT = 8080

# Evolution accepts JSON bodies up to 136 MB (§4.1).
MAX_BODY_BYTES = 136 * 1024 * 1024
DEFAULT_WAIT_TIMEOUT_S = 5.0
WAIT_POLL_INTERVAL_S = 0.01
MS_PER_S = 1000

HTTP_OK = 200
HTTP_CREATED = 201
HTTP_BAD_REQUEST = 400
HTTP_UNAUTHORIZED = 401
HTTP_NOT_FOUND = 404
HTTP_INTERNAL_ERROR = 500
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

CONNECTION_STATES = ("open", "connecting", "close", "refused")
JID_SUFFIXES = ("@g.us", "@s.whatsapp.net", "@lid", "@broadcast")
PERSONAL_JID_SUFFIX = "@s.whatsapp.net"
GROUP_JID_SUFFIX = "@g.us"
# createJid treats 18+ digits as a group id (§4.2).
GROUP_MIN_DIGITS = 18
MESSAGE_ID_PREFIX = "3EB0"
MESSAGE_ID_RANDOM_BYTES = 9
SENT_PUSH_NAME = "Você"
FAKE_MEDIA_URL = "https://mmg.whatsapp.net/o1/v/t62.7118-24/fake-media.enc"
DEFAULT_PROFILE_PICTURE_URL = "https://pps.whatsapp.net/v/t61.24694-24/fake-profile.jpg"
EVOLUTION_VERSION = "2.3.6"

MEDIATYPES = ("image", "document", "video", "audio")
PRESENCES = ("composing", "recording", "paused", "available", "unavailable")
WEBHOOK_EVENTS = frozenset(
    {
        "APPLICATION_STARTUP", "QRCODE_UPDATED", "MESSAGES_SET", "MESSAGES_UPSERT", "MESSAGES_EDITED",
        "MESSAGES_UPDATE", "MESSAGES_DELETE", "SEND_MESSAGE", "SEND_MESSAGE_UPDATE", "CONTACTS_SET",
        "CONTACTS_UPSERT", "CONTACTS_UPDATE", "PRESENCE_UPDATE", "CHATS_SET", "CHATS_UPSERT",
        "CHATS_UPDATE", "CHATS_DELETE", "GROUPS_UPSERT", "GROUP_UPDATE", "GROUP_PARTICIPANTS_UPDATE",
        "CONNECTION_UPDATE", "LABELS_EDIT", "LABELS_ASSOCIATION", "CALL", "TYPEBOT_START",
        "TYPEBOT_CHANGE_STATUS", "REMOVE_INSTANCE", "LOGOUT_INSTANCE", "STATUS_INSTANCE",
        "INSTANCE_CREATE", "INSTANCE_DELETE",
    }
)
# Other /message/* routes: required fields and the messageType of the sent message.
_OTHER_SENDS: dict[str, tuple[tuple[str, ...], str]] = {
    "sendPoll": (("number", "name", "selectableCount", "values"), "pollCreationMessageV3"),
    "sendList": (("number", "title", "footerText", "buttonText", "sections"), "listMessage"),
    "sendButtons": (("number", "title", "buttons"), "viewOnceMessage"),
    "sendReaction": (("key", "reaction"), "reactionMessage"),
    "sendLocation": (("number", "latitude", "longitude", "name", "address"), "locationMessage"),
    "sendContact": (("number", "contact"), "contactMessage"),
    "sendSticker": (("number", "sticker"), "stickerMessage"),
    "sendPtv": (("number", "video"), "ptvMessage"),
}
_SEND_OPTION_FIELDS = frozenset({"number", "delay", "quoted", "linkPreview", "mentioned", "mentionsEveryOne"})
_MEDIA_MESSAGE_TYPES = {
    "image": "imageMessage",
    "video": "videoMessage",
    "audio": "audioMessage",
}
_DEFAULT_MEDIA_MIMETYPES = {"image": "image/jpeg", "video": "video/mp4"}
_DEFAULT_MEDIA_FILE_NAMES = {"image": "image.jpg", "video": "video.mp4"}
# Evolution's name for a media whose type it cannot tell (§4.4).
UNKNOWN_MIMETYPE = "false"
VOICE_NOTE_MIMETYPE = "audio/ogg; codecs=opus"
MP4_AUDIO_MIMETYPE = "audio/mp4"
_HTTP_URL = re.compile(r"^https?://", re.IGNORECASE)
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
_BASE64_BLOCK = 4

Handler = Callable[[web.Request, Any], Awaitable[web.Response]]


@dataclass
class RecordedRequest:
    """One request as the fake received it. ``headers`` has lower-case names."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    time: float  # time.monotonic() at arrival
    status: Optional[int] = None  # set once answered

    @property
    def action(self) -> str:
        """The route's action, e.g. "sendText" for /message/sendText/solarprime."""
        parts = self.path.strip("/").split("/")
        return parts[1] if len(parts) > 1 else parts[0]


def to_jid(number: str) -> str:
    """Evolution's ``createJid`` without the BR/MX/AR mobile-digit rewriting (§4.2)."""
    if number.endswith(JID_SUFFIXES):
        return number
    digits = re.sub(r"\D", "", number)
    suffix = GROUP_JID_SUFFIX if len(digits) >= GROUP_MIN_DIGITS else PERSONAL_JID_SUFFIX
    return f"{digits}{suffix}"


def new_message_id() -> str:
    """An id shaped like the ones Baileys gives API sends, e.g. 3EB0C0FFEE1234567890AB."""
    return MESSAGE_ID_PREFIX + secrets.token_hex(MESSAGE_ID_RANDOM_BYTES).upper()


def error_body(status: int, message: Any) -> dict[str, Any]:
    """Evolution's error shape (§4.1)."""
    return {"status": status, "error": _REASONS.get(status, "Error"), "response": {"message": message}}


def _error(status: int, message: Any) -> web.Response:
    return web.json_response(error_body(status, message), status=status)


def _bad_request(*messages: Any) -> web.Response:
    return _error(HTTP_BAD_REQUEST, list(messages))


def _is_media_reference(value: str) -> bool:
    if _HTTP_URL.match(value):
        return True
    return len(value) % _BASE64_BLOCK == 0 and bool(_BASE64.match(value))


def _missing(body: dict[str, Any], fields: Sequence[str], prefix: str = "") -> list[str]:
    # Messages as jsonschema's stack with "instance." removed, as Evolution sends them.
    return [f'{prefix or "instance "}requires property "{name}"' for name in fields if name not in body]


class FakeEvolution(BackgroundServer):
    """Evolution API v2 on 127.0.0.1, in a background thread. Thread-safe to drive and inspect."""

    name = "fake-evolution"

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        instance: str = DEFAULT_INSTANCE,
        *,
        host: str = DEFAULT_HOST,
        port: int = EPHEMERAL_PORT,
        apply_delays: bool = False,
    ) -> None:
        """``apply_delays`` makes sends and sendPresence block for their ``delay`` like Evolution
        does; it is off by default to keep tests fast."""
        super().__init__(host=host, port=port)
        self.api_key = api_key
        self.instance = instance
        self.apply_delays = apply_delays
        self._instance_id = str(uuid.uuid4())
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._text_counts: collections.Counter = collections.Counter()
        self._sent_messages: dict[str, dict[str, Any]] = {}
        self._fail_remaining = 0
        self._fail_status = HTTP_INTERNAL_ERROR
        self._latency_s = 0.0
        self._state = "open"
        self._media: Optional[tuple[str, str]] = None
        self._profile_picture_url: Optional[str] = DEFAULT_PROFILE_PICTURE_URL
        self._unregistered: set[str] = set()
        self._webhook: Optional[dict[str, Any]] = None

    # ----------------------------------------------------------------- lifecycle

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=MAX_BODY_BYTES)
        app.router.add_get("/", self._liveness)
        app.router.add_post("/message/{action}/{instance}", self._guarded(self._message_route))
        app.router.add_post("/chat/{action}/{instance}", self._guarded(self._chat_route))
        app.router.add_get("/instance/connectionState/{instance}", self._guarded(self._connection_state))
        app.router.add_post("/webhook/set/{instance}", self._guarded(self._set_webhook))
        app.router.add_get("/webhook/find/{instance}", self._guarded(self._find_webhook))
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    # ----------------------------------------------------------------- inspection

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, in arrival order."""
        with self._lock:
            return list(self._requests)

    def requests_for(self, action: str) -> list[RecordedRequest]:
        """Requests to one route action, e.g. ``"sendText"`` or ``"connectionState"``."""
        return [record for record in self.requests if record.action == action]

    def sent_texts(self, number: Optional[str] = None) -> list[str]:
        """Texts that sendText accepted (2xx), in order; only those to ``number`` if given."""
        target = to_jid(number) if number is not None else None
        texts = []
        for record in self.requests_for("sendText"):
            if record.status != HTTP_CREATED or not isinstance(record.json, dict):
                continue
            if target is not None and to_jid(str(record.json.get("number", ""))) != target:
                continue
            texts.append(record.json["text"])
        return texts

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float = DEFAULT_WAIT_TIMEOUT_S) -> bool:
        """Poll ``predicate`` until it is true (→ True) or ``timeout_s`` passes (→ False).

        Blocks the calling thread: from a coroutine use ``async_wait_for``.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            if predicate():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(WAIT_POLL_INTERVAL_S)

    async def async_wait_for(
        self, predicate: Callable[[], bool], timeout_s: float = DEFAULT_WAIT_TIMEOUT_S
    ) -> bool:
        """``wait_for`` that lets the caller's event loop run while waiting."""
        deadline = time.monotonic() + timeout_s
        while True:
            if predicate():
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(WAIT_POLL_INTERVAL_S)

    def sent_text_count(self, number: str) -> int:
        """How many texts sendText accepted for ``number``: ``len(sent_texts(number))`` in O(1),
        for pollers that must not load the machine they measure."""
        with self._lock:
            return self._text_counts[to_jid(number)]

    def clear(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self._requests.clear()
            self._text_counts.clear()

    def reset(self) -> None:
        """Forget the requests and undo every injection and state change."""
        with self._lock:
            self._requests.clear()
            self._text_counts.clear()
            self._sent_messages.clear()
            self._fail_remaining = 0
            self._fail_status = HTTP_INTERNAL_ERROR
            self._latency_s = 0.0
            self._state = "open"
            self._media = None
            self._profile_picture_url = DEFAULT_PROFILE_PICTURE_URL
            self._unregistered.clear()
            self._webhook = None

    # ----------------------------------------------------------------- injection

    def fail_next(self, count: int, status: int = HTTP_INTERNAL_ERROR) -> None:
        """Answer the next ``count`` requests (any route) with ``status`` and an Evolution error body."""
        if count < 0 or status < HTTP_BAD_REQUEST:
            raise ValueError("count must be >= 0 and status an HTTP error status")
        with self._lock:
            self._fail_remaining = count
            self._fail_status = status

    def set_latency(self, seconds: float) -> None:
        """Delay every answer by ``seconds`` (the request is recorded on arrival)."""
        if seconds < 0:
            raise ValueError("latency must not be negative")
        with self._lock:
            self._latency_s = seconds

    def set_connection_state(self, state: str) -> None:
        """What connectionState reports. Unless "open", sends fail with 500 Connection Closed."""
        if state not in CONNECTION_STATES:
            raise ValueError(f"state must be one of {CONNECTION_STATES}")
        with self._lock:
            self._state = state

    def set_media(self, base64_str: Optional[str], mimetype: str = "application/octet-stream") -> None:
        """What getBase64FromMediaMessage returns; None (the default) answers 400 Message not found."""
        with self._lock:
            self._media = None if base64_str is None else (base64_str, mimetype)

    def set_profile_picture_url(self, url: Optional[str]) -> None:
        with self._lock:
            self._profile_picture_url = url

    def set_unregistered(self, *numbers: str) -> None:
        """Numbers that are not on WhatsApp: sends to them answer 400 ``exists: false``."""
        with self._lock:
            self._unregistered = {to_jid(number) for number in numbers}

    # ----------------------------------------------------------------- plumbing

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        raw = await request.read()
        body: Any = None
        body_error: Optional[str] = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError as error:
                body_error = f"Invalid JSON body: {error}"
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            headers={name.lower(): value for name, value in request.headers.items()},
            json=body,
            time=time.monotonic(),
        )
        with self._lock:
            self._requests.append(record)
            latency_s = self._latency_s
            injected_status: Optional[int] = None
            if self._fail_remaining > 0:
                self._fail_remaining -= 1
                injected_status = self._fail_status
        if latency_s:
            await asyncio.sleep(latency_s)
        if injected_status is not None:
            response: web.StreamResponse = _error(injected_status, ["Injected failure (fake Evolution)"])
        elif body_error is not None:
            response = _bad_request(body_error)
        else:
            request["json"] = body
            response = await handler(request)
        with self._lock:
            record.status = response.status
            if record.action == "sendText" and response.status == HTTP_CREATED and isinstance(body, dict):
                self._text_counts[to_jid(str(body.get("number", "")))] += 1
        logger.info("%s %s -> %d", request.method, request.path, response.status)
        return response

    def _guarded(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        """Evolution's guard order (§4.1): unknown instance → 404, then bad apikey → 401."""

        async def guarded(request: web.Request) -> web.Response:
            name = request.match_info["instance"]
            if name != self.instance:
                return _error(HTTP_NOT_FOUND, [f'The "{name}" instance does not exist'])
            if request.headers.get("apikey") != self.api_key:
                return _error(HTTP_UNAUTHORIZED, "Unauthorized")
            return await handler(request, request.get("json"))

        return guarded

    async def _liveness(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "status": HTTP_OK,
                "message": "Welcome to the Evolution API, it is working!",
                "version": EVOLUTION_VERSION,
                "clientName": "fake-evolution",
            }
        )

    async def _not_found(self, request: web.Request) -> web.Response:
        return _error(HTTP_NOT_FOUND, [f"Cannot {request.method} {request.path}"])

    def _whatsapp_closed(self) -> bool:
        with self._lock:
            return self._state != "open"

    async def _block_for(self, delay: Any) -> None:
        if self.apply_delays and isinstance(delay, int) and delay > 0:
            await asyncio.sleep(delay / MS_PER_S)

    # ----------------------------------------------------------------- /message

    async def _message_route(self, request: web.Request, body: Any) -> web.Response:
        action = request.match_info["action"]
        if action == "sendText":
            return await self._send_text(body)
        if action == "sendMedia":
            return await self._send_media(body)
        if action == "sendWhatsAppAudio":
            return await self._send_audio(body)
        if action in _OTHER_SENDS:
            return await self._send_other(action, body)
        return await self._not_found(request)

    def _check_send(self, body: Any, required: Sequence[str]) -> Optional[web.Response]:
        """Schema, connection and number checks shared by the sends; None when all pass."""
        if not isinstance(body, dict):
            return _bad_request("instance is not of a type(s) object")
        problems = _missing(body, required)
        if "number" in body and not isinstance(body["number"], str):
            problems.append("number is not of a type(s) string")
        if "delay" in body and not isinstance(body["delay"], int):
            problems.append("delay is not of a type(s) integer")
        if problems:
            return _bad_request(*problems)
        if self._whatsapp_closed():
            return _error(HTTP_INTERNAL_ERROR, ["Connection Closed"])
        if "number" in body:
            jid = to_jid(body["number"])
            with self._lock:
                unregistered = jid in self._unregistered
            if unregistered or jid.startswith("@"):
                return _bad_request({"jid": jid, "exists": False, "number": body["number"]})
        return None

    async def _send_text(self, body: Any) -> web.Response:
        problem = self._check_send(body, ("number", "text"))
        if problem is not None:
            return problem
        text = body["text"]
        if not isinstance(text, str) or not text.strip():
            return _bad_request("Text is required")
        await self._block_for(body.get("delay"))
        return self._sent(body, "conversation", {"conversation": text})

    async def _send_media(self, body: Any) -> web.Response:
        problem = self._check_send(body, ("number", "mediatype", "media"))
        if problem is not None:
            return problem
        mediatype, media = body["mediatype"], body["media"]
        if mediatype not in MEDIATYPES:
            return _bad_request(f"mediatype is not one of enum values: {','.join(MEDIATYPES)}")
        if not isinstance(media, str) or not _is_media_reference(media):
            return _bad_request("Owned media must be a url or base64")
        file_name = body.get("fileName")
        if mediatype == "document" and not file_name and not _HTTP_URL.match(media):
            return _bad_request("For base64 the file name must be informed.")
        await self._block_for(body.get("delay"))
        message_type = _MEDIA_MESSAGE_TYPES.get(mediatype, "documentMessage")
        content: dict[str, Any] = {
            "url": FAKE_MEDIA_URL,
            "mimetype": _sent_mimetype(mediatype, file_name, body.get("mimetype")),
        }
        if body.get("caption") and mediatype != "audio":
            content["caption"] = body["caption"]
        if mediatype == "document":
            content["fileName"] = file_name or ""
        return self._sent(body, message_type, {message_type: content})

    async def _send_audio(self, body: Any) -> web.Response:
        problem = self._check_send(body, ("number", "audio"))
        if problem is not None:
            return problem
        if not isinstance(body["audio"], str) or not _is_media_reference(body["audio"]):
            return _bad_request("Owned media must be a url or base64")
        await self._block_for(body.get("delay"))
        content = {"url": FAKE_MEDIA_URL, "mimetype": VOICE_NOTE_MIMETYPE, "ptt": True}
        # Evolution ignores quoted on voice notes (§4.5).
        return self._sent({**body, "quoted": None}, "audioMessage", {"audioMessage": content})

    async def _send_other(self, action: str, body: Any) -> web.Response:
        required, message_type = _OTHER_SENDS[action]
        problem = self._check_send(body, required)
        if problem is not None:
            return problem
        await self._block_for(body.get("delay"))
        if action == "sendReaction":
            key = body["key"] if isinstance(body["key"], dict) else {}
            body = {**body, "number": str(key.get("remoteJid", ""))}
        content = {name: value for name, value in body.items() if name not in _SEND_OPTION_FIELDS}
        return self._sent(body, message_type, {message_type: content})

    def _sent(self, body: dict[str, Any], message_type: str, message: dict[str, Any]) -> web.Response:
        """201 with the sent message in the ``send.message`` shape (§3.3, §4.3)."""
        jid = to_jid(body["number"])
        timestamp = int(time.time())
        sent: dict[str, Any] = {
            "key": {"remoteJid": jid, "fromMe": True, "id": new_message_id()},
            "pushName": SENT_PUSH_NAME,
            "status": "PENDING",
            "message": message,
            "messageType": message_type,
            "messageTimestamp": timestamp,
            "instanceId": self._instance_id,
            "source": "web",
        }
        context = self._context_info(jid, body.get("quoted"), timestamp)
        if context is not None:
            sent["contextInfo"] = context
        with self._lock:
            self._sent_messages[sent["key"]["id"]] = message
        return web.json_response(sent, status=HTTP_CREATED)

    def _context_info(self, jid: str, quoted: Any, timestamp: int) -> Optional[dict[str, Any]]:
        context: dict[str, Any] = {}
        if not jid.endswith(GROUP_JID_SUFFIX):
            # Evolution always adds one in 1:1 chats (§3.3).
            context = {
                "mentionedJid": [],
                "groupMentions": [],
                "ephemeralSettingTimestamp": {"low": timestamp, "high": 0, "unsigned": False},
                "disappearingMode": {"initiator": 0},
            }
        quote = self._resolve_quote(quoted)
        if quote is not None:
            key, quoted_message = quote
            context.update(
                {
                    "stanzaId": key.get("id"),
                    "participant": key.get("remoteJid", jid),
                    "quotedMessage": quoted_message,
                }
            )
        return context or None

    def _resolve_quote(self, quoted: Any) -> Optional[tuple[dict[str, Any], dict[str, Any]]]:
        """Like Evolution: without ``message`` the quote needs a stored message, else it is dropped."""
        if not isinstance(quoted, dict) or not isinstance(quoted.get("key"), dict):
            return None
        key = quoted["key"]
        if isinstance(quoted.get("message"), dict):
            return key, quoted["message"]
        with self._lock:
            stored = self._sent_messages.get(str(key.get("id")))
        return (key, stored) if stored is not None else None

    # ----------------------------------------------------------------- /chat

    async def _chat_route(self, request: web.Request, body: Any) -> web.Response:
        action = request.match_info["action"]
        handlers = {
            "sendPresence": self._send_presence,
            "markMessageAsRead": self._mark_as_read,
            "getBase64FromMediaMessage": self._get_base64,
            "fetchProfilePictureUrl": self._profile_picture,
        }
        chat_handler = handlers.get(action)
        if chat_handler is None:
            return await self._not_found(request)
        if not isinstance(body, dict):
            return _bad_request("instance is not of a type(s) object")
        return await chat_handler(body)

    async def _send_presence(self, body: dict[str, Any]) -> web.Response:
        problems = _missing(body, ("number", "presence", "delay"))
        if "presence" in body and body["presence"] not in PRESENCES:
            problems.append(f"presence is not one of enum values: {','.join(PRESENCES)}")
        if "delay" in body and not isinstance(body["delay"], int):
            problems.append("delay is not of a type(s) integer")
        if problems:
            return _bad_request(*problems)
        if self._whatsapp_closed():
            return _error(HTTP_INTERNAL_ERROR, ["Connection Closed"])
        await self._block_for(body["delay"])
        return web.json_response({"presence": body["presence"]}, status=HTTP_CREATED)

    async def _mark_as_read(self, body: dict[str, Any]) -> web.Response:
        keys = body.get("readMessages")
        if not isinstance(keys, list):
            problems = _missing(body, ("readMessages",)) or ["readMessages is not of a type(s) array"]
            return _bad_request(*problems)
        problems: list[str] = []
        for index, key in enumerate(keys):
            if not isinstance(key, dict):
                problems.append(f"readMessages[{index}] is not of a type(s) object")
                continue
            problems += _missing(key, ("remoteJid", "fromMe", "id"), prefix=f"readMessages[{index}] ")
        if problems:
            return _bad_request(*problems)
        if self._whatsapp_closed():
            return _error(HTTP_INTERNAL_ERROR, ["Read messages fail"])
        return web.json_response({"message": "Read messages", "read": "success"}, status=HTTP_CREATED)

    async def _get_base64(self, body: dict[str, Any]) -> web.Response:
        message = body.get("message")
        if not isinstance(message, dict):
            return _bad_request(*(_missing(body, ("message",)) or ["message is not of a type(s) object"]))
        with self._lock:
            media = self._media
        if media is None:
            return _bad_request("Message not found")
        payload, mimetype = media
        if body.get("convertToMp4") and mimetype.startswith("audio/"):
            mimetype = MP4_AUDIO_MIMETYPE
        key = message.get("key") if isinstance(message.get("key"), dict) else {}
        message_id = str(key.get("id") or new_message_id())
        file_name = _document_file_name(message) or f"{message_id}{_extension_for(mimetype)}"
        return web.json_response(
            {
                "mediaType": _media_message_type(message, mimetype),
                "fileName": file_name,
                "size": {"fileLength": {"low": _decoded_length(payload), "high": 0, "unsigned": True}},
                "mimetype": mimetype,
                "base64": payload,
                "buffer": None,
            },
            status=HTTP_CREATED,
        )

    async def _profile_picture(self, body: dict[str, Any]) -> web.Response:
        problems = _missing(body, ("number",))
        if problems:
            return _bad_request(*problems)
        with self._lock:
            url = self._profile_picture_url
        return web.json_response({"wuid": to_jid(str(body["number"])), "profilePictureUrl": url})

    # ----------------------------------------------------------------- /instance, /webhook

    async def _connection_state(self, request: web.Request, body: Any) -> web.Response:
        with self._lock:
            state = self._state
        return web.json_response({"instance": {"instanceName": self.instance, "state": state}})

    async def _set_webhook(self, request: web.Request, body: Any) -> web.Response:
        if not isinstance(body, dict) or not isinstance(body.get("webhook"), dict):
            return _bad_request('instance requires property "webhook"')
        webhook = body["webhook"]
        problems = _missing(webhook, ("enabled", "url"), prefix="webhook ")
        if "enabled" in webhook and not isinstance(webhook["enabled"], bool):
            problems.append("webhook.enabled is not of a type(s) boolean")
        if "url" in webhook and (not isinstance(webhook["url"], str) or not webhook["url"]):
            problems.append('The "url" cannot be empty')
        events = webhook.get("events")
        if events is not None:
            if not isinstance(events, list):
                problems.append("webhook.events is not of a type(s) array")
            else:
                problems += [
                    f"webhook.events[{index}] is not one of enum values: {','.join(sorted(WEBHOOK_EVENTS))}"
                    for index, event in enumerate(events)
                    if event not in WEBHOOK_EVENTS
                ]
        if problems:
            return _bad_request(*problems)
        if events is None:
            # Evolution reads events.length unguarded: a plain Error → 500 with a string message.
            return _error(HTTP_INTERNAL_ERROR, "Cannot read properties of undefined (reading 'length')")
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        with self._lock:
            previous = self._webhook
            row = {
                "id": previous["id"] if previous else uuid.uuid4().hex[:25],
                "url": webhook["url"],
                "headers": webhook.get("headers", previous["headers"] if previous else None),
                "enabled": webhook["enabled"],
                "events": list(events) if webhook["enabled"] else [],
                "webhookByEvents": bool(webhook.get("byEvents", False)),
                "webhookBase64": bool(webhook.get("base64", False)),
                "createdAt": previous["createdAt"] if previous else now,
                "updatedAt": now,
                "instanceId": self._instance_id,
            }
            self._webhook = row
        return web.json_response(row, status=HTTP_CREATED)

    async def _find_webhook(self, request: web.Request, body: Any) -> web.Response:
        with self._lock:
            row = self._webhook
        return web.json_response(row)

    @property
    def webhook(self) -> Optional[dict[str, Any]]:
        """The stored webhook row, as webhook/find returns it."""
        with self._lock:
            return None if self._webhook is None else dict(self._webhook)


# --------------------------------------------------------------------------- media helpers

_EXTENSIONS = {
    "audio/ogg": ".oga",
    "audio/mp4": ".m4a",
    "audio/mpeg": ".mp3",
    "image/jpeg": ".jpeg",
    "image/png": ".png",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
    "application/pdf": ".pdf",
}


def _extension_for(mimetype: str) -> str:
    bare = mimetype.split(";", 1)[0].strip().lower()
    return _EXTENSIONS.get(bare) or mimetypes.guess_extension(bare, strict=False) or ""


def _sent_mimetype(mediatype: str, file_name: Any, mimetype: Any) -> str:
    """Evolution takes the type from fileName's extension when a name is given (§4.4)."""
    if mediatype == "image":
        return _DEFAULT_MEDIA_MIMETYPES["image"]  # always re-encoded to JPEG
    name = file_name or _DEFAULT_MEDIA_FILE_NAMES.get(mediatype)
    if name:
        return mimetypes.guess_type(str(name), strict=False)[0] or UNKNOWN_MIMETYPE
    return str(mimetype) if mimetype and mediatype != "document" else UNKNOWN_MIMETYPE


def _media_message_type(message: dict[str, Any], mimetype: str) -> str:
    declared = message.get("messageType")
    if isinstance(declared, str) and declared.endswith("Message") and declared != "conversation":
        return declared
    major = mimetype.split("/", 1)[0]
    return _MEDIA_MESSAGE_TYPES.get(major, "documentMessage")


def _document_file_name(message: dict[str, Any]) -> Optional[str]:
    """A document keeps its own name; other media get ``<key.id>.<ext>`` (§2.6)."""
    content = message.get("message")
    document = content.get("documentMessage") if isinstance(content, dict) else None
    name = document.get("fileName") if isinstance(document, dict) else None
    return str(name) if name else None


def _decoded_length(payload: str) -> int:
    try:
        return len(base64.b64decode(payload, validate=False))
    except (binascii.Error, ValueError):
        return 0


# --------------------------------------------------------------------------- command line


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Fake Evolution API v2 server for local tests.")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_CLI_PORT)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--instance", default=DEFAULT_INSTANCE)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    parser.add_argument("--apply-delays", action="store_true", help="block sends for their `delay`")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    fake = FakeEvolution(
        args.api_key, args.instance, host=args.host, port=args.port, apply_delays=args.apply_delays
    )
    fake.set_latency(args.latency)
    fake.start()  # the banner names its URL
    return serve_until_signalled(fake, f"Fake Evolution API at {fake.url} (instance {args.instance!r})")

if __name__ == "__main__":
    raise SystemExit(main())
