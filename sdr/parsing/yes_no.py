"""Short stock answers: a yes, a no, a "not sure" that commits to nothing, a bare greeting.

Other readers lean on these: ownership and decision maker fall back to a plain yes/no
when that was the question, and a bare yes, no or greeting is never read as a name
or a place (nor, for places, a "not sure").
"""
from __future__ import annotations

import re
from typing import Optional

from sdr.parsing.chat_text import squeezed_phrase, squeezed_set
from sdr.parsing.tables import word_list, word_set
from sdr.text import fold

__all__ = [
    "GREETINGS",
    "NO_EMOJIS",
    "NO_PHRASES",
    "UNSURE_PHRASES",
    "YES_EMOJIS",
    "YES_PHRASES",
    "is_greeting",
    "is_unsure",
    "parse_yes_no",
]

_VOCABULARY = "vocabulary.yml"

GREETINGS: frozenset[str] = word_set(_VOCABULARY, "greetings")
YES_PHRASES: frozenset[str] = word_set(_VOCABULARY, "yes_phrases")
NO_PHRASES: frozenset[str] = word_set(_VOCABULARY, "no_phrases")
# Answers that sound like yes/no but commit to nothing.
UNSURE_PHRASES: frozenset[str] = word_set(_VOCABULARY, "unsure_phrases")
YES_EMOJIS: tuple[str, ...] = word_list(_VOCABULARY, "yes_emojis")
NO_EMOJIS: tuple[str, ...] = word_list(_VOCABULARY, "no_emojis")

_YES = squeezed_set(YES_PHRASES)
_NO = squeezed_set(NO_PHRASES)
_UNSURE = squeezed_set(UNSURE_PHRASES)
_GREETINGS = squeezed_set(GREETINGS)


def parse_yes_no(text: str) -> Optional[bool]:
    """True / False when the message is essentially a yes or a no, else None."""
    for emoji in YES_EMOJIS:
        text = text.replace(emoji, " sim ")
    for emoji in NO_EMOJIS:
        text = text.replace(emoji, " nao ")
    whole = squeezed_phrase(text)
    first_clause = squeezed_phrase(re.split(r"[,.!?;:\n]|\bmas\b", fold(text), maxsplit=1)[0])
    for phrase in (whole, first_clause):
        if phrase in _UNSURE:
            return None
        if phrase in _YES:
            return True
        if phrase in _NO:
            return False
    return _leading_yes_no(first_clause)


def _leading_yes_no(clause: str) -> Optional[bool]:
    """A clause opening with a plain "sim"/"nao" ("sim tenho", "nao pretendo")."""
    words = clause.split()
    if not words or len(words) > 4:
        return None
    if words[0] == "sim":
        return True
    if words[0] == "nao" and len(words) > 1 and " ".join(words[:3]) not in _UNSURE \
            and " ".join(words[:2]) not in _UNSURE:
        return False
    return None


def is_greeting(text: str) -> bool:
    """The whole message is a greeting or a pleasantry ("oiii", "boa tarde", "valeu")."""
    return squeezed_phrase(text) in _GREETINGS


def is_unsure(text: str) -> bool:
    """The whole message is a non-committal answer ("sei la", "talvez")."""
    return squeezed_phrase(text) in _UNSURE
