"""A `messages.upsert` data object turned into what the assistant should do with it.

`InboundMessage` (a contact wrote: answer it), `OwnMessage` (a person typed on the business
phone: key.fromMe) or `Ignored` (groups, status, a reaction, protocol noise, no content);
a data object that violates the schema raises `PayloadError`.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional, Tuple, Union

from whatsapp.identity import identify
from whatsapp.jids import chat_ignore_reason, jid_or_none, required_jid
from whatsapp.media import MediaRef
from whatsapp.message_content import content_object, content_type_of, extract_content
from whatsapp.referral import AdReferral, ad_referral
from whatsapp.scalars import (
    MAX_LABEL_CHARS,
    PayloadError,
    message_timestamp,
    required_message_id,
    short_text,
)

__all__ = ["InboundMessage", "OwnMessage", "Ignored", "parse_upsert"]


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
    # The contact's LID when a key field showed it (the map LID -> phone learns from it).
    lid: Optional[str] = None
    # The click-to-WhatsApp ad that opened the chat, if this message came from one.
    referral: Optional[AdReferral] = None


@dataclass(frozen=True)
class OwnMessage:
    """Typed by a person on the business phone (key.fromMe)."""

    message_id: str
    sender_id: str
    reply_jid: str
    timestamp: Optional[int]
    lid: Optional[str] = None


@dataclass(frozen=True)
class Ignored:
    reason: str


_MESSAGE_TYPE_SYNTAX = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}", re.ASCII)


def _push_name(value: Any) -> Optional[str]:
    name = short_text(value, MAX_LABEL_CHARS)
    if name is None:
        return None
    name = name.strip()
    # Evolution fills a missing own name with the Portuguese "You".
    if not name or name == "Você":
        return None
    return name


def _message_type(value: Any, message: Mapping[str, Any]) -> str:
    if value is None:
        return content_type_of(message) or "unknown"
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
    message_id = required_message_id(key.get("id"))
    chat = required_jid(key.get("remoteJid"), "key.remoteJid")
    # Replies go to the chat as received, without a device suffix ("…:24@s.whatsapp.net").
    reply_jid = f"{chat.user}@{chat.server}"
    from_me = _from_me(key)
    message = data.get("message")
    if not isinstance(message, Mapping):
        raise PayloadError("message is missing or not an object")
    timestamp = message_timestamp(data.get("messageTimestamp"))
    message_type = _message_type(data.get("messageType"), message)
    content = extract_content(data, message)

    chat_reason = chat_ignore_reason(chat)
    if chat_reason is not None:
        return Ignored(chat_reason)
    if content.ignore_reason is not None:
        return Ignored(content.ignore_reason)
    contact = identify(chat, key, jid_or_none(own_jid))
    sender_id = contact.conversation_id
    if from_me:
        return OwnMessage(
            message_id=message_id, sender_id=sender_id, reply_jid=reply_jid, timestamp=timestamp,
            lid=contact.lid,
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
        lid=contact.lid,
        referral=ad_referral(data, content_object(message)),
    )
