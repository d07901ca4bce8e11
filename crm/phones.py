"""Is the phone a person typed into the CRM the lead's WhatsApp number? Pure, no I/O.

WhatsApp gives us ``55`` + area code + number; people type ``(11) 98765-4321``, ``+55 11
98765-4321`` or, for numbers older than Brazil's ninth mobile digit (2012–2016), the eight-digit
form ``(11) 8765-4321`` (WhatsApp itself still shows some old accounts that way). Two numbers
are the same line when their area code and last eight digits agree.
"""
from __future__ import annotations

import re

__all__ = ["same_phone", "search_term"]

BRAZIL = "55"
SUBSCRIBER_DIGITS = 8
_NON_DIGITS = re.compile(r"\D")


def _brazilian_key(digits: str) -> str | None:
    """(area code, last eight digits) of a Brazilian number with or without 55 and the ninth digit."""
    national = digits[len(BRAZIL):] if digits.startswith(BRAZIL) and len(digits) in (12, 13) else digits
    if len(national) == 11 and national[2] == "9":
        national = national[:2] + national[3:]
    return national if len(national) == 10 else None


def same_phone(a: str, b: str) -> bool:
    digits_a, digits_b = _NON_DIGITS.sub("", a), _NON_DIGITS.sub("", b)
    if not digits_a or not digits_b:
        return False
    key_a, key_b = _brazilian_key(digits_a), _brazilian_key(digits_b)
    if key_a is not None and key_b is not None:
        return key_a == key_b
    return digits_a == digits_b


def search_term(phone: str) -> str:
    """What to ask the CRM's full-text search for: the last eight digits, which every way of
    writing the same line contains (the candidates are then checked with ``same_phone``)."""
    digits = _NON_DIGITS.sub("", phone)
    return digits[-SUBSCRIBER_DIGITS:] if len(digits) > SUBSCRIBER_DIGITS else digits
