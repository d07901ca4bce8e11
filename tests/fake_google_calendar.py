"""A fake Google (OAuth token endpoint + Calendar API v3) for tests: real HTTP on loopback.

The design of ``tests/fake_kommo.py``: an aiohttp app in a background thread, driven and inspected
from any thread. What ``meetings.google_calendar`` uses, with Google's shapes
(docs/google-calendar-api.md):

- ``POST /token``: the JWT-bearer grant. The assertion's RS256 signature is checked against the
  public key of a trusted service account (``trust``; ``write_service_account_key`` makes one),
  and its claims: ``iss`` a trusted account, ``aud`` this token URL, ``scope`` with the calendar
  scope, ``iat``/``exp`` at most an hour apart and not expired. Refusals are OAuth's
  ``{"error": "invalid_grant", "error_description": …}`` (400). Success: ``access_token``,
  ``expires_in`` 3599, ``token_type`` Bearer;
- ``POST /calendar/v3/freeBusy``: busy periods of each known calendar (its confirmed, opaque
  events plus ``add_busy`` periods), clipped to the query; an unknown calendar gets
  ``errors: [{"domain": "global", "reason": "notFound"}]``;
- events ``insert`` (client ids checked as base32hex, 409 ``duplicate``), ``get`` (a deleted event
  comes back ``status: "cancelled"``), ``patch``, ``delete`` (204; 410 ``deleted`` when already
  deleted, 404 ``notFound`` when never there), ``list`` (``showDeleted``, ``updatedMin``,
  ``syncToken`` with ``nextSyncToken``, 410 ``fullSyncRequired`` after ``expire_sync_tokens()``,
  ``nextPageToken`` pages of ``page_size``);
- every API call needs ``Authorization: Bearer <a token this fake issued>`` (401 ``authError``).

Injection: ``fail_next(count, status, reason)`` (Google's error body; 429 and 403
``rateLimitExceeded`` included), ``fail_token_next(count, status, error)``, ``revoke_tokens()``,
``go_down()`` / ``come_back()`` (connection refused).

    key = write_service_account_key(tmp_path)
    with FakeGoogleCalendar() as fake:
        fake.trust(key)
        fake.add_calendar("ana@example.com")
        client = GoogleCalendarClient(ServiceAccount.from_file(key.path), base_url=fake.url,
                                      token_url=fake.token_url)
"""
from __future__ import annotations

import base64
import copy
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fake_server import DEFAULT_HOST, EPHEMERAL_PORT, BackgroundServer

CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_PATH = "/token"
TOKEN_LIFETIME_S = 3599
MAX_ASSERTION_S = 3600
EVENT_ID = re.compile(r"^[0-9a-v]{5,1024}$")
DEFAULT_EMAIL = "sdr-agenda@solarprime-test.iam.gserviceaccount.com"
_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
           409: "ALREADY_EXISTS", 410: "NOT_FOUND", 412: "FAILED_PRECONDITION", 429: "RESOURCE_EXHAUSTED",
           500: "INTERNAL", 503: "UNAVAILABLE"}
_DEFAULT_REASON = {400: "badRequest", 401: "authError", 403: "forbidden", 404: "notFound", 409: "duplicate",
                   410: "deleted", 412: "conditionNotMet", 429: "rateLimitExceeded", 500: "backendError",
                   503: "backendError"}
_MESSAGES = {"rateLimitExceeded": "Rate Limit Exceeded", "userRateLimitExceeded": "User Rate Limit Exceeded",
             "quotaExceeded": "Calendar usage limits exceeded.", "forbidden": "Forbidden",
             "authError": "Invalid Credentials", "notFound": "Not Found", "deleted": "Resource has been deleted",
             "backendError": "Backend Error", "duplicate": "The requested identifier already exists."}


# --------------------------------------------------------------------------- service-account keys


@dataclass(frozen=True)
class TestKey:
    """A throwaway service-account key: the JSON file, its e-mail, the public half (PEM)."""

    __test__ = False  # not a pytest class

    path: Path
    client_email: str
    key_id: str
    public_pem: bytes


def write_service_account_key(directory: Path, client_email: str = DEFAULT_EMAIL,
                              token_uri: str = "https://oauth2.googleapis.com/token") -> TestKey:
    """Write a service-account JSON key with a fresh 2048-bit RSA key into ``directory``."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode("ascii")
    key_id = base64.b16encode(private.public_key().public_numbers().n.to_bytes(256, "big")[:20]).decode().lower()
    info = {"type": "service_account", "project_id": "solarprime-test", "private_key_id": key_id,
            "private_key": pem, "client_email": client_email, "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri}
    path = Path(directory) / f"{client_email.split('@')[0]}-{key_id[:8]}.json"
    path.write_text(json.dumps(info), encoding="utf-8")
    public = private.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    return TestKey(path, client_email, key_id, public)


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _rfc3339(instant: float) -> str:
    return datetime.fromtimestamp(instant, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _instant(value: Any) -> Optional[float]:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo else None


def _event_instant(when: Any) -> Optional[float]:
    return _instant(when.get("dateTime")) if isinstance(when, dict) else None


def google_error(status: int, reason: Optional[str] = None, message: Optional[str] = None,
                 domain: str = "global") -> dict[str, Any]:
    """Google's error body: ``{"error": {"errors": [{domain, reason, message}], "code", "message", "status"}}``."""
    reason = reason or _DEFAULT_REASON.get(status, "unknown")
    message = message or _MESSAGES.get(reason, reason)
    if reason in ("rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"):
        domain = "usageLimits"
    return {"error": {"errors": [{"domain": domain, "reason": reason, "message": message}],
                      "code": status, "message": message, "status": _STATUS.get(status, "UNKNOWN")}}


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: Optional[int] = None


# --------------------------------------------------------------------------- the fake


class FakeGoogleCalendar(BackgroundServer):
    """Google's token endpoint and Calendar API v3 on 127.0.0.1. Thread-safe to drive and inspect."""

    name = "fake-google-calendar"

    def __init__(self, *, host: str = DEFAULT_HOST, port: int = EPHEMERAL_PORT) -> None:
        super().__init__(host=host, port=port)
        self._lock = threading.Lock()
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self.page_size = 250
        self.reset()

    @property
    def token_url(self) -> str:
        return f"{self.url}{TOKEN_PATH}"

    # ----------------------------------------------------------------- control and inspection

    def reset(self) -> None:
        """Forget requests, tokens, calendars and events; undo injections (trusted keys stay)."""
        with self._lock:
            self._requests: list[RecordedRequest] = []
            self._tokens: set[str] = set()
            self._assertions: list[dict[str, Any]] = []
            self._calendars: dict[str, dict[str, dict[str, Any]]] = {}
            self._busy: dict[str, list[tuple[float, float]]] = {}
            self._fail: list[tuple[int, Optional[str]]] = []
            self._fail_token: list[tuple[int, str]] = []
            self._seq = itertools.count(1)
            self._sync_floor = 0  # sync tokens at or below this are expired
            self._token_ids = itertools.count(1)

    def trust(self, key: TestKey) -> None:
        """Accept assertions signed by this service account."""
        public = serialization.load_pem_public_key(key.public_pem)
        assert isinstance(public, rsa.RSAPublicKey)
        with self._lock:
            self._keys[key.client_email] = public

    def add_calendar(self, calendar_id: str) -> None:
        with self._lock:
            self._calendars.setdefault(calendar_id, {})
            self._busy.setdefault(calendar_id, [])

    def add_busy(self, calendar_id: str, start: float, end: float) -> None:
        """A busy period not tied to an event we can see (someone else's meeting)."""
        with self._lock:
            self._calendars.setdefault(calendar_id, {})
            self._busy.setdefault(calendar_id, []).append((start, end))

    def events(self, calendar_id: str) -> list[dict[str, Any]]:
        """Every event of the calendar, deleted ones (``status: cancelled``) included."""
        with self._lock:
            return [self._out(e) for e in self._calendars.get(calendar_id, {}).values()]

    def delete_by_hand(self, calendar_id: str, event_id: str) -> None:
        """A consultant deletes the event in Google Calendar (as the web UI does: it stays, cancelled)."""
        with self._lock:
            event = self._calendars[calendar_id][event_id]
            event.update(status="cancelled", updated=_rfc3339(time.time()), _seq=next(self._seq))

    def event(self, calendar_id: str, event_id: str) -> Optional[dict[str, Any]]:
        with self._lock:
            found = self._calendars.get(calendar_id, {}).get(event_id)
            return self._out(found) if found else None

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path == path]

    @property
    def assertions(self) -> list[dict[str, Any]]:
        """The claims of every assertion that was accepted."""
        with self._lock:
            return copy.deepcopy(self._assertions)

    def revoke_tokens(self) -> None:
        """Every access token issued so far stops working (401 authError)."""
        with self._lock:
            self._tokens.clear()

    def expire_sync_tokens(self) -> None:
        """Every sync token issued so far gets 410 fullSyncRequired."""
        with self._lock:
            self._sync_floor = next(self._seq)

    def fail_next(self, count: int, status: int = 500, reason: Optional[str] = None) -> None:
        """The next ``count`` Calendar API requests get ``status`` with Google's body (``reason``)."""
        if count < 0 or status < 400:
            raise ValueError("count must be >= 0 and status an HTTP error status")
        with self._lock:
            self._fail = [(status, reason)] * count

    def fail_token_next(self, count: int, status: int = 400, error: str = "invalid_grant") -> None:
        with self._lock:
            self._fail_token = [(status, error)] * count

    # ----------------------------------------------------------------- app

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        base = "/calendar/v3"
        app.router.add_post(TOKEN_PATH, self._token)
        app.router.add_post(f"{base}/freeBusy", self._free_busy)
        app.router.add_post(f"{base}/calendars/{{calendar}}/events", self._insert)
        app.router.add_get(f"{base}/calendars/{{calendar}}/events", self._list)
        app.router.add_get(f"{base}/calendars/{{calendar}}/events/{{event}}", self._get)
        app.router.add_patch(f"{base}/calendars/{{calendar}}/events/{{event}}", self._patch)
        app.router.add_delete(f"{base}/calendars/{{calendar}}/events/{{event}}", self._delete)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request,
                          handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        raw = await request.read()
        if request.content_type == "application/x-www-form-urlencoded":
            body: Any = dict(await request.post())
        else:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
        record = RecordedRequest(request.method, request.path, dict(request.query),
                                 {k.lower(): v for k, v in request.headers.items()}, body)
        request["body"] = body
        with self._lock:
            self._requests.append(record)
            api = request.path != TOKEN_PATH
            injected = self._fail.pop(0) if api and self._fail else None
            authorized = request.headers.get("Authorization", "").removeprefix("Bearer ") in self._tokens
        if injected is not None:
            status, reason = injected
            headers = {"Retry-After": "7"} if status == 429 else {}
            response: web.StreamResponse = web.json_response(google_error(status, reason), status=status,
                                                             headers=headers)
        elif api and not authorized:
            response = web.json_response(google_error(401, "authError"), status=401,
                                         headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
        else:
            response = await handler(request)
        record.status = response.status
        return response

    async def _not_found(self, request: web.Request) -> web.Response:
        return web.json_response(google_error(404, "notFound"), status=404)

    # ----------------------------------------------------------------- token endpoint

    async def _token(self, request: web.Request) -> web.Response:
        form = request["body"] if isinstance(request["body"], dict) else {}
        with self._lock:
            injected = self._fail_token.pop(0) if self._fail_token else None
        if injected is not None:
            return _oauth_error(injected[0], injected[1], "Injected failure.")
        if form.get("grant_type") != JWT_BEARER:
            return _oauth_error(400, "unsupported_grant_type", "Invalid grant_type: ")
        problem = self._check_assertion(str(form.get("assertion") or ""))
        if problem:
            return _oauth_error(400, *problem)
        with self._lock:
            token = f"ya29.fake-{next(self._token_ids)}"
            self._tokens.add(token)
        return web.json_response({"access_token": token, "expires_in": TOKEN_LIFETIME_S, "token_type": "Bearer"})

    def _check_assertion(self, assertion: str) -> Optional[tuple[str, str]]:
        parts = assertion.split(".")
        if len(parts) != 3:
            return "invalid_request", "Invalid JWT: not three parts."
        try:
            header, claims = json.loads(_b64decode(parts[0])), json.loads(_b64decode(parts[1]))
            signature = _b64decode(parts[2])
        except ValueError:
            return "invalid_request", "Invalid JWT: not base64url JSON."
        if not isinstance(header, dict) or header.get("alg") != "RS256" or not isinstance(claims, dict):
            return "invalid_grant", "Invalid JWT: alg must be RS256."
        with self._lock:
            key = self._keys.get(str(claims.get("iss")))
        if key is None:
            return "invalid_grant", "Invalid JWT Signature."  # what Google says for an unknown key too
        try:
            key.verify(signature, f"{parts[0]}.{parts[1]}".encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return "invalid_grant", "Invalid JWT Signature."
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or exp - iat > MAX_ASSERTION_S \
                or exp <= now or iat > now + 60:
            return "invalid_grant", ("Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                                     "reasonable timeframe. Check your iat and exp values in the JWT claim.")
        if claims.get("aud") != self.token_url:
            return "invalid_grant", "Invalid JWT: Failed audience check."
        if CALENDAR_SCOPE not in str(claims.get("scope") or "").split():
            return "invalid_scope", "Invalid OAuth scope or ID token audience provided."
        with self._lock:
            self._assertions.append(claims)
        return None

    # ----------------------------------------------------------------- calendar API (lock held inside)

    def _out(self, event: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy({k: v for k, v in event.items() if not k.startswith("_")})

    def _calendar(self, request: web.Request) -> Optional[dict[str, dict[str, Any]]]:
        return self._calendars.get(request.match_info["calendar"])

    async def _free_busy(self, request: web.Request) -> web.Response:
        body = request["body"] if isinstance(request["body"], dict) else {}
        low, high = _instant(body.get("timeMin")), _instant(body.get("timeMax"))
        if low is None or high is None:
            return web.json_response(google_error(400, "badRequest", "Bad Request"), status=400)
        if high <= low:
            return web.json_response(google_error(400, "timeRangeEmpty", "The specified time range is empty.",
                                                  domain="calendar"), status=400)
        calendars: dict[str, Any] = {}
        with self._lock:
            for item in body.get("items") or []:
                calendar_id = str(item.get("id"))
                if calendar_id not in self._calendars:
                    calendars[calendar_id] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
                    continue
                periods = list(self._busy.get(calendar_id, []))
                for event in self._calendars[calendar_id].values():
                    start, end = _event_instant(event.get("start")), _event_instant(event.get("end"))
                    if event["status"] != "cancelled" and event.get("transparency") != "transparent" \
                            and start is not None and end is not None:
                        periods.append((start, end))
                clipped = sorted((max(s, low), min(e, high)) for s, e in periods if s < high and e > low)
                calendars[calendar_id] = {"busy": [{"start": _rfc3339(s), "end": _rfc3339(e)} for s, e in clipped]}
        return web.json_response({"kind": "calendar#freeBusy", "timeMin": _rfc3339(low), "timeMax": _rfc3339(high),
                                  "calendars": calendars})

    async def _insert(self, request: web.Request) -> web.Response:
        body = request["body"]
        if not isinstance(body, dict):
            return web.json_response(google_error(400, "parseError", "Parse Error"), status=400)
        calendar_id = request.match_info["calendar"]
        with self._lock:
            calendar = self._calendar(request)
            if calendar is None:
                return web.json_response(google_error(404, "notFound"), status=404)
            event_id = str(body.get("id") or f"fake{next(self._seq):08d}")
            if not EVENT_ID.match(event_id):
                return web.json_response(google_error(400, "invalid", "Invalid resource id value."), status=400)
            if event_id in calendar:
                return web.json_response(google_error(409, "duplicate"), status=409)
            for key in ("start", "end"):
                if _event_instant(body.get(key)) is None:
                    return web.json_response(google_error(400, "required", f"Missing {key} time."), status=400)
            now = _rfc3339(time.time())
            event = {**body, "kind": "calendar#event", "id": event_id, "status": body.get("status", "confirmed"),
                     "etag": f'"{next(self._seq)}"', "created": now, "updated": now, "sequence": 0,
                     "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
                     "iCalUID": f"{event_id}@google.com", "creator": {"email": DEFAULT_EMAIL},
                     "organizer": {"email": calendar_id, "self": True}, "_seq": next(self._seq),
                     "_query": dict(request.query)}
            calendar[event_id] = event
            return web.json_response(self._out(event))

    def _existing(self, request: web.Request) -> tuple[Optional[dict[str, Any]], Optional[web.Response]]:
        calendar = self._calendar(request)
        event = calendar.get(request.match_info["event"]) if calendar is not None else None
        if event is None:
            return None, web.json_response(google_error(404, "notFound"), status=404)
        return event, None

    async def _get(self, request: web.Request) -> web.Response:
        with self._lock:
            event, refusal = self._existing(request)
            # (a web.Response is a mapping, an empty one is falsy: compare with None)
            return refusal if refusal is not None else web.json_response(self._out(event or {}))

    async def _patch(self, request: web.Request) -> web.Response:
        body = request["body"]
        if not isinstance(body, dict):
            return web.json_response(google_error(400, "parseError", "Parse Error"), status=400)
        with self._lock:
            event, refusal = self._existing(request)
            if refusal is not None or event is None:
                return refusal if refusal is not None else web.Response(status=500)
            if event["status"] == "cancelled" and body.get("status") != "confirmed":
                return web.json_response(google_error(410, "deleted"), status=410)
            for key, value in body.items():
                if key not in ("id", "kind", "etag", "created", "iCalUID"):
                    event[key] = value
            event.update(updated=_rfc3339(time.time()), sequence=event["sequence"] + 1,
                         etag=f'"{next(self._seq)}"', _seq=next(self._seq))
            return web.json_response(self._out(event))

    async def _delete(self, request: web.Request) -> web.Response:
        with self._lock:
            event, refusal = self._existing(request)
            if refusal is not None or event is None:
                return refusal if refusal is not None else web.Response(status=500)
            if event["status"] == "cancelled":
                return web.json_response(google_error(410, "deleted"), status=410)
            event.update(status="cancelled", updated=_rfc3339(time.time()), _seq=next(self._seq))
            return web.Response(status=204)

    async def _list(self, request: web.Request) -> web.Response:
        query = request.query
        with self._lock:
            calendar = self._calendar(request)
            if calendar is None:
                return web.json_response(google_error(404, "notFound"), status=404)
            sync = query.get("syncToken")
            since = 0
            if sync:
                if any(name in query for name in ("updatedMin", "timeMin", "timeMax", "q", "orderBy")):
                    return web.json_response(google_error(400, "invalid", "Sync token cannot be combined"
                                                          " with these filters."), status=400)
                match = re.fullmatch(r"fake-sync-(\d+)", sync)
                if not match or int(match.group(1)) <= self._sync_floor:
                    return web.json_response(google_error(
                        410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required."), status=410)
                since = int(match.group(1))
            updated_min = _instant(query.get("updatedMin"))
            show_deleted = bool(sync) or query.get("showDeleted") == "true"
            items = [e for e in calendar.values()
                     if e["_seq"] > since and (show_deleted or e["status"] != "cancelled")
                     and (updated_min is None or (_instant(e["updated"]) or 0) >= int(updated_min))]
            items.sort(key=lambda e: e["_seq"])
            try:
                offset = int(query.get("pageToken", "0"))
                size = max(1, min(int(query.get("maxResults", "250")), self.page_size, 2500))
            except ValueError:
                return web.json_response(google_error(400, "invalid", "Invalid page token."), status=400)
            chunk = items[offset: offset + size]
            answer: dict[str, Any] = {"kind": "calendar#events", "summary": request.match_info["calendar"],
                                      "timeZone": "America/Sao_Paulo", "accessRole": "writer",
                                      "items": [self._out(e) for e in chunk]}
            if offset + size < len(items):
                answer["nextPageToken"] = str(offset + size)
            else:
                answer["nextSyncToken"] = f"fake-sync-{next(self._seq)}"
            return web.json_response(answer)


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)
