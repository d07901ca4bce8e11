"""Webhook event names and the envelope of one webhook POST.

Evolution spells an event three ways (``messages.upsert``, ``MESSAGES_UPSERT``, the
byEvents URL suffix ``messages-upsert``); all collapse to the dotted name the body carries.
`parse_webhook_body` decodes a POST into an `Envelope` and fully validates a
`messages.upsert`, so a broken one is refused before the channel answers.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple, Union

from whatsapp.jids import valid_jid_text
from whatsapp.messages import Ignored, InboundMessage, OwnMessage, parse_upsert
from whatsapp.scalars import MAX_ID_LENGTH, PayloadError, has_control_chars, short_text
from whatsapp.strict_json import decode_json

__all__ = ["normalize_event_name", "Envelope", "parse_webhook_body"]

# --- event names ------------------------------------------------------------------

# Evolution's `Events` enum (src/api/types/wa.types.ts), i.e. the spelling of
# the body's `event` field; note the mix of '.' and '-'.
_EVENT_NAMES: Tuple[str, ...] = (
    "application.startup",
    "instance.create",
    "instance.delete",
    "qrcode.updated",
    "connection.update",
    "status.instance",
    "messages.set",
    "messages.upsert",
    "messages.edited",
    "messages.update",
    "messages.delete",
    "send.message",
    "send.message.update",
    "contacts.set",
    "contacts.upsert",
    "contacts.update",
    "presence.update",
    "chats.set",
    "chats.upsert",
    "chats.update",
    "chats.delete",
    "groups.upsert",
    "groups.update",
    "group-participants.update",
    "labels.edit",
    "labels.association",
    "call",
    "typebot.start",
    "typebot.change-status",
    "remove.instance",
    "logout.instance",
)
_EVENT_SEPARATORS = re.compile(r"[._-]")


def _event_key(name: str) -> str:
    # The UPPER_SNAKE form is what Evolution derives from every spelling, so it
    # is the one form all three spellings collapse to.
    return _EVENT_SEPARATORS.sub("_", name).upper()


_EVENTS_BY_KEY: Dict[str, str] = {_event_key(name): name for name in _EVENT_NAMES}
# Evolution's configuration knows GROUPS_UPDATE only as GROUP_UPDATE (pitfall P13).
_EVENTS_BY_KEY["GROUP_UPDATE"] = "groups.update"

_EVENT_NAME_SYNTAX = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,63}", re.ASCII)

# Events whose `data` this module reads: for them anything but an object is a
# schema violation. Other events (history sync, contact and chat lists,
# remove/logout) legitimately carry arrays or null.
# A contact sync may list thousands of contacts; beyond this many the rest is not read.
MAX_ITEMS = 5000

_EVENTS_WITH_OBJECT_DATA = frozenset(
    {
        "messages.upsert",
        "messages.update",
        "messages.edited",
        "send.message",
        "send.message.update",
        "connection.update",
        "qrcode.updated",
        "status.instance",
    }
)


def normalize_event_name(name: str) -> str:
    """Any of Evolution's spellings → the dotted name the body carries.

    "MESSAGES_UPSERT", "messages-upsert", "Messages.Upsert" → "messages.upsert";
    unknown names are lowercased with '_' turned into '.'.
    """
    stripped = name.strip()
    known = _EVENTS_BY_KEY.get(_event_key(stripped))
    if known is not None:
        return known
    return stripped.lower().replace("_", ".")


# --- the envelope -----------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    event: str
    instance: Optional[str]
    data: Mapping[str, Any]
    date_time: Optional[str]
    # The connected account's own JID (absent before pairing): pass it to
    # parse_upsert(own_jid=...) so an own LID alias is never taken for the contact.
    sender: Optional[str] = None
    # For messages.upsert: parse_upsert(data, own_jid=sender), done once while validating.
    upsert: Optional[Union[InboundMessage, OwnMessage, Ignored]] = None
    # Events whose data is an array (contacts.upsert from a contact sync, §3.8): its entries;
    # ``data`` is then {}. Only identities are read from them.
    items: tuple[Any, ...] = ()


def _checked_event_name(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise PayloadError(f"{what} is not a string")
    if not _EVENT_NAME_SYNTAX.fullmatch(value):
        raise PayloadError(f"{what} is not a valid event name")
    return normalize_event_name(value)


def _resolve_event(body: Mapping[str, Any], path_event: Optional[str]) -> str:
    from_path = None
    if path_event is not None:
        from_path = _checked_event_name(path_event.strip("/"), "event in the URL")
    if "event" not in body:
        if from_path is None:
            raise PayloadError("event is missing")
        return from_path
    from_body = _checked_event_name(body["event"], "event")
    if from_path is not None and from_path != from_body:
        raise PayloadError("event in the URL does not match the body")
    return from_body


def _instance_name(value: Any) -> Optional[str]:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PayloadError("instance is not a string")
    # Used in Redis keys and log lines, so it must be short and single-line.
    if len(value) > MAX_ID_LENGTH or has_control_chars(value):
        raise PayloadError("instance is not a valid name")
    return value


def _event_data(body: Mapping[str, Any], event: str) -> Mapping[str, Any]:
    if "data" not in body:
        raise PayloadError("data is missing")
    data = body["data"]
    if isinstance(data, dict):
        return data
    if event not in _EVENTS_WITH_OBJECT_DATA and (data is None or isinstance(data, list)):
        return {}
    raise PayloadError("data is not an object")


def parse_webhook_body(raw: bytes, *, path_event: Optional[str] = None) -> Envelope:
    """Decode and check one webhook POST; a `messages.upsert` is fully validated.

    `path_event` is the byEvents URL suffix (e.g. "messages-upsert"): used when
    the body has no `event`, and it must agree with the body when both exist.
    """
    body = decode_json(raw)
    if not isinstance(body, dict):
        raise PayloadError("body is not a JSON object")
    event = _resolve_event(body, path_event)
    data = _event_data(body, event)
    raw_data = body.get("data")
    items = tuple(raw_data[:MAX_ITEMS]) if isinstance(raw_data, list) and not data else ()
    sender = valid_jid_text(body.get("sender"))
    # An upsert is parsed here, so a broken one is a 400 now rather than a
    # failure after the channel has answered 200.
    upsert = parse_upsert(data, own_jid=sender) if event == "messages.upsert" else None
    return Envelope(
        event=event,
        instance=_instance_name(body.get("instance")),
        data=data,
        date_time=short_text(body.get("date_time"), 64),
        sender=sender,
        upsert=upsert,
        items=items,
    )
