"""Personal data made safe for logs, metrics labels and screens: one phone masker for the
whole project.

A phone or WhatsApp JID keeps its country and area code (support needs them) and its last two
digits; everything between is hidden. Whatever does not look like a phone or a JID is hidden
entirely, so a name or a free-text value passed by mistake never leaks.
"""
from __future__ import annotations

import re

__all__ = ["log_safe_id", "mask_phone", "mask_phones_in"]

MASK_CHAR = "*"
KEEP_HEAD = 4  # country code + area code: "5511"
KEEP_TAIL = 2
MIN_MASKABLE_DIGITS = 8  # shorter numbers are not phones: hidden entirely
MAX_MASK_CHARS = 32  # a mask never reveals how long an odd value was beyond this

_SERVER = re.compile(r"[a-z][a-z0-9.]{0,31}", re.ASCII)
# How people write a phone: "+55 (11) 98765-4321".
_PHONE_PUNCTUATION = re.compile(r"[\s+()\-.]")
_PHONE_LIKE_RUN = re.compile(r"\d{7,}")


def _mask_user(user: str) -> str:
    digits = _PHONE_PUNCTUATION.sub("", user)
    if MIN_MASKABLE_DIGITS <= len(digits) <= MAX_MASK_CHARS and digits.isascii() and digits.isdigit():
        return digits[:KEEP_HEAD] + MASK_CHAR * (len(digits) - KEEP_HEAD - KEEP_TAIL) + digits[-KEEP_TAIL:]
    return MASK_CHAR * min(len(user), MAX_MASK_CHARS)


def mask_phone(value: object) -> str:
    """A phone number or JID made safe for logs: "5511*******21@s.whatsapp.net".

    The device suffix of a JID ("…:12@s.whatsapp.net") is dropped; a value that is not a
    string, or a JID with an odd server part, is masked entirely.
    """
    if not isinstance(value, str):
        return MASK_CHAR * 3
    user, separator, server = value.partition("@")
    if not separator:
        return _mask_user(value)
    if not _SERVER.fullmatch(server):
        return MASK_CHAR * min(len(value), MAX_MASK_CHARS)
    return _mask_user(user.split(":", 1)[0]) + "@" + server


def mask_phones_in(text: str) -> str:
    """Free text (an error message from a peer) with every run of 7+ digits masked."""
    return _PHONE_LIKE_RUN.sub(lambda match: mask_phone(match.group(0)), text)


# Groups of hex digits short enough that none reads as a phone number (a 12-digit run starting
# with 55 is a Brazilian phone to any log scanner, ours and an auditor's).
SAFE_ID_GROUP = 8


def log_safe_id(hex_digits: str) -> str:
    """A random or hashed hex id in groups of 8: ``3f0c9a1e-…``."""
    return "-".join(hex_digits[i:i + SAFE_ID_GROUP] for i in range(0, len(hex_digits), SAFE_ID_GROUP))

