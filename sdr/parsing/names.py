"""The customer's name: after a cue ("meu nome é", "me chamo", "aqui é a"), or a bare
answer ("Carlos") when the bot has just asked for it.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Optional

from sdr.parsing.chat_text import (
    ABBREVIATIONS,
    CONNECTOR_WORDS,
    Word,
    is_question,
    squeeze,
    title_pt,
)
from sdr.parsing.places import NON_PLACE_WORDS, PLACE_TEXT_RE
from sdr.parsing.tables import phrase_tuples, word_set
from sdr.parsing.yes_no import is_greeting, parse_yes_no
from sdr.text import fold

__all__ = [
    "BARE_NAME_MAX_WORDS",
    "CLAUSE_START_NAME_CUES",
    "GREETING_WORDS",
    "NAME_CUES",
    "NAME_MAX_WORDS",
    "NAME_STOP_WORDS",
    "NAME_TOKEN_RE",
    "NON_NAME_WORDS",
    "parse_name",
]

_NAMES = "names.yml"

NAME_CUES: Sequence[tuple[str, ...]] = phrase_tuples(_NAMES, "name_cues")
CLAUSE_START_NAME_CUES: Sequence[tuple[str, ...]] = phrase_tuples(_NAMES, "clause_start_name_cues")
GREETING_WORDS: frozenset[str] = word_set(_NAMES, "greeting_words")
NAME_MAX_WORDS = 4
BARE_NAME_MAX_WORDS = 3
NAME_STOP_WORDS: frozenset[str] = word_set(_NAMES, "name_stop_words")
NON_NAME_WORDS: frozenset[str] = NON_PLACE_WORDS | word_set(_NAMES, "non_name_words")

NAME_TOKEN_RE = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")

_NAME_ENDERS = (NAME_STOP_WORDS | NON_NAME_WORDS) - CONNECTOR_WORDS


def parse_name(text: str, *, requested: bool) -> Optional[str]:
    """Person's name after a cue ("meu nome é", "me chamo", "aqui é a"), or a bare answer when asked."""
    text = unicodedata.normalize("NFC", text)
    words = [Word(m.group(), fold(m.group()), m.start(), m.end()) for m in NAME_TOKEN_RE.finditer(text)]
    from_cue = _name_after_cue(text, words)
    if from_cue:
        return from_cue
    return _bare_name(text, words) if requested else None


def _name_after_cue(text: str, words: Sequence[Word]) -> Optional[str]:
    keys = [ABBREVIATIONS.get(w.key, w.key) for w in words]
    cues = [(cue, False) for cue in NAME_CUES] + [(cue, True) for cue in CLAUSE_START_NAME_CUES]
    for cue, needs_clause_start in sorted(cues, key=lambda c: len(c[0]), reverse=True):
        for i in range(len(keys) - len(cue) + 1):
            if tuple(keys[i:i + len(cue)]) != cue or i + len(cue) >= len(words):
                continue
            if needs_clause_start and not _at_clause_start(text, words, i):
                continue
            name = _name_from(text, words, i + len(cue))
            if name:
                return name
    return None


def _at_clause_start(text: str, words: Sequence[Word], i: int) -> bool:
    """Only greetings (or nothing) since the last punctuation mark before words[i]."""
    for word in reversed(words[:i]):
        if re.search(r"[^\w\s]", text[word.end:words[i].start]):
            return True
        if word.key not in GREETING_WORDS:
            return False
    return True


def _name_from(text: str, words: Sequence[Word], i: int) -> Optional[str]:
    if words[i].key in NON_NAME_WORDS or words[i].key in CONNECTOR_WORDS:
        return None
    picked = [words[i]]
    for word in words[i + 1:]:
        gap = text[picked[-1].end:word.start]
        if gap.strip() or word.key in _NAME_ENDERS:
            break
        if len([w for w in picked if w.key not in CONNECTOR_WORDS]) >= NAME_MAX_WORDS:
            break
        picked.append(word)
    while picked and picked[-1].key in CONNECTOR_WORDS:
        picked.pop()  # "joao da" -> "joao"
    return title_pt(" ".join(w.text for w in picked)) if picked else None


def _bare_name(text: str, words: Sequence[Word]) -> Optional[str]:
    if not words or is_question(text) or parse_yes_no(text) is not None:
        return None
    if is_greeting(text):
        return None
    core = text[words[0].start:words[-1].end]
    trailing = text[words[-1].end:]
    leading = text[:words[0].start]
    if re.search(r"[^\W_]", leading + trailing) or not PLACE_TEXT_RE.fullmatch(core):
        return None  # digits or other words around: not just a name
    named = [w for w in words if w.key not in CONNECTOR_WORDS]
    if not 1 <= len(named) <= BARE_NAME_MAX_WORDS or words[0].key in CONNECTOR_WORDS:
        return None
    if any(squeeze(w.key) in NON_NAME_WORDS or w.key in NON_NAME_WORDS for w in named):
        return None
    if any(re.fullmatch(r"(k|ha|rs|he|hu)+", w.key) for w in words):
        return None  # laughter
    return title_pt(" ".join(core.split()))
