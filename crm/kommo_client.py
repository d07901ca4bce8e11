"""Async client for the parts of Kommo's API v4 the lead sync uses (docs/kommo-api-v4.md).

One pooled ``httpx.AsyncClient`` per ``KommoClient``, created on first use; ``async with`` or
``aclose()`` closes it. Each HTTP request first awaits ``throttle()`` when given (pass a
``crm.rate_limit.RedisRateLimiter``'s ``acquire``: Kommo allows 7 requests per second per
account, shared by all our processes). Nothing is retried here: the caller's outbox retries,
and a write that timed out may have been applied.

Errors, all ``KommoError`` (``retryable`` tells the two families apart):

- retry later: ``KommoRateLimited`` (429, ``retry_after`` seconds when Kommo said),
  ``KommoUnavailable`` (network error, timeout, 5xx, a success body that is not JSON);
- won't work until someone fixes the configuration: ``KommoAuthError`` (401 token refused,
  402 account unpaid, 403 blocked), and plain ``KommoError`` for the rest, e.g. 400 with
  ``validation_errors`` (a field or stage id the account does not have).

The token never appears in a repr, a log line or an error; phones are masked in logs.
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Optional, Union
from urllib.parse import urlsplit

import httpx

from crm.phones import same_phone
from observability.privacy import mask_phone, mask_phones_in
from sdr.http_pool import PooledHttpClient, json_or_none

__all__ = [
    "KommoAuthError",
    "KommoClient",
    "KommoContact",
    "KommoError",
    "KommoField",
    "KommoPipeline",
    "KommoRateLimited",
    "KommoStage",
    "KommoUnavailable",
]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0
PAGE_LIMIT = 50  # custom fields come at most 50 a page whatever is asked
MAX_PAGES = 200  # a guard against a "next" link that never ends
MS_PER_S = 1000
AUTH_STATUSES = frozenset({401, 402, 403})
HTTP_NO_CONTENT, HTTP_NOT_FOUND, HTTP_TOO_MANY_REQUESTS, HTTP_SERVER_ERROR = 204, 404, 429, 500
PHONE_FIELD_CODE = "PHONE"
_NON_DIGITS = re.compile(r"\D")

Throttle = Callable[[], Awaitable[None]]
Body = Union[Mapping[str, Any], Sequence[Mapping[str, Any]]]


# --------------------------------------------------------------------------- errors


class KommoError(Exception):
    """Kommo refused the request (or could not be reached, in the subclasses that say so)."""

    retryable = False

    def __init__(
        self, status: Optional[int], title: str, detail: str = "",
        validation_errors: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.validation_errors = tuple(validation_errors)
        where = f"Kommo answered {status}" if status is not None else "Kommo unreachable"
        parts = [f"{where}: {title}", detail, _validation_summary(self.validation_errors)]
        # Kommo echoes values in its messages; phones must not reach our logs.
        super().__init__(mask_phones_in(" — ".join(part for part in parts if part)))


class KommoAuthError(KommoError):
    """The token is refused, or the account is unpaid or blocked: a person must act."""


class KommoRateLimited(KommoError):
    """Over Kommo's 7 requests per second; try again after ``retry_after`` seconds (if known)."""

    retryable = True

    def __init__(self, status: int, title: str, detail: str = "", *, retry_after: Optional[float] = None) -> None:
        super().__init__(status, title, detail)
        self.retry_after = retry_after


class KommoUnavailable(KommoError):
    """Network error, timeout or 5xx: try again later (a write may have been applied)."""

    retryable = True


def _validation_summary(errors: Sequence[Mapping[str, Any]]) -> str:
    found = []
    for group in errors:
        inner = group.get("errors") if isinstance(group, Mapping) else None
        for error in inner if isinstance(inner, list) else []:
            if isinstance(error, Mapping):
                found.append(f"{error.get('path', '?')}: {error.get('detail') or error.get('code') or '?'}")
    return "; ".join(found)


# --------------------------------------------------------------------------- answers


@dataclass(frozen=True)
class KommoStage:
    id: int
    name: str
    type: int = 0  # 1 = the "incoming leads" stage


@dataclass(frozen=True)
class KommoPipeline:
    id: int
    name: str
    stages: tuple[KommoStage, ...]

    def stage(self, stage_id: int) -> Optional[KommoStage]:
        return next((stage for stage in self.stages if stage.id == stage_id), None)


@dataclass(frozen=True)
class KommoField:
    id: int
    name: str
    type: str  # text, numeric, checkbox, date_time, multitext…
    code: Optional[str] = None


@dataclass(frozen=True)
class KommoContact:
    id: int
    name: str
    lead_ids: tuple[int, ...]
    phones: tuple[str, ...] = field(default=(), repr=False)

    def has_phone(self, phone_digits: str) -> bool:
        """One of the contact's phones is this line (with or without 55, the ninth digit, punctuation)."""
        return any(same_phone(phone, phone_digits) for phone in self.phones)


def _int(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _embedded(answer: Any, key: str) -> list[dict[str, Any]]:
    embedded = answer.get("_embedded") if isinstance(answer, dict) else None
    items = embedded.get(key) if isinstance(embedded, dict) else None
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _stage(item: Mapping[str, Any]) -> Optional[KommoStage]:
    stage_id = _int(item.get("id"))
    return KommoStage(stage_id, str(item.get("name") or ""), _int(item.get("type")) or 0) if stage_id else None


def _field(item: Mapping[str, Any]) -> Optional[KommoField]:
    field_id = _int(item.get("id"))
    if not field_id:
        return None
    code = item.get("code")
    return KommoField(field_id, str(item.get("name") or ""), str(item.get("type") or ""),
                      code if isinstance(code, str) and code else None)


def _contact(item: Mapping[str, Any]) -> Optional[KommoContact]:
    contact_id = _int(item.get("id"))
    if not contact_id:
        return None
    leads = [_int(lead.get("id")) for lead in _embedded(item, "leads")]
    phones = []
    for value in item.get("custom_fields_values") or []:
        if isinstance(value, dict) and value.get("field_code") == PHONE_FIELD_CODE:
            phones += [str(v.get("value")) for v in value.get("values") or [] if isinstance(v, dict) and v.get("value")]
    return KommoContact(contact_id, str(item.get("name") or ""), tuple(i for i in leads if i), tuple(phones))


def _first_id(answer: Any, key: str, what: str) -> int:
    items = _embedded(answer, key)
    entity_id = _int(items[0].get("id")) if items else None
    if not entity_id:
        raise KommoError(None, f"{what}: Kommo's answer has no {key} id")
    return entity_id


def _as_list(body: Body) -> list[dict[str, Any]]:
    items = [body] if isinstance(body, Mapping) else list(body)
    if not items or not all(isinstance(item, Mapping) for item in items):
        raise TypeError("body must be a JSON object or a non-empty list of them")
    return [dict(item) for item in items]


# --------------------------------------------------------------------------- client


class KommoClient(PooledHttpClient):
    """Kommo API v4 for one account. Use ``async with`` or call ``aclose()``."""

    def __init__(
        self, base_url: str, token: str, *, timeout_seconds: float = DEFAULT_TIMEOUT_S,
        throttle: Optional[Throttle] = None, transport: Optional[httpx.AsyncBaseTransport] = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("base_url must be an http(s) URL, like https://<subdomain>.kommo.com")
        if not token:
            raise ValueError("token must not be empty")
        if timeout_seconds <= 0:
            raise ValueError(f"timeout_seconds must be positive, got {timeout_seconds}")
        super().__init__()
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._timeout_s = timeout_seconds
        self._throttle = throttle
        self._transport = transport

    def __repr__(self) -> str:
        return f"KommoClient(base_url={self._base_url!r})"  # deliberately without the token

    def _new_pool(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self._base_url,
            headers={"Authorization": f"Bearer {self._token}", "Accept": "application/json"},
            timeout=httpx.Timeout(self._timeout_s),
            transport=self._transport,
        )

    # ----------------------------------------------------------------- account

    async def account(self) -> dict[str, Any]:
        """``GET /api/v4/account``: ``{id, name, subdomain, current_user_id, …}`` (checks the token)."""
        answer = await self._request("GET", "/api/v4/account")
        return answer if isinstance(answer, dict) else {}

    async def pipeline(self, pipeline_id: int) -> Optional[KommoPipeline]:
        """The pipeline with its stages; None when the account has no such pipeline."""
        answer = await self._request("GET", f"/api/v4/leads/pipelines/{int(pipeline_id)}", missing_ok=True)
        if not isinstance(answer, dict):
            return None
        stages = tuple(s for s in map(_stage, _embedded(answer, "statuses")) if s is not None)
        return KommoPipeline(_int(answer.get("id")) or int(pipeline_id), str(answer.get("name") or ""), stages)

    async def lead_custom_fields(self) -> list[KommoField]:
        return [f for f in map(_field, await self._pages("/api/v4/leads/custom_fields", "custom_fields")) if f]

    async def contact_custom_fields(self) -> list[KommoField]:
        return [f for f in map(_field, await self._pages("/api/v4/contacts/custom_fields", "custom_fields")) if f]

    async def users(self) -> dict[int, str]:
        """The account's users: id → name."""
        items = await self._pages("/api/v4/users", "users")
        return {user_id: str(item.get("name") or "") for item in items if (user_id := _int(item.get("id")))}

    # ----------------------------------------------------------------- contacts and leads

    async def find_contacts_by_phone(self, phone_digits: str) -> list[KommoContact]:
        """Contacts whose fields contain these digits, each with its lead ids (Kommo's search,
        204 = none). Kommo searches every field: check ``contact.has_phone`` before trusting one."""
        digits = _NON_DIGITS.sub("", phone_digits)
        if not digits:
            raise ValueError("phone_digits has no digits")
        logger.debug("Kommo contact search for %s", mask_phone(digits))
        answer = await self._request("GET", "/api/v4/contacts", params={"query": digits, "with": "leads"})
        return [c for c in map(_contact, _embedded(answer, "contacts")) if c is not None]

    async def get_lead(self, lead_id: int) -> Optional[dict[str, Any]]:
        """``GET /api/v4/leads/{id}?with=contacts``; None when Kommo has no such lead (204/404)."""
        answer = await self._request(
            "GET", f"/api/v4/leads/{int(lead_id)}", params={"with": "contacts"}, missing_ok=True
        )
        return answer if isinstance(answer, dict) else None

    async def create_lead_with_contact(self, lead_body: Mapping[str, Any]) -> tuple[int, int]:
        """``POST /api/v4/leads/complex``: the lead and its new contact (in ``_embedded.contacts``);
        returns (lead id, contact id)."""
        answer = await self._request("POST", "/api/v4/leads/complex", json=_as_list(lead_body)[:1])
        item = answer[0] if isinstance(answer, list) and answer and isinstance(answer[0], dict) else {}
        lead_id, contact_id = _int(item.get("id")), _int(item.get("contact_id"))
        if not lead_id or not contact_id:
            raise KommoError(None, "complex add: Kommo's answer has no lead or contact id")
        if item.get("merged"):
            # Kommo's duplicate control folded it into a lead it already had: that id is ours now.
            logger.info("Kommo merged the new lead into its lead %d (duplicate control)", lead_id)
        return lead_id, contact_id

    async def create_lead(self, lead_body: Mapping[str, Any]) -> int:
        """``POST /api/v4/leads`` (a new lead for a known contact, linked in ``_embedded.contacts``)."""
        answer = await self._request("POST", "/api/v4/leads", json=_as_list(lead_body)[:1])
        return _first_id(answer, "leads", "add lead")

    async def update_lead(self, body: Body) -> None:
        """``PATCH /api/v4/leads`` with one lead (``{"id": …, …}``) or a list of them."""
        await self._request("PATCH", "/api/v4/leads", json=_as_list(body))

    async def update_contact(self, body: Body) -> None:
        """``PATCH /api/v4/contacts`` with one contact or a list of them."""
        await self._request("PATCH", "/api/v4/contacts", json=_as_list(body))

    async def add_lead_note(self, lead_id: int, text: str) -> int:
        """A common (text) note on the lead; returns the note's id."""
        note = {"entity_id": int(lead_id), "note_type": "common", "params": {"text": text}}
        return _first_id(await self._request("POST", "/api/v4/leads/notes", json=[note]), "notes", "add note")

    async def add_task(self, body: Mapping[str, Any]) -> int:
        """``POST /api/v4/tasks`` (see ``crm.kommo_payloads.task_body``); returns the task's id."""
        return _first_id(await self._request("POST", "/api/v4/tasks", json=_as_list(body)[:1]), "tasks", "add task")

    # ----------------------------------------------------------------- transport

    async def _pages(self, path: str, key: str) -> list[dict[str, Any]]:
        """Every item of a paged list, following ``_links.next`` (on this host only)."""
        items: list[dict[str, Any]] = []
        target: Optional[str] = path
        params: Optional[dict[str, Any]] = {"limit": PAGE_LIMIT}
        for _ in range(MAX_PAGES):
            if target is None:
                return items
            answer = await self._request("GET", target, params=params)
            items += _embedded(answer, key)
            links = answer.get("_links") if isinstance(answer, dict) else None
            following = links.get("next") if isinstance(links, dict) else None
            href = following.get("href") if isinstance(following, dict) else None
            # Only the path and query: the token must never follow a link to another host.
            parts = urlsplit(href) if isinstance(href, str) and href else None
            target = (parts.path + (f"?{parts.query}" if parts.query else "")) if parts and parts.path else None
            params = None
        raise KommoError(None, f"{path}: more than {MAX_PAGES} pages")

    async def _request(
        self, method: str, path: str, *, params: Optional[Mapping[str, Any]] = None, json: Any = None,
        missing_ok: bool = False,
    ) -> Any:
        """One exchange; the decoded answer, None for 204 (and 404 with ``missing_ok``)."""
        http = self._http()
        label = urlsplit(path).path  # never the query: it can hold a phone number
        if self._throttle is not None:
            try:
                await self._throttle()
            except Exception as error:  # e.g. the limiter's Redis is down: a "later", not a crash
                raise KommoUnavailable(None, "throttle failed", type(error).__name__) from error
        started = time.perf_counter()
        try:
            response = await http.request(method, path, params=params, json=json)
        except httpx.TransportError as error:
            logger.warning("Kommo %s %s failed: %s", method, label, type(error).__name__)
            raise KommoUnavailable(None, type(error).__name__, f"{method} {label}") from error
        status = response.status_code
        logger.debug("Kommo %s %s -> %d in %.0f ms", method, label, status, (time.perf_counter() - started) * MS_PER_S)
        if status == HTTP_NO_CONTENT or (missing_ok and status == HTTP_NOT_FOUND):
            return None
        body = json_or_none(response)
        if response.is_success:
            if body is None and response.content.strip():
                raise KommoUnavailable(status, "answer is not JSON", f"{method} {label}")
            return body
        raise _error_for(response, body, f"{method} {label}")


def _error_for(response: httpx.Response, body: Any, what: str) -> KommoError:
    status = response.status_code
    problem = body if isinstance(body, dict) else {}
    title = str(problem.get("title") or response.reason_phrase or f"HTTP {status}")
    detail = str(problem.get("detail") or what)
    if status in AUTH_STATUSES:
        return KommoAuthError(status, title, detail)
    if status == HTTP_TOO_MANY_REQUESTS:
        return KommoRateLimited(status, title, detail, retry_after=_retry_after(response, problem))
    if status >= HTTP_SERVER_ERROR:
        return KommoUnavailable(status, title, detail)
    errors = problem.get("validation-errors")
    validation = [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    return KommoError(status, title, detail, validation)


def _retry_after(response: httpx.Response, problem: Mapping[str, Any]) -> Optional[float]:
    """Seconds from the ``Retry-After`` header (seconds or an HTTP date), else the body's ``retry_after``."""
    header = (response.headers.get("retry-after") or "").strip()
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
        try:
            return max(0.0, parsedate_to_datetime(header).timestamp() - time.time())
        except (TypeError, ValueError, IndexError):
            pass
    value = problem.get("retry_after")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None
