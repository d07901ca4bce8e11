"""Kommo's lead webhooks read into plain events: a pure parser, no I/O.

Kommo POSTs ``application/x-www-form-urlencoded`` with PHP-style keys, one list per event kind
(docs/kommo-api-v4.md, "Webhooks")::

    account[subdomain]=acme&account[id]=123
    &leads[status][0][id]=4567&leads[status][0][status_id]=142&leads[status][0][pipeline_id]=89
    &leads[status][0][old_status_id]=88

``parse_webhook`` gives the account and one ``LeadStageEvent`` per lead item of the kinds we
use (``status``, ``update``, ``add``, ``delete``); other lead kinds (``restore``,
``responsible``, …) and every other key are ignored. Items may be indexed (``[0]``, ``[1]``) or
not (``[]`` or no index, repeated keys: a field seen again starts the next item). A body that is
not a Kommo lead event raises ``KommoWebhookError`` (a ``ValueError``) with a short reason, so
the route can answer 400.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Optional, Union
from urllib.parse import parse_qsl

__all__ = [
    "EVENT_KINDS",
    "KommoWebhook",
    "KommoWebhookError",
    "LeadStageEvent",
    "parse_lead_events",
    "parse_webhook",
]

EventKind = Literal["status", "update", "add", "delete"]
EVENT_KINDS: tuple[EventKind, ...] = ("status", "update", "add", "delete")
MAX_FIELDS = 5000  # Kommo batches up to a few hundred items; a body past this is not Kommo
_KEY = re.compile(r"^(?P<root>[A-Za-z_]+)(?P<path>(?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_INDEX = re.compile(r"\d{1,6}")
_WHOLE = re.compile(r"-?\d{1,19}")
_EVENT_FIELDS = frozenset({"id", "status_id", "pipeline_id", "old_status_id"})


class KommoWebhookError(ValueError):
    """The body is not a Kommo lead event (the message says why, briefly)."""


@dataclass(frozen=True)
class LeadStageEvent:
    kind: EventKind
    lead_id: int
    status_id: Optional[int] = None
    pipeline_id: Optional[int] = None
    old_status_id: Optional[int] = None


@dataclass(frozen=True)
class KommoWebhook:
    subdomain: Optional[str]
    account_id: Optional[int]
    events: tuple[LeadStageEvent, ...]


def parse_lead_events(body: Union[bytes, str]) -> list[LeadStageEvent]:
    return list(parse_webhook(body).events)


def parse_webhook(body: Union[bytes, str]) -> KommoWebhook:
    pairs = _pairs(body)
    subdomain: Optional[str] = None
    account_id: Optional[int] = None
    has_leads = False
    # kind -> items: indexed ones by index, then the unindexed ones in arrival order.
    indexed: dict[str, dict[int, dict[str, str]]] = {kind: {} for kind in EVENT_KINDS}
    unindexed: dict[str, list[dict[str, str]]] = {kind: [] for kind in EVENT_KINDS}
    for key, value in pairs:
        match = _KEY.match(key)
        if match is None:
            continue
        root, path = match["root"], _SEGMENT.findall(match["path"])
        if root == "account" and path == ["subdomain"]:
            subdomain = value.strip() or None
        elif root == "account" and path == ["id"]:
            account_id = _whole(value, key)
        elif root == "leads" and path:
            has_leads = True
            _collect(path, value, indexed, unindexed)
    if not has_leads:
        raise KommoWebhookError("no leads[...] keys: not a Kommo lead event")
    events = tuple(
        _event(kind, item, f"leads[{kind}]")
        for kind in EVENT_KINDS
        for item in [*(indexed[kind][i] for i in sorted(indexed[kind])), *unindexed[kind]]
    )
    return KommoWebhook(subdomain=subdomain, account_id=account_id, events=events)


def _pairs(body: Union[bytes, str]) -> list[tuple[str, str]]:
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise KommoWebhookError("body is not UTF-8 text") from None
    elif isinstance(body, str):
        text = body
    else:
        raise KommoWebhookError("body must be bytes or text")
    text = text.strip()
    if not text:
        raise KommoWebhookError("empty body")
    if text[0] in "{[":
        raise KommoWebhookError("JSON body: Kommo sends form-encoded webhooks")
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise KommoWebhookError(f"more than {MAX_FIELDS} fields") from None


def _collect(
    path: list[str], value: str,
    indexed: dict[str, dict[int, dict[str, str]]], unindexed: dict[str, list[dict[str, str]]],
) -> None:
    kind = path[0]
    if kind not in indexed:
        return  # restore, responsible, note…: Kommo lead events we do not use
    rest = path[1:]
    if len(rest) == 2 and _INDEX.fullmatch(rest[0]):
        field = rest[1]
        if field in _EVENT_FIELDS:
            indexed[kind].setdefault(int(rest[0]), {})[field] = value
        return
    if len(rest) == 2 and rest[0] == "":
        rest = rest[1:]
    if len(rest) == 1 and rest[0] in _EVENT_FIELDS:
        items = unindexed[kind]
        if not items or rest[0] in items[-1]:
            items.append({})
        items[-1][rest[0]] = value
    # Deeper keys (custom_fields[0][values][0][value], tags…) are not needed.


def _whole(value: str, key: str) -> int:
    text = value.strip()
    if not _WHOLE.fullmatch(text):
        raise KommoWebhookError(f"{key} is not a whole number")
    return int(text)


def _optional(item: dict[str, str], field: str, where: str) -> Optional[int]:
    raw = item.get(field)
    if raw is None or not raw.strip():
        return None
    return _whole(raw, f"{where}[{field}]")


def _event(kind: EventKind, item: dict[str, str], where: str) -> LeadStageEvent:
    if "id" not in item:
        raise KommoWebhookError(f"{where} item without an id")
    lead_id = _whole(item["id"], f"{where}[id]")
    if lead_id <= 0:
        raise KommoWebhookError(f"{where}[id] is not a lead id")
    return LeadStageEvent(
        kind=kind,
        lead_id=lead_id,
        status_id=_optional(item, "status_id", where),
        pipeline_id=_optional(item, "pipeline_id", where),
        old_status_id=_optional(item, "old_status_id", where),
    )
