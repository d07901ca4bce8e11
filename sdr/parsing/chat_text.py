"""How the readers see a chat message: folded words with WhatsApp shorthand expanded,
letter runs squeezed ("simmm"), located words for the place and name scanners, and
Portuguese title case for the names they return.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Optional

from sdr.parsing.tables import str_map, word_set
from sdr.text import fold

__all__ = [
    "ABBREVIATIONS",
    "CONNECTOR_WORDS",
    "TOKEN_RE",
    "Word",
    "any_of",
    "folded_words",
    "is_question",
    "search",
    "squeeze",
    "squeezed_phrase",
    "squeezed_set",
    "title_pt",
]

_VOCABULARY = "vocabulary.yml"

ABBREVIATIONS: Mapping[str, str] = str_map(_VOCABULARY, "abbreviations")
CONNECTOR_WORDS: frozenset[str] = word_set(_VOCABULARY, "connector_words")

TOKEN_RE = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Word:
    text: str  # as typed (NFC)
    key: str  # folded
    start: int
    end: int


def any_of(*alternatives: str) -> str:
    """One regex alternation; keeps long word lists one item per entry."""
    return "|".join(alternatives)


def folded_words(text: str) -> list[str]:
    """Folded alphanumeric words with chat shorthand expanded; punctuation dropped."""
    return [ABBREVIATIONS.get(w, w) for w in re.findall(r"[a-z0-9]+", fold(text))]


def squeeze(word: str) -> str:
    """Collapse letter runs so "simmm", "naooo" and "oiii" match their dictionary form."""
    return re.sub(r"(.)\1+", r"\1", word)


def squeezed_phrase(text: str) -> str:
    squeezed = (squeeze(w) for w in re.findall(r"[a-z0-9]+", fold(text)))
    return " ".join(ABBREVIATIONS.get(w, w) for w in squeezed)


def squeezed_set(phrases: Iterable[str]) -> frozenset[str]:
    return frozenset(squeezed_phrase(p) for p in phrases)


def search(pattern: str, text: str) -> Optional[re.Match[str]]:
    return re.search(rf"\b(?:{pattern})\b", text)


def is_question(text: str) -> bool:
    return "?" in text


def title_pt(text: str) -> str:
    """Title-case a place or person name, leaving Portuguese connectors lowercase."""
    words = text.split()
    return " ".join(_title_word(w, first=(i == 0)) for i, w in enumerate(words))


def _title_word(word: str, *, first: bool) -> str:
    parts = re.split(r"(['’\-])", word)
    out = []
    for i, part in enumerate(parts):
        if part in ("'", "’", "-") or not part:
            out.append(part)
            continue
        is_elided_d = part.lower() == "d" and i + 1 < len(parts) and parts[i + 1] in ("'", "’")
        if is_elided_d or (fold(part) in CONNECTOR_WORDS and not (first and i == 0)):
            out.append(part.lower())
        else:
            out.append(part[:1].upper() + part[1:].lower())
    return "".join(out)
