"""Evolution API v2 webhook bodies turned into normalised, typed values: the public façade.

Pure: bytes or decoded JSON in, dataclasses out; no network, no Rasa, no Sanic.
The wire format is the one described in docs/evolution-api-v2.md (Evolution
2.3.6 on Baileys 7.0.0-rc.6).

Two kinds of input are told apart on purpose:
- a body that violates the webhook schema (not a JSON object, bad key, bad JID,
  oversized text...) raises `PayloadError`, which the channel answers with 400;
  Evolution does not retry a 400, so a broken body cannot loop;
- a well-formed message the assistant should not read (group, status,
  reaction, protocol noise...) is returned as `Ignored`, answered with 200.

The work is done by one module per job; import from here:
- `whatsapp.scalars`: limits, `PayloadError`, readers of scalar fields;
- `whatsapp.strict_json`: the raw body → JSON, strictly;
- `whatsapp.events`: event names and the envelope of one POST;
- `whatsapp.jids`: JID syntax, phone vs LID, the contact a chat names;
- `whatsapp.messages`: `messages.upsert` → InboundMessage / OwnMessage / Ignored;
- `whatsapp.message_content`: unwrapping and reading one message's content;
- `whatsapp.media`: `MediaRef` and the base64 Evolution inlines;
- `whatsapp.updates`: receipts (`messages.update`) and `connection.update`.
"""
from __future__ import annotations

from whatsapp.events import Envelope, normalize_event_name, parse_webhook_body
from whatsapp.media import MediaRef, inline_base64
from whatsapp.messages import Ignored, InboundMessage, OwnMessage, parse_upsert
from whatsapp.scalars import MAX_ID_LENGTH, MAX_TEXT_CHARS, PayloadError
from whatsapp.strict_json import MAX_JSON_DEPTH, decode_json
from whatsapp.updates import ConnectionUpdate, ReceiptUpdate, parse_connection_update, parse_receipt

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
