"""Async client for the parts of Google Calendar API v3 meetings use (docs/google-calendar-api.md).

Authentication is a service account's: we sign a JWT with its private key (RS256, claims
``iss`` = the account's e-mail, ``scope``, ``aud`` = the token URL, ``iat``, ``exp`` ≤ 1 h) and
trade it at the token URL (``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``) for an
access token, kept until shortly before it expires and fetched again after a 401. The signing
is google-auth's (``google.auth.crypt`` / ``google.auth.jwt``), the POST is ours (httpx, async,
no thread, no network at import).

One pooled ``httpx.AsyncClient`` per client, created on first use; ``async with`` or ``aclose()``.
Nothing is retried here except that one token refresh: the caller retries, and a write that timed
out may have been applied (``insert_event`` is idempotent per ``request_id``: the event id is
derived from it, and Google's 409 "duplicate" returns the event already made).

Errors, all ``CalendarError`` (``retryable`` tells the families apart):

- retry later: ``CalendarUnavailable`` (network error, timeout, 5xx, a success that is not JSON)
  and its ``CalendarRateLimited`` (429, or 403 with reason rateLimitExceeded /
  userRateLimitExceeded / quotaExceeded; ``retry_after`` when Google said);
- a person must act: ``CalendarAuthError`` (the key is refused, 401, 403 without access to the
  calendar or with the API disabled);
- ``CalendarNotFound``: 404, or 410 (``deleted``: the event was deleted, or a sync token expired);
- plain ``CalendarError`` for the rest (400 bad request, 409, 412).

The key and tokens never appear in a repr, a log line or an error; event bodies are not logged.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional
from urllib.parse import quote, urlsplit

import httpx
from google.auth import crypt
from google.auth import jwt as google_jwt

from meetings.slots import Interval
from sdr.http_pool import PooledHttpClient, json_or_none

__all__ = [
    "CALENDAR_SCOPE",
    "CalendarAuthError",
    "CalendarError",
    "CalendarNotFound",
    "CalendarRateLimited",
    "CalendarUnavailable",
    "EventChanges",
    "FreeBusy",
    "GoogleCalendarClient",
    "ServiceAccount",
    "event_id_for",
    "parse_time",
    "rfc3339",
]

logger = logging.getLogger(__name__)

CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_BASE_URL = "https://www.googleapis.com"
DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"
DEFAULT_TIMEOUT_S = 10.0
ASSERTION_LIFETIME_S = 3600  # Google's maximum
TOKEN_MARGIN_S = 300  # fetch a new token this long before the old one expires
MAX_PAGES = 100
PAGE_SIZE = 250
MS_PER_S = 1000
HTTP_NO_CONTENT, HTTP_UNAUTHORIZED, HTTP_FORBIDDEN, HTTP_NOT_FOUND = 204, 401, 403, 404
HTTP_CONFLICT, HTTP_GONE, HTTP_TOO_MANY_REQUESTS, HTTP_SERVER_ERROR = 409, 410, 429, 500
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"})
_BASE32HEX = str.maketrans("", "", "=")
# google-auth's crypt and jwt functions have no annotations: reached through Any, so neither strict
# nor default mypy settings need an ignore.
_CRYPT: Any = crypt
_JWT: Any = google_jwt


# --------------------------------------------------------------------------- errors


class CalendarError(Exception):
    """Google refused the request (or could not be reached, in the subclasses that say so)."""

    retryable = False

    def __init__(self, status: Optional[int], message: str, reasons: Sequence[str] = ()) -> None:
        self.status = status
        self.message = message
        self.reasons = tuple(reasons)
        where = f"Google Calendar answered {status}" if status is not None else "Google Calendar unreachable"
        why = f" ({', '.join(self.reasons)})" if self.reasons else ""
        super().__init__(f"{where}: {message}{why}")

    @property
    def reason(self) -> str:
        """The first of Google's ``errors[].reason`` (or its ``status`` / the OAuth ``error``), else ""."""
        return self.reasons[0] if self.reasons else ""


class CalendarAuthError(CalendarError):
    """The key or the token is refused, or the account may not use this calendar: a person must act."""


class CalendarNotFound(CalendarError):
    """404 (no such calendar or event) or 410 (``deleted``: deleted event, expired sync token)."""

    @property
    def deleted(self) -> bool:
        return self.status == HTTP_GONE


class CalendarUnavailable(CalendarError):
    """Network error, timeout or 5xx: try again later (a write may have been applied)."""

    retryable = True


class CalendarRateLimited(CalendarUnavailable):
    """Over a quota or a rate limit (429, or 403 with a usage-limit reason): try again later."""

    def __init__(self, status: int, message: str, reasons: Sequence[str] = (), *,
                 retry_after: Optional[float] = None) -> None:
        super().__init__(status, message, reasons)
        self.retry_after = retry_after


# --------------------------------------------------------------------------- values


def rfc3339(instant: float) -> str:
    """Unix seconds → ``2026-12-03T13:00:00Z`` (whole seconds, UTC), as Google's queries take."""
    return datetime.fromtimestamp(int(instant), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> float:
    """Google's RFC 3339 (``…Z``, ``…-03:00``, with or without fractions) → Unix seconds."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    head, dot, tail = text.partition(".")
    if dot:  # Python 3.10 takes only 3 or 6 fraction digits
        digits = len(tail) - len(tail.lstrip("0123456789"))
        fraction, rest = tail[:digits], tail[digits:]
        text = f"{head}.{(fraction + '000000')[:6]}{rest}"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return moment.timestamp()


def event_id_for(request_id: str) -> str:
    """A Google event id (base32hex: 0-9 and a-v, 5 to 1024 characters) that only this request id gives."""
    if not request_id:
        raise ValueError("request_id must not be empty")
    digest = hashlib.sha256(request_id.encode("utf-8")).digest()
    return base64.b32hexencode(digest).decode("ascii").translate(_BASE32HEX).lower()


@dataclass(frozen=True)
class FreeBusy:
    """freeBusy's answer: busy intervals of the calendars Google could read, and the others' reasons
    (e.g. ``notFound`` when the calendar is not shared with the service account)."""

    busy: Mapping[str, tuple[Interval, ...]]
    errors: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EventChanges:
    """Events from ``list_events`` (cancelled ones included, ``status == "cancelled"``) and the token
    that lists what changes next."""

    events: tuple[dict[str, Any], ...]
    next_sync_token: Optional[str]


@dataclass(frozen=True)
class ServiceAccount:
    """A service account's JSON key: what signs the token requests."""

    client_email: str
    private_key: str = field(repr=False)
    private_key_id: Optional[str] = None
    token_uri: Optional[str] = None

    @classmethod
    def from_info(cls, info: Mapping[str, Any]) -> ServiceAccount:
        email, key = info.get("client_email"), info.get("private_key")
        if info.get("type") not in (None, "service_account") or not isinstance(email, str) or not email \
                or not isinstance(key, str) or "PRIVATE KEY" not in key:
            raise CalendarAuthError(None, "not a service account key (type, client_email, private_key)")
        key_id, token_uri = info.get("private_key_id"), info.get("token_uri")
        return cls(email, key, key_id if isinstance(key_id, str) else None,
                   token_uri if isinstance(token_uri, str) else None)

    @classmethod
    def from_file(cls, path: Path) -> ServiceAccount:
        try:
            info = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CalendarAuthError(None, f"cannot read the service account key: {type(error).__name__}") from None
        if not isinstance(info, dict):
            raise CalendarAuthError(None, "the service account key is not a JSON object")
        return cls.from_info(info)

    def assertion(self, token_url: str, scopes: Sequence[str], now: float, subject: Optional[str] = None) -> str:
        """The signed JWT to trade for an access token (RS256, valid one hour)."""
        try:
            signer = _CRYPT.RSASigner.from_string(self.private_key, self.private_key_id)
        except ValueError as error:
            raise CalendarAuthError(None, "the service account's private key cannot be loaded") from error
        issued = int(now)
        claims: dict[str, Any] = {"iss": self.client_email, "scope": " ".join(scopes), "aud": token_url,
                                  "iat": issued, "exp": issued + ASSERTION_LIFETIME_S}
        if subject:
            claims["sub"] = subject  # domain-wide delegation: act as this user
        signed: bytes = _JWT.encode(signer, claims)
        return signed.decode("ascii")


# --------------------------------------------------------------------------- client


class GoogleCalendarClient(PooledHttpClient):
    """Google Calendar API v3 as one service account. Use ``async with`` or call ``aclose()``."""

    def __init__(
        self, account: ServiceAccount, *, base_url: str = DEFAULT_BASE_URL, token_url: str = DEFAULT_TOKEN_URL,
        scopes: Sequence[str] = (CALENDAR_SCOPE,), subject: Optional[str] = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_S, transport: Optional[httpx.AsyncBaseTransport] = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        for name, url in (("base_url", base_url), ("token_url", token_url)):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"{name} must be an http(s) URL")
        if timeout_seconds <= 0:
            raise ValueError(f"timeout_seconds must be positive, got {timeout_seconds}")
        if not scopes:
            raise ValueError("scopes must not be empty")
        super().__init__()
        self._account = account
        self._base_url = base_url.rstrip("/")
        self._token_url = token_url
        self._scopes = tuple(scopes)
        self._subject = subject
        self._timeout_s = timeout_seconds
        self._transport = transport
        self._clock = clock
        self._token: Optional[str] = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"GoogleCalendarClient(account={self._account.client_email!r}, base_url={self._base_url!r})"

    def _new_pool(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            headers={"Accept": "application/json"}, timeout=httpx.Timeout(self._timeout_s),
            transport=self._transport,
        )

    # ----------------------------------------------------------------- token

    async def access_token(self) -> str:
        """A valid access token, fetched when there is none or it is about to expire."""
        async with self._token_lock:
            if self._token is None or self._clock() >= self._token_expires - TOKEN_MARGIN_S:
                await self._fetch_token()
            assert self._token is not None
            return self._token

    async def _fetch_token(self) -> None:
        now = self._clock()
        form = {"grant_type": JWT_BEARER,
                "assertion": self._account.assertion(self._token_url, self._scopes, now, self._subject)}
        try:
            response = await self._http().post(self._token_url, data=form)
        except httpx.TransportError as error:
            logger.warning("Google token request failed: %s", type(error).__name__)
            raise CalendarUnavailable(None, f"token: {type(error).__name__}") from error
        body = json_or_none(response)
        answer = body if isinstance(body, dict) else {}
        if response.is_success:
            token, expires_in = answer.get("access_token"), answer.get("expires_in")
            if not isinstance(token, str) or not token:
                raise CalendarUnavailable(response.status_code, "token: the answer has no access_token")
            lifetime = float(expires_in) if isinstance(expires_in, (int, float)) and expires_in > 0 else 3600.0
            self._token, self._token_expires = token, now + lifetime
            return
        # OAuth's error shape: {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        code = answer.get("error")
        reason = code if isinstance(code, str) else ""
        message = str(answer.get("error_description") or response.reason_phrase or "token refused")
        status = response.status_code
        if status == HTTP_TOO_MANY_REQUESTS:
            raise CalendarRateLimited(status, f"token: {message}", [reason] if reason else [],
                                      retry_after=_retry_after(response))
        if status >= HTTP_SERVER_ERROR:
            raise CalendarUnavailable(status, f"token: {message}", [reason] if reason else [])
        raise CalendarAuthError(status, f"token: {message}", [reason] if reason else [])

    # ----------------------------------------------------------------- calendar

    async def free_busy(self, calendar_ids: Sequence[str], start: float, end: float) -> FreeBusy:
        """``POST /calendar/v3/freeBusy``: busy intervals of each calendar in ``[start, end)``."""
        if not calendar_ids:
            return FreeBusy({})
        if end <= start:
            raise ValueError("end must be after start")
        body = {"timeMin": rfc3339(start), "timeMax": rfc3339(end), "timeZone": "UTC",
                "items": [{"id": calendar} for calendar in calendar_ids]}
        answer = await self._request("POST", "/calendar/v3/freeBusy", "freeBusy", json=body)
        calendars = answer.get("calendars") if isinstance(answer, dict) else None
        calendars = calendars if isinstance(calendars, dict) else {}
        busy: dict[str, tuple[Interval, ...]] = {}
        errors: dict[str, str] = {}
        for calendar in calendar_ids:
            entry = calendars.get(calendar)
            if not isinstance(entry, dict):
                errors[calendar] = "missing"
                continue
            problems = [e for e in entry.get("errors") or [] if isinstance(e, dict)]
            if problems:
                errors[calendar] = str(problems[0].get("reason") or "error")
                continue
            try:
                busy[calendar] = tuple(sorted(
                    (parse_time(period["start"]), parse_time(period["end"])) for period in entry.get("busy") or []))
            except (KeyError, TypeError, ValueError) as error:
                raise CalendarUnavailable(200, f"freeBusy: a busy period is malformed ({type(error).__name__})") \
                    from None
        return FreeBusy(busy, errors)

    async def get_event(self, calendar_id: str, event_id: str) -> dict[str, Any]:
        """``GET …/events/{id}`` (a deleted event may come back with ``status: "cancelled"``)."""
        answer = await self._request("GET", _event_path(calendar_id, event_id), "events.get")
        return _object(answer, "events.get")

    async def insert_event(
        self, calendar_id: str, body: Mapping[str, Any], request_id: str, *, send_updates: str = "none",
    ) -> dict[str, Any]:
        """``POST …/calendars/{id}/events``; the event id is ``event_id_for(request_id)``, so a retry of
        the same request returns the event the first attempt made (Google's 409 "duplicate")."""
        event = {**body, "id": event_id_for(request_id)}
        params: dict[str, Any] = {"sendUpdates": send_updates}
        if "conferenceData" in event:
            params["conferenceDataVersion"] = 1  # else Google ignores conferenceData.createRequest
        path = f"/calendar/v3/calendars/{_segment(calendar_id)}/events"
        try:
            answer = await self._request("POST", path, "events.insert", json=event, params=params)
        except CalendarError as error:
            if error.status != HTTP_CONFLICT:
                raise
            logger.info("Google Calendar already has event %s: the earlier attempt made it", event["id"])
            return await self.get_event(calendar_id, event["id"])
        return _object(answer, "events.insert")

    async def patch_event(
        self, calendar_id: str, event_id: str, body: Mapping[str, Any], *, send_updates: str = "none",
    ) -> dict[str, Any]:
        """``PATCH …/events/{id}``: only the given fields change; the updated event."""
        params: dict[str, Any] = {"sendUpdates": send_updates}
        if "conferenceData" in body:
            params["conferenceDataVersion"] = 1
        answer = await self._request("PATCH", _event_path(calendar_id, event_id), "events.patch",
                                     json=dict(body), params=params)
        return _object(answer, "events.patch")

    async def delete_event(self, calendar_id: str, event_id: str, *, send_updates: str = "none") -> bool:
        """``DELETE …/events/{id}``: True when deleted now, False when it was already gone (404/410)."""
        try:
            await self._request("DELETE", _event_path(calendar_id, event_id), "events.delete",
                                params={"sendUpdates": send_updates})
        except CalendarNotFound:
            return False
        return True

    async def list_events(
        self, calendar_id: str, *, sync_token: Optional[str] = None, updated_min: Optional[float] = None,
        time_min: Optional[float] = None, time_max: Optional[float] = None,
    ) -> EventChanges:
        """``GET …/calendars/{id}/events``, every page, deleted events included.

        With ``sync_token`` (from the previous ``EventChanges``): what changed since. Google refuses
        it with the other filters, and answers 410 when it expired (``CalendarNotFound.deleted``):
        list again without it. ``updated_min`` / ``time_min`` / ``time_max`` are Unix seconds."""
        if sync_token and (updated_min is not None or time_min is not None or time_max is not None):
            raise ValueError("sync_token cannot be combined with updated_min, time_min or time_max")
        params: dict[str, Any] = {"showDeleted": "true", "singleEvents": "true", "maxResults": PAGE_SIZE}
        if sync_token:
            params["syncToken"] = sync_token
        for name, value in (("updatedMin", updated_min), ("timeMin", time_min), ("timeMax", time_max)):
            if value is not None:
                params[name] = rfc3339(value)
        path = f"/calendar/v3/calendars/{_segment(calendar_id)}/events"
        events: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            answer = _object(await self._request("GET", path, "events.list", params=params), "events.list")
            events += [item for item in answer.get("items") or [] if isinstance(item, dict)]
            page = answer.get("nextPageToken")
            if not isinstance(page, str) or not page:
                token = answer.get("nextSyncToken")
                return EventChanges(tuple(events), token if isinstance(token, str) and token else None)
            params = {**params, "pageToken": page}
        raise CalendarError(None, f"events.list: more than {MAX_PAGES} pages")

    # ----------------------------------------------------------------- transport

    async def _request(
        self, method: str, path: str, label: str, *, params: Optional[Mapping[str, Any]] = None,
        json: Any = None,
    ) -> Any:
        """One exchange (again once with a new token after a 401); the decoded answer, None for 204."""
        http = self._http()
        for attempt in (1, 2):
            token = await self.access_token()
            started = time.perf_counter()
            try:
                response = await http.request(method, f"{self._base_url}{path}", params=params, json=json,
                                              headers={"Authorization": f"Bearer {token}"})
            except httpx.TransportError as error:
                logger.warning("Google Calendar %s failed: %s", label, type(error).__name__)
                raise CalendarUnavailable(None, f"{label}: {type(error).__name__}") from error
            status = response.status_code
            logger.debug("Google Calendar %s -> %d in %.0f ms", label, status,
                         (time.perf_counter() - started) * MS_PER_S)
            if status == HTTP_UNAUTHORIZED and attempt == 1:
                async with self._token_lock:
                    if self._token == token:
                        self._token = None  # revoked or expired early: one new token, one more try
                continue
            if status == HTTP_NO_CONTENT:
                return None
            body = json_or_none(response)
            if response.is_success:
                if body is None and response.content.strip():
                    raise CalendarUnavailable(status, f"{label}: the answer is not JSON")
                return body
            raise _error_for(response, body, label)
        raise AssertionError("unreachable")  # pragma: no cover


def _segment(value: str) -> str:
    if not value:
        raise ValueError("a calendar or event id must not be empty")
    return quote(value, safe="")


def _event_path(calendar_id: str, event_id: str) -> str:
    return f"/calendar/v3/calendars/{_segment(calendar_id)}/events/{_segment(event_id)}"


def _object(answer: Any, label: str) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise CalendarUnavailable(None, f"{label}: the answer is not a JSON object")
    return answer


def _error_for(response: httpx.Response, body: Any, label: str) -> CalendarError:
    """Google's error shape: ``{"error": {"code", "message", "errors": [{"domain", "reason",
    "message", …}], "status"}}``; anything else (an HTML page from a proxy) still classifies by status."""
    status = response.status_code
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    reasons = [str(e["reason"]) for e in error.get("errors") or [] if isinstance(e, dict) and e.get("reason")]
    if isinstance(error.get("status"), str) and error["status"] not in reasons:
        reasons.append(error["status"])
    message = f"{label}: {error.get('message') or response.reason_phrase or f'HTTP {status}'}"
    if status == HTTP_TOO_MANY_REQUESTS or (status == HTTP_FORBIDDEN and RATE_REASONS & set(reasons)):
        return CalendarRateLimited(status, message, reasons, retry_after=_retry_after(response))
    if status in (HTTP_UNAUTHORIZED, HTTP_FORBIDDEN):
        return CalendarAuthError(status, message, reasons)
    if status in (HTTP_NOT_FOUND, HTTP_GONE):
        return CalendarNotFound(status, message, reasons)
    if status >= HTTP_SERVER_ERROR:
        return CalendarUnavailable(status, message, reasons)
    return CalendarError(status, message, reasons)


def _retry_after(response: httpx.Response) -> Optional[float]:
    header = (response.headers.get("retry-after") or "").strip()
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None
