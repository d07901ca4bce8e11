"""Scalar fields of an Evolution webhook body read against the schema.

The size limits every module of the parser shares, `PayloadError` (a body that violates the
schema, answered with 400) and one reader per field shape: message ids, protobuf Longs,
timestamps, sizes, labels, message text and reply ids. A reader either returns the value,
returns None for an optional field it cannot use, or raises `PayloadError`.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping  # not typing's: its isinstance() is slow, and every field is checked
from typing import Any, Optional

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_TEXT_CHARS",
    "MAX_PAYLOAD_CHARS",
    "MAX_LABEL_CHARS",
    "PayloadError",
    "has_control_chars",
    "required_message_id",
    "message_id_or_none",
    "is_number",
    "message_timestamp",
    "byte_count",
    "small_count",
    "short_text",
    "text_field",
    "reply_payload",
    "mapping_or_empty",
]

MAX_ID_LENGTH = 128
MAX_TEXT_CHARS = 65_536
MAX_PAYLOAD_CHARS = 1_024
MAX_LABEL_CHARS = 256
# 9999-12-31T23:59:59Z: generous, yet rejects millisecond timestamps.
_MAX_EPOCH_SECONDS = 253_402_300_799
_MAX_SAFE_INTEGER = 2**53 - 1


class PayloadError(ValueError):
    """Body violates the webhook schema → the channel answers 400.

    str(error) is a short reason that is safe to log: it never echoes values,
    phone numbers or text from the body.
    """


# Unicode's "Cc" category, all of it (a unit test compares it with unicodedata).
_CONTROL_CHAR = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def has_control_chars(value: str) -> bool:
    return _CONTROL_CHAR.search(value) is not None


_MESSAGE_ID_SYNTAX = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*", re.ASCII)


def required_message_id(value: Any) -> str:
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


def message_id_or_none(value: Any) -> Optional[str]:
    if isinstance(value, str) and len(value) <= MAX_ID_LENGTH and _MESSAGE_ID_SYNTAX.fullmatch(value):
        return value
    return None


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _long_value(value: Mapping[str, Any]) -> Optional[int]:
    # protobufjs Long: two signed 32-bit halves, `unsigned` telling how to read `high`.
    low, high = value.get("low"), value.get("high")
    # Spelled out (not all(...)) so that mypy narrows both halves to int.
    if not (
        isinstance(low, int) and not isinstance(low, bool) and isinstance(high, int) and not isinstance(high, bool)
    ):
        return None
    if not (-(2**31) <= low < 2**32 and -(2**31) <= high < 2**32):
        return None
    low &= 0xFFFFFFFF
    if value.get("unsigned") is True:
        high &= 0xFFFFFFFF
    elif high >= 2**31:
        high -= 2**32
    return high * 2**32 + low


def message_timestamp(value: Any) -> Optional[int]:
    if value is None:
        return None
    seconds: Optional[int] = None
    if isinstance(value, Mapping):
        seconds = _long_value(value)
    elif is_number(value):
        seconds = int(value)
    if seconds is None:
        raise PayloadError("messageTimestamp is not a number")
    if not 0 <= seconds <= _MAX_EPOCH_SECONDS:
        raise PayloadError("messageTimestamp is out of range")
    return seconds


def byte_count(value: Any) -> Optional[int]:
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


def small_count(value: Any) -> Optional[int]:
    if is_number(value) and math.isfinite(value) and 0 <= value <= 10**7:
        return int(value)
    return None


def short_text(value: Any, limit: int) -> Optional[str]:
    if isinstance(value, str) and value and len(value) <= limit and not has_control_chars(value):
        return value
    return None


def text_field(container: Mapping[str, Any], field: str) -> str:
    value = container.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadError("a message text field is not a string")
    if len(value) > MAX_TEXT_CHARS:
        raise PayloadError("message text exceeds the size limit")
    return value


def reply_payload(container: Mapping[str, Any], field: str) -> Optional[str]:
    value = container.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PayloadError("a reply id is not a string")
    if len(value) > MAX_PAYLOAD_CHARS or "\x00" in value:
        raise PayloadError("a reply id is not valid")
    return value


def mapping_or_empty(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
