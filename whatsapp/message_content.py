"""What one upserted message says: its content unwrapped, classified and read.

Baileys wraps content (ephemeral, view-once, document-with-caption...); the innermost
content type decides the kind: text, media, location, contact card, button or list
reply, noise to ignore (a reaction, a protocol message, a poll update) or unsupported.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from whatsapp.media import CAPTIONED_KINDS, MEDIA_KINDS, MediaRef, media_ref, speech_to_text
from whatsapp.scalars import (
    MAX_LABEL_CHARS,
    MAX_PAYLOAD_CHARS,
    MAX_TEXT_CHARS,
    PayloadError,
    is_number,
    mapping_or_empty,
    message_id_or_none,
    reply_payload,
    short_text,
    text_field,
)
from whatsapp.strict_json import decode_json

__all__ = [
    "MAX_WRAPPER_DEPTH",
    "MAX_CONTACTS",
    "MAX_PHONES_PER_CONTACT",
    "Content",
    "content_object",
    "content_type_of",
    "extract_content",
]

# Baileys' normalizeMessageContent stops after five wrappers; real messages
# never come close, so a deeper chain is crafted.
MAX_WRAPPER_DEPTH = 5
MAX_CONTACTS = 50
MAX_PHONES_PER_CONTACT = 20


# --- location and contacts ----------------------------------------------------------


def _coordinate(value: Any, bound: float) -> Optional[float]:
    if is_number(value) and math.isfinite(value) and -bound <= value <= bound:
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
        "name": short_text(content.get("name"), 1_024),
        "address": short_text(content.get("address"), 1_024),
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
            full_name = short_text(value.strip(), MAX_LABEL_CHARS)
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
    full_name: Optional[str] = None
    phones: Tuple[str, ...] = ()
    if isinstance(vcard, str) and len(vcard) <= MAX_TEXT_CHARS:
        full_name, phones = _vcard_fields(vcard)
    name = short_text(value.get("displayName"), MAX_LABEL_CHARS) or full_name
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
    flow = mapping_or_empty(content.get("nativeFlowResponseMessage"))
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
        return reply_payload(decoded, "id")
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
class Content:
    kind: str = "unsupported"
    text: str = ""
    payload: Optional[str] = None
    media: Optional[MediaRef] = None
    location: Optional[Dict[str, Any]] = None
    contacts: Tuple[Dict[str, Any], ...] = ()
    quoted_message_id: Optional[str] = None
    ignore_reason: Optional[str] = None


_NO_CONTENT = Content(ignore_reason="no_content")


def content_type_of(message: Mapping[str, Any]) -> Optional[str]:
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
        content_type = content_type_of(current)
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
            quoted = message_id_or_none(context.get("stanzaId"))
            if quoted is not None:
                return quoted
    return None


def _text_content(text: str, quoted: Optional[str]) -> Content:
    if not text.strip():
        return _NO_CONTENT
    return Content(kind="text", text=text, quoted_message_id=quoted)


def _reply_content(content_type: str, content: Mapping[str, Any], quoted: Optional[str]) -> Content:
    if content_type == "buttonsResponseMessage":
        text = text_field(content, "selectedDisplayText")
        payload = reply_payload(content, "selectedButtonId")
        kind = "button_reply"
    elif content_type == "templateButtonReplyMessage":
        text = text_field(content, "selectedDisplayText")
        payload = reply_payload(content, "selectedId")
        kind = "button_reply"
    elif content_type == "listResponseMessage":
        selection = mapping_or_empty(content.get("singleSelectReply"))
        text = text_field(content, "title")
        payload = reply_payload(selection, "selectedRowId")
        kind = "list_reply"
    else:
        text = text_field(mapping_or_empty(content.get("body")), "text")
        payload = _native_flow_id(content)
        kind = "button_reply"
    return Content(kind=kind, text=text, payload=payload, quoted_message_id=quoted)


_REPLY_TYPES = frozenset(
    {
        "buttonsResponseMessage",
        "templateButtonReplyMessage",
        "listResponseMessage",
        "interactiveResponseMessage",
    }
)


def content_object(message: Mapping[str, Any]) -> Mapping[str, Any]:
    """The unwrapped content's own object (``{"text": …, "contextInfo": …}``), or {} for
    plain ``conversation`` text and malformed content."""
    inner, content_type = _unwrap(message)
    value = inner.get(content_type) if content_type is not None else None
    return value if isinstance(value, Mapping) else {}


def extract_content(data: Mapping[str, Any], message: Mapping[str, Any]) -> Content:
    inner, content_type = _unwrap(message)
    if content_type is None:
        return _NO_CONTENT
    if content_type in _IGNORED_CONTENT:
        return Content(ignore_reason=_IGNORED_CONTENT[content_type])
    value = inner[content_type]
    if content_type == "conversation":
        if not isinstance(value, str):
            raise PayloadError("a message text field is not a string")
        return _text_content(text_field(inner, "conversation"), _quoted_message_id(data, {}))
    if not isinstance(value, Mapping):
        raise PayloadError("message content is not an object")
    quoted = _quoted_message_id(data, value)
    if content_type == "extendedTextMessage":
        return _text_content(text_field(value, "text"), quoted)
    media_kind = MEDIA_KINDS.get(content_type)
    if media_kind is not None:
        if media_kind == "audio":
            text = speech_to_text(data, inner)
        elif media_kind in CAPTIONED_KINDS:
            text = text_field(value, "caption")
        else:
            text = ""
        return Content(kind=media_kind, text=text, media=media_ref(media_kind, value, data),
                       quoted_message_id=quoted)
    if content_type in ("locationMessage", "liveLocationMessage"):
        text = text_field(value, "comment" if content_type == "locationMessage" else "caption")
        return Content(kind="location", text=text, location=_location(value), quoted_message_id=quoted)
    if content_type in ("contactMessage", "contactsArrayMessage"):
        return Content(kind="contact", contacts=_contacts(content_type, value), quoted_message_id=quoted)
    if content_type in _REPLY_TYPES:
        return _reply_content(content_type, value, quoted)
    return Content(kind="unsupported", quoted_message_id=quoted)
