"""Evolution API v2 webhook bodies turned into normalised, typed values.

Pure: bytes or decoded JSON in, dataclasses out; no network, no Rasa, no Sanic.
The wire format is the one described in docs/evolution-api-v2.md (Evolution
2.3.6 on Baileys 7.0.0-rc.6).

Two kinds of input are told apart on purpose:
- a body that violates the webhook schema (not a JSON object, bad key, bad JID,
  oversized text...) raises `PayloadError`, which the channel answers with 400;
  Evolution does not retry a 400, so a broken body cannot loop;
- a well-formed message the assistant should not read (group, status,
  reaction, protocol noise...) is returned as `Ignored`, answered with 200.
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from itertools import accumulate
from dataclasses import dataclass
from collections.abc import Mapping  # not typing's: its isinstance() is slow, and every field is checked
from typing import Any, Dict, List, Optional, Tuple, Union
from urllib.parse import urlsplit

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_ID_LENGTH",
    "MAX_TEXT_CHARS",
    "PayloadError",
    "normalize_event_name",
    "decode_json",
    "Envelope",
    "parse_webhook_body",
    "MediaRef",
    "InboundMessage",
    "OwnMessage",
    "Ignored",
    "parse_upsert",
    "inline_base64",
    "ReceiptUpdate",
    "parse_receipt",
    "ConnectionUpdate",
    "parse_connection_update",
]

MAX_JSON_DEPTH = 64
MAX_ID_LENGTH = 128
MAX_TEXT_CHARS = 65_536

# Baileys' normalizeMessageContent stops after five wrappers; real messages
# never come close, so a deeper chain is crafted.
MAX_WRAPPER_DEPTH = 5
MAX_PAYLOAD_CHARS = 1_024
MAX_CONTACTS = 50
MAX_PHONES_PER_CONTACT = 20
_MAX_LABEL_CHARS = 256
_MAX_URL_CHARS = 4_096
# JavaScript's JSON.stringify writes at most 21 digits before switching to
# exponent notation, so anything longer was not produced by Evolution.
_MAX_NUMBER_CHARS = 40
# 9999-12-31T23:59:59Z: generous, yet rejects millisecond timestamps.
_MAX_EPOCH_SECONDS = 253_402_300_799
_MAX_SAFE_INTEGER = 2**53 - 1


class PayloadError(ValueError):
    """Body violates the webhook schema → the channel answers 400.

    str(error) is a short reason that is safe to log: it never echoes values,
    phone numbers or text from the body.
    """


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


# --- JSON decoding ----------------------------------------------------------------

# The unrolled form keeps the regex engine in its fast single-class loops, so
# megabytes of base64 inside one string cost almost nothing.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_DELTA = {"[": 1, "{": 1, "]": -1, "}": -1}
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _nesting_exceeds(text: str, limit: int) -> bool:
    # The C JSON parser recurses once per level, so hostile nesting is measured
    # before parsing and without recursion: strings are cut out (brackets in
    # them do not count), then the running bracket balance is summed in C.
    # Depth never exceeds the number of opening brackets: a webhook has a
    # dozen, so the common case is two counts, not two regex passes.
    if text.count("{") + text.count("[") <= limit:
        return False
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    if not brackets:
        return False
    return max(accumulate(map(_BRACKET_DELTA.__getitem__, brackets))) > limit


def _reject_constant(_: str) -> Any:
    raise PayloadError("JSON contains NaN or Infinity")


def _finite_float(literal: str) -> float:
    if len(literal) > _MAX_NUMBER_CHARS:
        raise PayloadError("JSON number is too long")
    value = float(literal)
    if not math.isfinite(value):
        raise PayloadError("JSON number is out of range")
    return value


def _bounded_int(literal: str) -> int:
    if len(literal) > _MAX_NUMBER_CHARS:
        raise PayloadError("JSON number is too long")
    return int(literal)


def _object_without_duplicates(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    # Parsers disagree on which duplicate wins (first or last); refusing them
    # keeps an authenticating proxy and this channel from seeing different bodies.
    result = dict(pairs)
    if len(result) != len(pairs):
        raise PayloadError("JSON object has duplicate keys")
    return result


def _has_lone_surrogate(value: Any) -> bool:
    pending: List[Any] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def decode_json(raw: bytes) -> Any:
    """Strict UTF-8 JSON with bounded nesting, finite numbers and unique keys."""
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("body is not valid UTF-8") from None
    if not text or text.isspace():
        raise PayloadError("body is empty")
    if _nesting_exceeds(text, MAX_JSON_DEPTH):
        raise PayloadError("JSON is nested too deeply")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except PayloadError:
        raise
    except (ValueError, RecursionError):
        raise PayloadError("body is not valid JSON") from None
    # A lone surrogate can only enter through a \uD8xx escape, and it makes
    # every later UTF-8 encode (logs, Redis, Rasa) raise.
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        raise PayloadError("JSON contains an unpaired surrogate")
    return value


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
    upsert: Optional[Union["InboundMessage", "OwnMessage", "Ignored"]] = None


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


# Unicode's "Cc" category, all of it (a unit test compares it with unicodedata).
_CONTROL_CHAR = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _has_control_chars(value: str) -> bool:
    return _CONTROL_CHAR.search(value) is not None


def _instance_name(value: Any) -> Optional[str]:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PayloadError("instance is not a string")
    # Used in Redis keys and log lines, so it must be short and single-line.
    if len(value) > MAX_ID_LENGTH or _has_control_chars(value):
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
    sender = _valid_jid_text(body.get("sender"))
    # An upsert is parsed here, so a broken one is a 400 now rather than a
    # failure after the channel has answered 200.
    upsert = parse_upsert(data, own_jid=sender) if event == "messages.upsert" else None
    return Envelope(
        event=event,
        instance=_instance_name(body.get("instance")),
        data=data,
        date_time=_short_text(body.get("date_time"), 64),
        sender=sender,
        upsert=upsert,
    )


# --- JIDs ---------------------------------------------------------------------------

_JID_SYNTAX = re.compile(
    r"(?P<user>[0-9A-Za-z][0-9A-Za-z._-]{0,99})(?::(?P<device>[0-9]{1,5}))?@(?P<server>[a-z][a-z0-9.]{0,31})",
    re.ASCII,
)
_PHONE_SERVERS = frozenset({"s.whatsapp.net", "c.us", "hosted"})
_LID_SERVERS = frozenset({"lid", "hosted.lid"})
_USER_SYNTAX_BY_SERVER: Dict[str, "re.Pattern[str]"] = {
    "s.whatsapp.net": re.compile(r"[0-9]{5,20}", re.ASCII),
    "c.us": re.compile(r"[0-9]{5,20}", re.ASCII),
    "hosted": re.compile(r"[0-9]{5,20}", re.ASCII),
    "lid": re.compile(r"[0-9]{5,25}", re.ASCII),
    "hosted.lid": re.compile(r"[0-9]{5,25}", re.ASCII),
    "g.us": re.compile(r"[0-9][0-9-]{4,63}", re.ASCII),
    "newsletter": re.compile(r"[0-9]{5,25}", re.ASCII),
}


@dataclass(frozen=True)
class _Jid:
    user: str
    server: str

    @property
    def is_phone(self) -> bool:
        return self.server in _PHONE_SERVERS

    @property
    def is_lid(self) -> bool:
        return self.server in _LID_SERVERS


def _jid_or_none(value: Any) -> Optional[_Jid]:
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH:
        return None
    match = _JID_SYNTAX.fullmatch(value)
    if match is None:
        return None
    user, server = match.group("user"), match.group("server")
    user_syntax = _USER_SYNTAX_BY_SERVER.get(server)
    if user_syntax is not None and not user_syntax.fullmatch(user):
        return None
    return _Jid(user=user, server=server)


def _valid_jid_text(value: Any) -> Optional[str]:
    return value if _jid_or_none(value) is not None else None


def _required_jid(value: Any, what: str) -> _Jid:
    if value is None:
        raise PayloadError(f"{what} is missing")
    if not isinstance(value, str):
        raise PayloadError(f"{what} is not a string")
    if len(value) > MAX_ID_LENGTH:
        raise PayloadError(f"{what} is too long")
    jid = _jid_or_none(value)
    if jid is None:
        raise PayloadError(f"{what} is not a valid JID")
    return jid


def _contact_id(chat: _Jid, alternative: Optional[_Jid], own: Optional[_Jid]) -> str:
    # A phone number keeps the conversation id stable across WhatsApp's
    # PN→LID switch; the LID is used only when no phone JID is known.
    if chat.is_lid and alternative is not None and alternative.is_phone:
        if own is None or alternative.user != own.user:
            return alternative.user
    return chat.user


def _chat_ignore_reason(chat: _Jid) -> Optional[str]:
    if chat.server == "g.us":
        return "group"
    if chat.server == "broadcast":
        return "status" if chat.user == "status" else "broadcast"
    if chat.server == "newsletter":
        return "newsletter"
    if not (chat.is_phone or chat.is_lid):
        return "unsupported_chat"
    return None


# --- results of parse_upsert ------------------------------------------------------


@dataclass(frozen=True)
class MediaRef:
    """A reference to media: never the bytes or base64 themselves."""

    kind: str
    mimetype: Optional[str]
    file_name: Optional[str]
    size_bytes: Optional[int]
    seconds: Optional[int]
    is_voice_note: bool
    has_inline_base64: bool
    media_url: Optional[str]


@dataclass(frozen=True)
class InboundMessage:
    message_id: str
    sender_id: str
    reply_jid: str
    push_name: Optional[str]
    kind: str
    text: str
    payload: Optional[str]
    media: Optional[MediaRef]
    location: Optional[Mapping[str, Any]]
    contacts: Tuple[Mapping[str, Any], ...]
    timestamp: Optional[int]
    quoted_message_id: Optional[str]
    message_type: str


@dataclass(frozen=True)
class OwnMessage:
    """Typed by a person on the business phone (key.fromMe)."""

    message_id: str
    sender_id: str
    reply_jid: str
    timestamp: Optional[int]


@dataclass(frozen=True)
class Ignored:
    reason: str


# --- scalar readers ---------------------------------------------------------------

_MESSAGE_ID_SYNTAX = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*", re.ASCII)
_MESSAGE_TYPE_SYNTAX = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}", re.ASCII)


def _required_message_id(value: Any) -> str:
    if value is None:
        raise PayloadError("key.id is missing")
    if not isinstance(value, str):
        raise PayloadError("key.id is not a string")
    if not value:
        raise PayloadError("key.id is empty")
    if len(value) > MAX_ID_LENGTH:
        raise PayloadError("key.id is too long")
    # Message ids end up in Redis keys and media file names.
    if not _MESSAGE_ID_SYNTAX.fullmatch(value):
        raise PayloadError("key.id has invalid characters")
    return value


def _message_id_or_none(value: Any) -> Optional[str]:
    if isinstance(value, str) and len(value) <= MAX_ID_LENGTH and _MESSAGE_ID_SYNTAX.fullmatch(value):
        return value
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _long_value(value: Mapping[str, Any]) -> Optional[int]:
    # protobufjs Long: two signed 32-bit halves, `unsigned` telling how to read `high`.
    low, high = value.get("low"), value.get("high")
    if not all(isinstance(half, int) and not isinstance(half, bool) for half in (low, high)):
        return None
    if not (-(2**31) <= low < 2**32 and -(2**31) <= high < 2**32):
        return None
    low &= 0xFFFFFFFF
    if value.get("unsigned") is True:
        high &= 0xFFFFFFFF
    elif high >= 2**31:
        high -= 2**32
    return high * 2**32 + low


def _timestamp(value: Any) -> Optional[int]:
    if value is None:
        return None
    seconds: Optional[int] = None
    if isinstance(value, Mapping):
        seconds = _long_value(value)
    elif _is_number(value):
        seconds = int(value)
    if seconds is None:
        raise PayloadError("messageTimestamp is not a number")
    if not 0 <= seconds <= _MAX_EPOCH_SECONDS:
        raise PayloadError("messageTimestamp is out of range")
    return seconds


def _size_bytes(value: Any) -> Optional[int]:
    size: Optional[int] = None
    if isinstance(value, Mapping):
        size = _long_value(value)
    elif isinstance(value, bool):
        size = None
    elif isinstance(value, int):
        size = value
    elif isinstance(value, float) and value.is_integer():
        size = int(value)
    elif isinstance(value, str) and 0 < len(value) <= 20 and value.isascii() and value.isdigit():
        size = int(value)
    if size is None or not 0 <= size <= _MAX_SAFE_INTEGER:
        return None
    return size


def _small_count(value: Any) -> Optional[int]:
    if _is_number(value) and math.isfinite(value) and 0 <= value <= 10**7:
        return int(value)
    return None


def _short_text(value: Any, limit: int) -> Optional[str]:
    if isinstance(value, str) and value and len(value) <= limit and not _has_control_chars(value):
        return value
    return None


def _text_field(container: Mapping[str, Any], field: str) -> str:
    value = container.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadError("a message text field is not a string")
    if len(value) > MAX_TEXT_CHARS:
        raise PayloadError("message text exceeds the size limit")
    return value


def _reply_payload(container: Mapping[str, Any], field: str) -> Optional[str]:
    value = container.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PayloadError("a reply id is not a string")
    if len(value) > MAX_PAYLOAD_CHARS or "\x00" in value:
        raise PayloadError("a reply id is not valid")
    return value


def _mapping_or_empty(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _push_name(value: Any) -> Optional[str]:
    name = _short_text(value, _MAX_LABEL_CHARS)
    if name is None:
        return None
    name = name.strip()
    # Evolution fills a missing own name with the Portuguese "You".
    if not name or name == "Você":
        return None
    return name


# --- media --------------------------------------------------------------------------

_MEDIA_KINDS: Dict[str, str] = {
    "imageMessage": "image",
    "videoMessage": "video",
    "ptvMessage": "video",
    "audioMessage": "audio",
    "documentMessage": "document",
    "stickerMessage": "sticker",
}
_CAPTIONED_KINDS = frozenset({"image", "video", "document"})
_SPEECH_TO_TEXT_PREFIX = "[audio]"


def _file_name(value: Any) -> Optional[str]:
    if not isinstance(value, str):
        return None
    # The sender chooses this name: keep no directories and no invisible or
    # bidi characters, so it cannot steer a path or disguise an extension.
    base = re.split(r"[\\/]", value)[-1]
    cleaned = "".join(char for char in base if unicodedata.category(char) not in ("Cc", "Cf")).strip()
    if cleaned in ("", ".", "..") or len(cleaned) > 255:
        return None
    return cleaned


def _media_url(value: Any) -> Optional[str]:
    if not isinstance(value, str) or len(value) > _MAX_URL_CHARS or not value.isascii():
        return None
    if any(char.isspace() or ord(char) < 32 for char in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    # WhatsApp's CDN serves encrypted blobs that are useless without the media key.
    if parts.hostname.endswith("whatsapp.net") or parts.path.endswith(".enc"):
        return None
    return value


def inline_base64(data: Mapping[str, Any]) -> Optional[str]:
    """The media bytes Evolution inlines with `webhookBase64` on, as sent (base64)."""
    message = data.get("message") if isinstance(data, Mapping) else None
    if not isinstance(message, Mapping):
        return None
    value = message.get("base64")
    if isinstance(value, str) and value:
        return value
    return None


def _media_ref(kind: str, media: Mapping[str, Any], data: Mapping[str, Any]) -> MediaRef:
    outer = _mapping_or_empty(data.get("message"))
    return MediaRef(
        kind=kind,
        mimetype=_short_text(media.get("mimetype"), 255),
        file_name=_file_name(media.get("fileName")) if kind == "document" else None,
        size_bytes=_size_bytes(media.get("fileLength")),
        seconds=_small_count(media.get("seconds")) if kind in ("audio", "video") else None,
        is_voice_note=kind == "audio" and media.get("ptt") is True,
        has_inline_base64=inline_base64(data) is not None,
        media_url=_media_url(outer.get("mediaUrl")),
    )


def _speech_to_text(data: Mapping[str, Any], content: Mapping[str, Any]) -> str:
    # Evolution writes the transcript next to audioMessage at data.message,
    # even when the audio itself sits inside a wrapper.
    outer = _mapping_or_empty(data.get("message"))
    text = _text_field(outer, "speechToText") or _text_field(content, "speechToText")
    if text.startswith(_SPEECH_TO_TEXT_PREFIX):
        text = text[len(_SPEECH_TO_TEXT_PREFIX):]
    return text.strip()


# --- location and contacts ----------------------------------------------------------


def _coordinate(value: Any, bound: float) -> Optional[float]:
    if _is_number(value) and math.isfinite(value) and -bound <= value <= bound:
        return float(value)
    return None


def _location(content: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    latitude = _coordinate(content.get("degreesLatitude"), 90.0)
    longitude = _coordinate(content.get("degreesLongitude"), 180.0)
    if latitude is None or longitude is None:
        return None
    return {
        "latitude": latitude,
        "longitude": longitude,
        "name": _short_text(content.get("name"), 1_024),
        "address": _short_text(content.get("address"), 1_024),
    }


_VCARD_WAID = re.compile(r"(?i)(?:^|;)waid=([0-9]{5,20})(?:;|$)")
_NON_DIGITS = re.compile(r"[^0-9]")
_MAX_VCARD_LINES = 500


def _vcard_fields(vcard: str) -> Tuple[Optional[str], Tuple[str, ...]]:
    full_name: Optional[str] = None
    phones: List[str] = []
    for line in vcard.splitlines()[:_MAX_VCARD_LINES]:
        head, separator, value = line.partition(":")
        if not separator:
            continue
        # "item1.TEL;waid=5511...": drop the group prefix and the parameters.
        prop = head.split(";", 1)[0].rsplit(".", 1)[-1].strip().upper()
        if prop == "FN" and full_name is None:
            full_name = _short_text(value.strip(), _MAX_LABEL_CHARS)
        elif prop == "TEL" and len(phones) < MAX_PHONES_PER_CONTACT:
            # waid is the WhatsApp id itself; the displayed value is formatted freely.
            waid = _VCARD_WAID.search(head)
            digits = waid.group(1) if waid else _NON_DIGITS.sub("", value)
            if 5 <= len(digits) <= 20 and digits not in phones:
                phones.append(digits)
    return full_name, tuple(phones)


def _contact(value: Any) -> Optional[Dict[str, Any]]:
    if not isinstance(value, Mapping):
        return None
    vcard = value.get("vcard")
    full_name, phones = (None, ())
    if isinstance(vcard, str) and len(vcard) <= MAX_TEXT_CHARS:
        full_name, phones = _vcard_fields(vcard)
    name = _short_text(value.get("displayName"), _MAX_LABEL_CHARS) or full_name
    if name is None and not phones:
        return None
    return {"name": name, "phones": phones}


def _contacts(content_type: str, content: Mapping[str, Any]) -> Tuple[Dict[str, Any], ...]:
    if content_type == "contactMessage":
        entries: List[Any] = [content]
    else:
        listed = content.get("contacts")
        entries = listed[:MAX_CONTACTS] if isinstance(listed, list) else []
    return tuple(contact for contact in map(_contact, entries) if contact is not None)


# --- interactive replies ------------------------------------------------------------


def _native_flow_id(content: Mapping[str, Any]) -> Optional[str]:
    flow = _mapping_or_empty(content.get("nativeFlowResponseMessage"))
    params = flow.get("paramsJson")
    if not isinstance(params, str) or len(params) > MAX_PAYLOAD_CHARS * 4:
        return None
    try:
        decoded = decode_json(params.encode("utf-8"))
    except (PayloadError, UnicodeEncodeError):
        return None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("id"), str):
        return None
    try:
        return _reply_payload(decoded, "id")
    except PayloadError:
        # paramsJson is a string the client composed: a bad id inside it makes
        # the reply id unknown, not the webhook invalid.
        return None


# --- message content ----------------------------------------------------------------

_WRAPPERS = frozenset(
    {
        "ephemeralMessage",
        "viewOnceMessage",
        "viewOnceMessageV2",
        "viewOnceMessageV2Extension",
        "documentWithCaptionMessage",
        "associatedChildMessage",
        "groupStatusMessage",
        "groupStatusMessageV2",
        "lottieStickerMessage",
    }
)
# Keys that sit next to the real content and say nothing by themselves.
_NOT_CONTENT = frozenset({"messageContextInfo", "senderKeyDistributionMessage"})
_IGNORED_CONTENT: Dict[str, str] = {
    "reactionMessage": "reaction",
    "encReactionMessage": "reaction",
    "protocolMessage": "protocol",
    "keepInChatMessage": "protocol",
    "pinInChatMessage": "protocol",
    "pollUpdateMessage": "poll_update",
    # Edits are delivered as messages.edited; one reaching the upsert path is a leftover.
    "editedMessage": "edited_wrapper",
}


@dataclass(frozen=True)
class _Content:
    kind: str = "unsupported"
    text: str = ""
    payload: Optional[str] = None
    media: Optional[MediaRef] = None
    location: Optional[Dict[str, Any]] = None
    contacts: Tuple[Dict[str, Any], ...] = ()
    quoted_message_id: Optional[str] = None
    ignore_reason: Optional[str] = None


_NO_CONTENT = _Content(ignore_reason="no_content")


def _content_type(message: Mapping[str, Any]) -> Optional[str]:
    # Baileys' getContentType: the first key that is `conversation` or names a
    # *Message; Evolution's own additions (base64, mediaUrl, speechToText) never match.
    for name, value in message.items():
        if value is None or name in _NOT_CONTENT:
            continue
        if name == "conversation" or "Message" in name:
            return name
    return None


def _unwrap(message: Mapping[str, Any]) -> Tuple[Mapping[str, Any], Optional[str]]:
    current = message
    for _ in range(MAX_WRAPPER_DEPTH + 1):
        content_type = _content_type(current)
        if content_type not in _WRAPPERS:
            return current, content_type
        wrapper = current[content_type]
        if not isinstance(wrapper, Mapping):
            raise PayloadError("a message wrapper is not an object")
        inner = wrapper.get("message")
        if inner is None:
            return {}, None
        if not isinstance(inner, Mapping):
            raise PayloadError("a wrapped message is not an object")
        current = inner
    raise PayloadError("message wrappers are nested too deeply")


def _quoted_message_id(data: Mapping[str, Any], content: Mapping[str, Any]) -> Optional[str]:
    # Evolution copies the content's contextInfo to data.contextInfo, except for
    # wrapped content, where only the inner one exists.
    for context in (content.get("contextInfo"), data.get("contextInfo")):
        if isinstance(context, Mapping):
            quoted = _message_id_or_none(context.get("stanzaId"))
            if quoted is not None:
                return quoted
    return None


def _text_content(text: str, quoted: Optional[str]) -> _Content:
    if not text.strip():
        return _NO_CONTENT
    return _Content(kind="text", text=text, quoted_message_id=quoted)


def _reply_content(content_type: str, content: Mapping[str, Any], quoted: Optional[str]) -> _Content:
    if content_type == "buttonsResponseMessage":
        text = _text_field(content, "selectedDisplayText")
        payload = _reply_payload(content, "selectedButtonId")
        kind = "button_reply"
    elif content_type == "templateButtonReplyMessage":
        text = _text_field(content, "selectedDisplayText")
        payload = _reply_payload(content, "selectedId")
        kind = "button_reply"
    elif content_type == "listResponseMessage":
        selection = _mapping_or_empty(content.get("singleSelectReply"))
        text = _text_field(content, "title")
        payload = _reply_payload(selection, "selectedRowId")
        kind = "list_reply"
    else:
        text = _text_field(_mapping_or_empty(content.get("body")), "text")
        payload = _native_flow_id(content)
        kind = "button_reply"
    return _Content(kind=kind, text=text, payload=payload, quoted_message_id=quoted)


_REPLY_TYPES = frozenset(
    {
        "buttonsResponseMessage",
        "templateButtonReplyMessage",
        "listResponseMessage",
        "interactiveResponseMessage",
    }
)


def _extract_content(data: Mapping[str, Any], message: Mapping[str, Any]) -> _Content:
    inner, content_type = _unwrap(message)
    if content_type is None:
        return _NO_CONTENT
    if content_type in _IGNORED_CONTENT:
        return _Content(ignore_reason=_IGNORED_CONTENT[content_type])
    value = inner[content_type]
    if content_type == "conversation":
        if not isinstance(value, str):
            raise PayloadError("a message text field is not a string")
        return _text_content(_text_field(inner, "conversation"), _quoted_message_id(data, {}))
    if not isinstance(value, Mapping):
        raise PayloadError("message content is not an object")
    quoted = _quoted_message_id(data, value)
    if content_type == "extendedTextMessage":
        return _text_content(_text_field(value, "text"), quoted)
    media_kind = _MEDIA_KINDS.get(content_type)
    if media_kind is not None:
        if media_kind == "audio":
            text = _speech_to_text(data, inner)
        elif media_kind in _CAPTIONED_KINDS:
            text = _text_field(value, "caption")
        else:
            text = ""
        return _Content(kind=media_kind, text=text, media=_media_ref(media_kind, value, data),
                        quoted_message_id=quoted)
    if content_type in ("locationMessage", "liveLocationMessage"):
        text = _text_field(value, "comment" if content_type == "locationMessage" else "caption")
        return _Content(kind="location", text=text, location=_location(value), quoted_message_id=quoted)
    if content_type in ("contactMessage", "contactsArrayMessage"):
        return _Content(kind="contact", contacts=_contacts(content_type, value), quoted_message_id=quoted)
    if content_type in _REPLY_TYPES:
        return _reply_content(content_type, value, quoted)
    return _Content(kind="unsupported", quoted_message_id=quoted)


def _message_type(value: Any, message: Mapping[str, Any]) -> str:
    if value is None:
        return _content_type(message) or "unknown"
    if not isinstance(value, str) or not _MESSAGE_TYPE_SYNTAX.fullmatch(value):
        raise PayloadError("messageType is not a valid type name")
    return value


def _from_me(key: Mapping[str, Any]) -> bool:
    value = key.get("fromMe")
    if value is None:
        return False
    if not isinstance(value, bool):
        raise PayloadError("key.fromMe is not a boolean")
    return value


def parse_upsert(
    data: Mapping[str, Any], *, own_jid: Optional[str] = None
) -> Union[InboundMessage, OwnMessage, Ignored]:
    """One `messages.upsert` data object → what the assistant should do with it.

    Raises PayloadError when the data violates the schema. Groups, broadcasts,
    status and newsletters are Ignored (even from the business phone); then
    reactions, protocol and poll noise and empty content are Ignored; then
    key.fromMe gives an OwnMessage; anything else is an InboundMessage.
    `own_jid` (Envelope.sender) keeps an own alias in remoteJidAlt from being
    taken for the contact's number.
    """
    if not isinstance(data, Mapping):
        raise PayloadError("data is not an object")
    key = data.get("key")
    if not isinstance(key, Mapping):
        raise PayloadError("key is missing or not an object")
    message_id = _required_message_id(key.get("id"))
    chat = _required_jid(key.get("remoteJid"), "key.remoteJid")
    reply_jid: str = key["remoteJid"]
    from_me = _from_me(key)
    message = data.get("message")
    if not isinstance(message, Mapping):
        raise PayloadError("message is missing or not an object")
    timestamp = _timestamp(data.get("messageTimestamp"))
    message_type = _message_type(data.get("messageType"), message)
    content = _extract_content(data, message)

    chat_reason = _chat_ignore_reason(chat)
    if chat_reason is not None:
        return Ignored(chat_reason)
    if content.ignore_reason is not None:
        return Ignored(content.ignore_reason)
    sender_id = _contact_id(chat, _jid_or_none(key.get("remoteJidAlt")), _jid_or_none(own_jid))
    if from_me:
        return OwnMessage(
            message_id=message_id, sender_id=sender_id, reply_jid=reply_jid, timestamp=timestamp
        )
    return InboundMessage(
        message_id=message_id,
        sender_id=sender_id,
        reply_jid=reply_jid,
        push_name=_push_name(data.get("pushName")),
        kind=content.kind,
        text=content.text,
        payload=content.payload,
        media=content.media,
        location=content.location,
        contacts=content.contacts,
        timestamp=timestamp,
        quoted_message_id=content.quoted_message_id,
        message_type=message_type,
    )


# --- messages.update ----------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptUpdate:
    message_id: str
    remote_jid: Optional[str]
    status: str
    from_me: Optional[bool]


# renderStatus.ts order: the proto's numeric status is the index.
_RECEIPT_STATUS_BY_NUMBER: Tuple[str, ...] = ("error", "pending", "sent", "delivered", "read", "played")
_RECEIPT_STATUS_BY_NAME: Dict[str, str] = {
    "ERROR": "error",
    "PENDING": "pending",
    "SERVER_ACK": "sent",
    "DELIVERY_ACK": "delivered",
    "READ": "read",
    "PLAYED": "played",
    # Evolution's fallback when it cannot render a status.
    "DELETED": "deleted",
    **{name.upper(): name for name in _RECEIPT_STATUS_BY_NUMBER},
}


def _receipt_status(value: Any) -> Optional[str]:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) == 1:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < len(_RECEIPT_STATUS_BY_NUMBER):
            return _RECEIPT_STATUS_BY_NUMBER[value]
        return None
    if isinstance(value, str) and len(value) <= 32:
        return _RECEIPT_STATUS_BY_NAME.get(value.strip().upper())
    return None


def parse_receipt(data: Mapping[str, Any]) -> Optional[ReceiptUpdate]:
    """A delivery/read receipt for one message; None when it cannot be used.

    Evolution's shape is flat ({keyId, remoteJid, fromMe, status}); Baileys'
    own {key, update: {status}} is read as well. `messageId` is Evolution's
    database id, not a WhatsApp id, so it is never used.
    """
    if not isinstance(data, Mapping):
        return None
    key = _mapping_or_empty(data.get("key"))
    message_id = _message_id_or_none(data.get("keyId")) or _message_id_or_none(key.get("id"))
    raw_status = data.get("status")
    if raw_status is None:
        raw_status = _mapping_or_empty(data.get("update")).get("status")
    status = _receipt_status(raw_status)
    if message_id is None or status is None:
        return None
    remote_jid = _valid_jid_text(data.get("remoteJid")) or _valid_jid_text(key.get("remoteJid"))
    from_me = data.get("fromMe", key.get("fromMe"))
    return ReceiptUpdate(
        message_id=message_id,
        remote_jid=remote_jid,
        status=status,
        from_me=from_me if isinstance(from_me, bool) else None,
    )


# --- connection.update --------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionUpdate:
    state: str
    status_reason: Optional[int]


_CONNECTION_STATE_SYNTAX = re.compile(r"[a-z][a-z_]{0,31}", re.ASCII)


def parse_connection_update(data: Mapping[str, Any]) -> Optional[ConnectionUpdate]:
    """WhatsApp session state ("open", "connecting", "close", "refused"...); None if unusable."""
    if not isinstance(data, Mapping):
        return None
    state = data.get("state")
    if not isinstance(state, str):
        return None
    state = state.strip().lower()
    if not _CONNECTION_STATE_SYNTAX.fullmatch(state):
        return None
    reason = data.get("statusReason")
    if isinstance(reason, str) and reason.isascii() and reason.isdigit() and len(reason) <= 4:
        reason = int(reason)
    if not (isinstance(reason, int) and not isinstance(reason, bool) and 0 <= reason <= 9999):
        reason = None
    return ConnectionUpdate(state=state, status_reason=reason)
