"""Async client for the parts of Evolution API v2's REST API this project uses.

One pooled ``httpx.AsyncClient`` per ``EvolutionClient``, created on first use. Failed calls are
retried with exponential backoff and jitter only when that cannot send a message twice
(``whatsapp.retry_policy``), and a circuit breaker stops hammering an Evolution that is down.

Errors (``whatsapp.evolution_errors``, re-exported here):

- ``EvolutionError``: Evolution answered 4xx (or another non-2xx, non-5xx status); never retried.
- ``EvolutionUnavailable``: connection errors, timeouts or 5xx after the retries, or the breaker
  is open. ``maybe_delivered`` tells whether a send may have reached WhatsApp anyway (P12).
"""
from __future__ import annotations

import asyncio
import copy
import logging
import random
import time
from typing import Any, Mapping, Optional, Sequence, cast
from urllib.parse import quote, urlsplit

import httpx

from observability import metrics
from observability.logs import REQUEST_ID_HEADER, get_request_id
from observability.privacy import mask_phone
from sdr.breaker import CircuitBreaker
from sdr.http_pool import PooledHttpClient, json_or_none
from whatsapp.evolution_errors import (
    EvolutionAPIError,
    EvolutionError,
    EvolutionUnavailable,
    error_message,
)
from whatsapp.request_bodies import (
    MEDIATYPES,
    PRESENCES,
    check_delay,
    is_http_url,
    plain,
    put_if_set,
    split_data_uri,
    validated_custom_path,
)
from whatsapp.retry_policy import (
    DEFAULT_BACKOFF_BASE_S,
    DEFAULT_BACKOFF_MAX_S,
    DEFAULT_MAX_RETRIES,
    HTTP_SERVER_ERROR,
    backoff_delay_s,
    maybe_delivered_after_status,
    maybe_delivered_after_transport_error,
    retryable_transport_error,
)

__all__ = [
    "EvolutionAPIError",
    "EvolutionClient",
    "EvolutionError",
    "EvolutionUnavailable",
]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_BREAKER_FAILURES = 5
DEFAULT_BREAKER_RESET_S = 30.0

MAX_CONNECTIONS = 100
MAX_KEEPALIVE_CONNECTIONS = 20
# httpcore's pool rescans every queued request on each state change, so a burst of hundreds of
# calls gets quadratically slow; waiting on a semaphore first keeps that queue short.
MAX_IN_FLIGHT = MAX_CONNECTIONS
# Below Node's default keepAliveTimeout (5 s): reusing a socket Evolution is just closing would
# turn a send into an ambiguous "maybe delivered" failure that must not be retried.
KEEPALIVE_EXPIRY_S = 4.0

MS_PER_S = 1000

INSTANCE_PLACEHOLDER = "{instance}"
LID_SUFFIX = "@lid"


# --------------------------------------------------------------------------- client


class EvolutionClient(PooledHttpClient):
    """Evolution API v2 client bound to one instance. Use ``async with`` or call ``aclose()``.

    ``timeout_s`` applies to connect, write and pool waits, and to reads; a send with a typing
    ``delay`` gets that delay added to its read timeout, because Evolution holds the HTTP call
    open while it "types" (§4.2).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        instance: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_base_s: float = DEFAULT_BACKOFF_BASE_S,
        backoff_max_s: float = DEFAULT_BACKOFF_MAX_S,
        breaker_failures: int = DEFAULT_BREAKER_FAILURES,
        breaker_reset_s: float = DEFAULT_BREAKER_RESET_S,
        transport: Optional[httpx.AsyncBaseTransport] = None,
    ) -> None:
        if not is_http_url(base_url):
            raise ValueError("base_url must be an http(s) URL")
        if not api_key:
            raise ValueError("api_key must not be empty")
        if not instance:
            raise ValueError("instance must not be empty")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        if max_retries < 0 or backoff_base_s < 0 or backoff_max_s < 0:
            raise ValueError("max_retries, backoff_base_s and backoff_max_s must not be negative")
        super().__init__()
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._instance = instance
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._transport = transport
        self._breaker = CircuitBreaker(breaker_failures, breaker_reset_s, name="Evolution")
        self._random = random.Random()
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        # Views of the same server for other instances (for_instance) share this pool and breaker.
        self._owner: Optional[EvolutionClient] = None
        self._views: dict[str, EvolutionClient] = {}

    def __repr__(self) -> str:
        # Deliberately without the api key.
        return f"EvolutionClient(base_url={self._base_url!r}, instance={self._instance!r})"

    @property
    def instance(self) -> str:
        return self._instance

    def for_instance(self, instance: Optional[str]) -> EvolutionClient:
        """This client for another instance of the same Evolution server (a reply goes out
        through the instance that received the message): same key, pool, breaker and limits."""
        owner = self._owner or self
        if not instance or instance == owner._instance:
            return owner
        view = owner._views.get(instance)
        if view is None:
            view = copy.copy(owner)
            view._instance, view._owner, view._client, view._views = instance, owner, None, {}
            owner._views[instance] = view
        return view

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker

    # ----------------------------------------------------------------- lifecycle

    def _http(self) -> httpx.AsyncClient:
        # A view for another instance uses its owner's pool.
        return self._owner._http() if self._owner is not None else super()._http()

    def _new_pool(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self._base_url,
            headers={"apikey": self._api_key, "accept": "application/json"},
            timeout=httpx.Timeout(self._timeout_s),
            limits=httpx.Limits(
                max_connections=MAX_CONNECTIONS,
                max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS,
                keepalive_expiry=KEEPALIVE_EXPIRY_S,
            ),
            transport=self._transport,
        )

    # ----------------------------------------------------------------- messages

    async def send_text(
        self,
        number: str,
        text: str,
        *,
        delay_ms: Optional[int] = None,
        quoted: Optional[Mapping[str, Any]] = None,
        link_preview: Optional[bool] = None,
    ) -> dict[str, Any]:
        """``POST /message/sendText`` (§4.3); returns the sent message (``key.id`` to keep)."""
        check_delay(delay_ms)
        body: dict[str, Any] = {"number": number, "text": text}
        put_if_set(body, delay=delay_ms, quoted=plain(quoted), linkPreview=link_preview)
        logger.debug("sendText to %s (%d chars)", mask_phone(number), len(text))
        return await self._request_object(
            "POST", "/message/sendText/{instance}", body, idempotent=False, blocking_delay_ms=delay_ms
        )

    async def send_media(
        self,
        number: str,
        *,
        mediatype: str,
        media: str,
        mimetype: Optional[str] = None,
        file_name: Optional[str] = None,
        caption: Optional[str] = None,
        delay_ms: Optional[int] = None,
        quoted: Optional[Mapping[str, Any]] = None,
    ) -> dict[str, Any]:
        """``POST /message/sendMedia`` (§4.4). ``media`` is an http(s) URL or base64.

        Evolution takes the MIME type from ``file_name``'s extension, so a document must have
        one (see ``outbound.media_file_name``).
        """
        if mediatype not in MEDIATYPES:
            raise ValueError(f"mediatype must be one of {sorted(MEDIATYPES)}, got {mediatype!r}")
        if mediatype == "document" and not file_name:
            raise ValueError("a document needs file_name with the right extension (§4.4)")
        check_delay(delay_ms)
        media, mimetype = split_data_uri(media, mimetype)
        body: dict[str, Any] = {"number": number, "mediatype": mediatype, "media": media}
        put_if_set(
            body,
            mimetype=mimetype,
            fileName=file_name,
            caption=caption,
            delay=delay_ms,
            quoted=plain(quoted),
        )
        logger.debug("sendMedia %s to %s", mediatype, mask_phone(number))
        return await self._request_object(
            "POST", "/message/sendMedia/{instance}", body, idempotent=False, blocking_delay_ms=delay_ms
        )

    async def send_whatsapp_audio(
        self,
        number: str,
        audio: str,
        *,
        delay_ms: Optional[int] = None,
        encoding: Optional[bool] = None,
    ) -> dict[str, Any]:
        """``POST /message/sendWhatsAppAudio`` (§4.5): a voice note; Evolution ignores quotes here."""
        check_delay(delay_ms)
        audio, _ = split_data_uri(audio, None)
        body: dict[str, Any] = {"number": number, "audio": audio}
        put_if_set(body, delay=delay_ms, encoding=encoding)
        logger.debug("sendWhatsAppAudio to %s", mask_phone(number))
        return await self._request_object(
            "POST",
            "/message/sendWhatsAppAudio/{instance}",
            body,
            idempotent=False,
            blocking_delay_ms=delay_ms,
        )

    async def post_custom(self, endpoint: str, body: Mapping[str, Any]) -> Any:
        """POST ``body`` to an Evolution path such as ``"/message/sendPoll/{instance}"``.

        Only relative paths are accepted; ``{instance}`` is replaced by this client's instance.
        Treated as a send: never retried once the request may have gone out.
        """
        path = validated_custom_path(endpoint)
        if not isinstance(body, Mapping):
            raise TypeError("body must be a JSON object (a mapping)")
        resolved = path.replace(INSTANCE_PLACEHOLDER, self._quoted_instance())
        if "{" in resolved or "}" in resolved:
            raise ValueError(f"endpoint has an unknown placeholder; only {INSTANCE_PLACEHOLDER} is replaced")
        logger.debug("custom POST %s", urlsplit(resolved).path)
        return await self._send("POST", resolved, dict(body), idempotent=False)

    # ----------------------------------------------------------------- chat

    async def send_presence(
        self, number: str, *, presence: str = "composing", delay_ms: int
    ) -> dict[str, Any]:
        """``POST /chat/sendPresence`` (§4.7); Evolution shows it for ``delay_ms`` before answering."""
        if presence not in PRESENCES:
            raise ValueError(f"presence must be one of {sorted(PRESENCES)}, got {presence!r}")
        check_delay(delay_ms)
        body = {"number": number, "presence": presence, "delay": delay_ms}
        logger.debug("sendPresence %s to %s for %d ms", presence, mask_phone(number), delay_ms)
        return await self._request_object(
            "POST", "/chat/sendPresence/{instance}", body, idempotent=True, blocking_delay_ms=delay_ms
        )

    async def mark_as_read(
        self, remote_jid: str, message_id: str, *, from_me: bool = False
    ) -> dict[str, Any]:
        """``POST /chat/markMessageAsRead`` (§4.7).

        Evolution silently drops ``@lid`` keys (P8): pass the ``@s.whatsapp.net`` JID.
        """
        if remote_jid.endswith(LID_SUFFIX):
            logger.debug(
                "markMessageAsRead with an @lid JID is ignored by Evolution (%s)", mask_phone(remote_jid)
            )
        body = {"readMessages": [{"remoteJid": remote_jid, "fromMe": from_me, "id": message_id}]}
        return await self._request_object("POST", "/chat/markMessageAsRead/{instance}", body, idempotent=True)

    async def get_base64_from_media_message(
        self, message_data: Mapping[str, Any], *, convert_to_mp4: bool = False
    ) -> dict[str, Any]:
        """``POST /chat/getBase64FromMediaMessage`` (§2.6).

        ``message_data`` is the webhook's whole ``data`` object (works without Evolution's
        database) or ``{"key": {"id": ...}}``. Returns ``{mediaType, fileName, mimetype, base64, ...}``.
        """
        body = {"message": dict(message_data), "convertToMp4": convert_to_mp4}
        return await self._request_object(
            "POST", "/chat/getBase64FromMediaMessage/{instance}", body, idempotent=True
        )

    async def fetch_profile_picture_url(self, number: str) -> dict[str, Any]:
        """``POST /chat/fetchProfilePictureUrl`` → ``{"wuid", "profilePictureUrl" (or None)}``."""
        return await self._request_object(
            "POST", "/chat/fetchProfilePictureUrl/{instance}", {"number": number}, idempotent=True
        )

    # ----------------------------------------------------------------- instance and webhook

    async def connection_state(self, *, probe: bool = False) -> dict[str, Any]:
        """``GET /instance/connectionState`` → ``{"instance": {"instanceName", "state"}}`` (§4.8).

        ``probe``: one attempt, made even while the circuit breaker is open (a health
        check is how a quiet worker learns that Evolution is back); its outcome counts.
        """
        return await self._request_object(
            "GET", "/instance/connectionState/{instance}", None, idempotent=True, probe=probe
        )

    async def set_webhook(
        self,
        url: str,
        *,
        events: Sequence[str],
        headers: Optional[Mapping[str, str]] = None,
        by_events: bool = False,
        base64: bool = True,
        enabled: bool = True,
    ) -> dict[str, Any]:
        """``POST /webhook/set`` (§1.2) with the nested ``webhook`` object.

        ``events`` is always sent (Evolution answers 500 without it); ``[]`` means all events.
        A change of ``base64`` only applies after the instance reconnects.
        """
        if not is_http_url(url):
            raise ValueError("webhook url must be an http(s) URL (Evolution silently ignores others)")
        if isinstance(events, str):
            raise TypeError("events must be a sequence of event names, not a string")
        webhook: dict[str, Any] = {
            "enabled": enabled,
            "url": url,
            "byEvents": by_events,
            "base64": base64,
            "events": list(events),
        }
        if headers is not None:
            webhook["headers"] = dict(headers)
        return await self._request_object("POST", "/webhook/set/{instance}", {"webhook": webhook}, idempotent=True)

    async def find_webhook(self) -> Optional[dict[str, Any]]:
        """``GET /webhook/find`` → the stored webhook row, or None when there is none."""
        # Evolution answers the row (a JSON object) or null; cast as in _request_object.
        answer = await self._request("GET", "/webhook/find/{instance}", None, idempotent=True)
        return cast(Optional[dict[str, Any]], answer)

    # ----------------------------------------------------------------- transport

    def _quoted_instance(self) -> str:
        return quote(self._instance, safe="")

    async def _request(
        self,
        method: str,
        path_template: str,
        body: Optional[Mapping[str, Any]],
        *,
        idempotent: bool,
        blocking_delay_ms: Optional[int] = None,
        probe: bool = False,
    ) -> Any:
        path = path_template.replace(INSTANCE_PLACEHOLDER, self._quoted_instance())
        return await self._send(
            method, path, body, idempotent=idempotent, blocking_delay_ms=blocking_delay_ms, probe=probe
        )

    async def _request_object(
        self,
        method: str,
        path_template: str,
        body: Optional[Mapping[str, Any]],
        *,
        idempotent: bool,
        blocking_delay_ms: Optional[int] = None,
        probe: bool = False,
    ) -> dict[str, Any]:
        """``_request`` for the endpoints whose reference documents a JSON object as the answer.

        A cast, not a check: the answer is passed on as it came (validating it here would change
        what callers see on a malformed answer); the type records the API's contract.
        """
        answer = await self._request(
            method, path_template, body, idempotent=idempotent, blocking_delay_ms=blocking_delay_ms, probe=probe
        )
        return cast(dict[str, Any], answer)

    async def _send(
        self,
        method: str,
        path: str,
        body: Optional[Mapping[str, Any]],
        *,
        idempotent: bool,
        blocking_delay_ms: Optional[int] = None,
        probe: bool = False,
    ) -> Any:
        http = self._http()
        timeout = self._timeout_for(blocking_delay_ms)
        max_retries = 0 if probe else self._max_retries
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                response = await self._attempt(http, method, path, body, timeout, past_breaker=probe)
            except httpx.TransportError as error:
                self._breaker.record_failure()
                maybe_delivered = maybe_delivered_after_transport_error(error, idempotent=idempotent)
                retryable = retryable_transport_error(error, idempotent=idempotent)
                if not retryable or attempt >= max_retries:
                    raise EvolutionUnavailable(
                        f"{method} {path} failed after {attempt + 1} attempt(s): {type(error).__name__}",
                        maybe_delivered=maybe_delivered,
                    ) from error
                reason = type(error).__name__
            else:
                status = response.status_code
                logger.debug(
                    "Evolution %s %s -> %d in %.0f ms",
                    method,
                    path,
                    status,
                    (time.perf_counter() - started) * MS_PER_S,
                )
                if status < HTTP_SERVER_ERROR:
                    self._breaker.record_success()
                    return self._decode(response)
                self._breaker.record_failure()
                maybe_delivered = maybe_delivered_after_status(status, idempotent=idempotent)
                if maybe_delivered or attempt >= max_retries:
                    raise EvolutionUnavailable(
                        f"{method} {path} failed after {attempt + 1} attempt(s): HTTP {status} "
                        f"{error_message(json_or_none(response), response.reason_phrase)}",
                        status=status,
                        maybe_delivered=maybe_delivered,
                    )
                reason = f"HTTP {status}"
            delay_s = self._backoff_delay_s(attempt)
            logger.warning(
                "Evolution %s %s failed (%s); retry %d/%d in %.2fs",
                method,
                path,
                reason,
                attempt + 1,
                max_retries,
                delay_s,
            )
            await asyncio.sleep(delay_s)
            attempt += 1

    async def _attempt(
        self,
        http: httpx.AsyncClient,
        method: str,
        path: str,
        body: Optional[Mapping[str, Any]],
        timeout: httpx.Timeout,
        past_breaker: bool = False,
    ) -> httpx.Response:
        """One HTTP exchange, if the circuit breaker allows it (or ``past_breaker``);
        outcomes are recorded by the caller."""
        async with self._in_flight:
            if not past_breaker and not self._breaker.allow():
                retry_after_s = self._breaker.retry_after_s
                raise EvolutionUnavailable(
                    f"Evolution circuit breaker is open; {method} {path} not attempted "
                    f"(next trial in {retry_after_s:.1f}s)",
                    retry_after_s=retry_after_s,
                )
            endpoint = self._endpoint_label(path)
            try:
                response = await http.request(
                    method, path, json=body, timeout=timeout, headers=_request_id_headers()
                )
            except httpx.TransportError:
                metrics.EVOLUTION_REQUESTS.labels(endpoint=endpoint, status="error").inc()
                raise
            except BaseException:
                # Cancelled or broken before an outcome: free the half-open trial slot.
                self._breaker.release()
                raise
            metrics.EVOLUTION_REQUESTS.labels(endpoint=endpoint, status=str(response.status_code)).inc()
            return response

    def _endpoint_label(self, path: str) -> str:
        """The path without the instance, e.g. "message/sendText": a bounded metric label."""
        return path.replace("/" + self._quoted_instance(), "").strip("/") or "/"

    def _timeout_for(self, blocking_delay_ms: Optional[int]) -> httpx.Timeout:
        extra_s = (blocking_delay_ms or 0) / MS_PER_S
        return httpx.Timeout(self._timeout_s, read=self._timeout_s + extra_s)

    def _backoff_delay_s(self, attempt: int) -> float:
        return backoff_delay_s(
            attempt, base_s=self._backoff_base_s, max_s=self._backoff_max_s, rng=self._random
        )

    @staticmethod
    def _decode(response: httpx.Response) -> Any:
        body = json_or_none(response)
        if not response.is_success:
            message = error_message(body, response.reason_phrase or f"HTTP {response.status_code}")
            raise EvolutionError(response.status_code, message, body)
        if body is None and response.content.strip() not in (b"", b"null"):
            raise EvolutionError(response.status_code, "Evolution answered with a body that is not JSON")
        return body


def _request_id_headers() -> dict[str, str]:
    """The turn's request id travels to Evolution, so its logs can be matched with ours."""
    request_id = get_request_id()
    return {REQUEST_ID_HEADER: request_id} if request_id else {}
