"""Strict decoding of a webhook's raw bytes into JSON values.

UTF-8 only, bounded nesting, finite and bounded numbers, unique keys, no unpaired
surrogates: anything else raises `PayloadError` before a parser or a later encoder
can be hurt by it.
"""
from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any, Dict, List, Tuple

from whatsapp.scalars import PayloadError

__all__ = ["MAX_JSON_DEPTH", "decode_json"]

MAX_JSON_DEPTH = 64
# JavaScript's JSON.stringify writes at most 21 digits before switching to
# exponent notation, so anything longer was not produced by Evolution.
_MAX_NUMBER_CHARS = 40

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
