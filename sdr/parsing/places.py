"""Cities and states (UF) in a message, read with the gazetteer.

The gazetteer is scanned longest-match-first, so "Vitória da Conquista" beats
"Vitória" and "Rio Grande do Sul" beats "Rio Grande". City names that are everyday
words ("natal", "serra") need a place cue, and names shared by two states never get
a guessed state. A place missing from the gazetteer is only accepted as the answer
to "qual sua cidade?".
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from sdr.parsing.chat_text import CONNECTOR_WORDS, TOKEN_RE, Word, is_question, title_pt
from sdr.parsing.gazetteer import City, Entry, load_gazetteer
from sdr.parsing.tables import phrase_tuples, word_set
from sdr.parsing.yes_no import is_greeting, is_unsure, parse_yes_no
from sdr.text import fold

__all__ = [
    "AMBIGUOUS_STATE_WORDS",
    "CITY_STATE_LINK_WORDS",
    "Location",
    "NON_PLACE_WORDS",
    "PLACE_CUE_PAIRS",
    "PLACE_CUE_SINGLE",
    "PLACE_LEADING_PHRASES",
    "PLACE_TEXT_RE",
    "STATE_CUE_WORDS",
    "parse_location",
    "parse_state",
]

_PLACES = "places.yml"

AMBIGUOUS_STATE_WORDS: frozenset[str] = word_set(_PLACES, "ambiguous_state_words")
STATE_CUE_WORDS: frozenset[str] = word_set(_PLACES, "state_cue_words")
CITY_STATE_LINK_WORDS: frozenset[str] = word_set(_PLACES, "city_state_link_words")
PLACE_CUE_SINGLE: frozenset[str] = word_set(_PLACES, "place_cue_single")
PLACE_CUE_PAIRS: frozenset[tuple[str, ...]] = frozenset(phrase_tuples(_PLACES, "place_cue_pairs"))
PLACE_LEADING_PHRASES: Sequence[tuple[str, ...]] = phrase_tuples(_PLACES, "place_leading_phrases")
NON_PLACE_WORDS: frozenset[str] = word_set(_PLACES, "non_place_words")

PLACE_TEXT_RE = re.compile(r"[^\W\d_]+(?:[\s'’\-]+[^\W\d_]+)*")
SEPARATOR_GAP_RE = re.compile(r"[\s,/\-–—(|]*")  # "Campinas - SP", "campinas/sp", "Campinas, SP"
STRICT_SEPARATOR_RE = re.compile(r"\s*[,/\-–—(|]+\s*")


@dataclass(frozen=True)
class Location:
    city: Optional[str] = None  # canonical, accented, e.g. "São José dos Campos"
    state: Optional[str] = None  # UF, e.g. "SP"


@dataclass(frozen=True)
class _Mention:
    first: int
    end: int
    city: Optional[City] = None
    uf: Optional[str] = None  # set only on state mentions


def _place_words(text: str) -> list[Word]:
    text = unicodedata.normalize("NFC", text)
    return [Word(m.group(), fold(m.group()), m.start(), m.end()) for m in TOKEN_RE.finditer(text)]


def parse_location(text: str, *, requested: bool) -> Location:
    """City and/or UF. Known cities are found anywhere; unknown ones only in an answer to the question."""
    text = unicodedata.normalize("NFC", text)
    words = _place_words(text)
    mentions = _scan_places(text, words, requested=requested, states_only=False)
    cities = [(m, m.city) for m in mentions if m.city]  # the City beside its mention: typed as present
    states = [m for m in mentions if m.uf]
    if cities:
        city, known = cities[0]
        explicit = next((m.uf for m in states if _binds_to(words, city, m)), None)
        only_uf = known.ufs[0] if len(known.ufs) == 1 else None
        return Location(known.name, explicit or only_uf)
    if requested:
        guessed = _unknown_place(text, words)
        if guessed is not None:
            return guessed
    return Location(None, states[0].uf) if states else Location()


def _binds_to(words: Sequence[Word], city: _Mention, state: _Mention) -> bool:
    """ "Campinas - SP", "campinas no estado de sp"; not "sou de sp mas moro em bh"."""
    between = [w.key for w in words[city.end:state.first]]
    return state.first >= city.end and len(between) <= 3 and set(between) <= CITY_STATE_LINK_WORDS


def parse_state(text: str) -> Optional[str]:
    """UF named in the text ("MG", "minas", "Minas Gerais", "sao paulo"); cities alone do not count."""
    text = unicodedata.normalize("NFC", text)
    mentions = _scan_places(text, _place_words(text), requested=False, states_only=True)
    return next((m.uf for m in mentions if m.uf), None)


def _scan_places(text: str, words: Sequence[Word], *, requested: bool, states_only: bool) -> list[_Mention]:
    """Longest-match scan over the gazetteer, left to right, without overlaps."""
    gaz = load_gazetteer()
    mentions: list[_Mention] = []
    i = 0
    while i < len(words):
        mention, skip_to = None, i + 1
        for n in range(min(gaz.max_words, len(words) - i), 0, -1):
            entry = gaz.entries.get(tuple(w.key for w in words[i:i + n]))
            if entry is None:
                continue
            if entry.city and not states_only and _continues_as_longer_name(text, words, i + n):
                skip_to = i + n + 2  # "sao jose do rio pardo": neither "São José" nor "Rio"
                break
            mention = _read_entry(text, words, i, n, entry, mentions, requested, states_only)
            if mention is not None:
                break
        if mention is None:
            i = skip_to
            continue
        mentions.append(mention)
        i = mention.end
    return mentions


def _read_entry(
    text: str,
    words: Sequence[Word],
    i: int,
    n: int,
    entry: Entry,
    previous: Sequence[_Mention],
    requested: bool,
    states_only: bool,
) -> Optional[_Mention]:
    """Decide whether words[i:i+n] really is this city or state here."""
    after_city = bool(previous) and previous[-1].city is not None and previous[-1].end == i
    state_ok = entry.uf is not None and _state_reading_ok(text, words, i, n, after_city)
    # "Campinas, Sao Paulo" / "estado de sao paulo": the state; "moro em sao paulo": the city.
    both = entry.city is not None and not states_only
    if both and state_ok and (after_city or _has_state_cue(words, i)):
        return _Mention(i, i + n, uf=entry.uf)
    if entry.city and not states_only and _city_reading_ok(text, words, i, n, entry.city, requested):
        return _Mention(i, i + n, city=entry.city)
    if state_ok:
        return _Mention(i, i + n, uf=entry.uf)
    return None


def _city_reading_ok(text: str, words: Sequence[Word], i: int, n: int, city: City, requested: bool) -> bool:
    end = i + n
    if not city.weak or requested:
        return True
    return _has_place_cue(words, i) or _state_at(text, words, end, after_city=True) is not None


def _continues_as_longer_name(text: str, words: Sequence[Word], end: int) -> bool:
    if end + 1 >= len(words) or words[end].key not in CONNECTOR_WORDS - {"e"}:
        return False
    if text[words[end - 1].end:words[end].start].strip():
        return False  # punctuation in between: "Campinas, de onde..."
    return _state_at(text, words, end + 1, after_city=False) is None


def _has_place_cue(words: Sequence[Word], i: int) -> bool:
    if i >= 1 and words[i - 1].key in PLACE_CUE_SINGLE:
        return True
    return i >= 2 and (words[i - 2].key, words[i - 1].key) in PLACE_CUE_PAIRS


def _has_state_cue(words: Sequence[Word], i: int) -> bool:
    if i >= 1 and words[i - 1].key in STATE_CUE_WORDS:
        return True
    return i >= 2 and words[i - 1].key in ("de", "do", "da") and words[i - 2].key in STATE_CUE_WORDS


def _state_reading_ok(text: str, words: Sequence[Word], i: int, n: int, after_city: bool) -> bool:
    """UF codes like "to"/"se"/"rs" and "para" need evidence they are states."""
    if n > 1 or words[i].key not in AMBIGUOUS_STATE_WORDS:
        return True
    word = words[i]
    if len(words) == 1 or _has_state_cue(words, i):
        return True
    if word.key == "para":
        if word.text.lower() != word.key:  # typed with the accent: "Pará"
            return True
    elif word.text.isupper() and any(c.islower() for c in text):
        return True
    if after_city:
        gap = text[words[i - 1].end:word.start]
        is_last = i == len(words) - 1
        return bool(STRICT_SEPARATOR_RE.fullmatch(gap)) or is_last
    return False


def _state_at(text: str, words: Sequence[Word], j: int, *, after_city: bool) -> Optional[tuple[str, int]]:
    """(UF, words used) if a state is named at words[j:]."""
    gaz = load_gazetteer()
    for n in range(min(gaz.max_words, len(words) - j), 0, -1):
        entry = gaz.entries.get(tuple(w.key for w in words[j:j + n]))
        if entry and entry.uf and _state_reading_ok(text, words, j, n, after_city):
            return entry.uf, n
    return None


def _unknown_place(text: str, words: Sequence[Word]) -> Optional[Location]:
    """An answer to "qual sua cidade?" that is not in the gazetteer: "Xique-Xique - BA"."""
    if not words or is_question(text) or parse_yes_no(text) is not None:
        return None
    if is_greeting(text) or is_unsure(text):
        return None
    first = _skip_leading(words, PLACE_LEADING_PHRASES)
    end, uf = _trailing_state(text, words, first)
    core = words[first:end]
    if not core:
        return Location(None, uf) if uf else None
    if len(core) > 5 or any(w.key in NON_PLACE_WORDS for w in core):
        return None
    core_text = text[core[0].start:core[-1].end]
    if not PLACE_TEXT_RE.fullmatch(core_text):
        return None
    return Location(title_pt(" ".join(core_text.split())), uf)


def _skip_leading(words: Sequence[Word], phrases: Sequence[tuple[str, ...]]) -> int:
    keys = tuple(w.key for w in words)
    for phrase in sorted(phrases, key=len, reverse=True):
        if keys[:len(phrase)] == phrase and len(keys) > len(phrase):
            return len(phrase)
    return 0


def _trailing_state(text: str, words: Sequence[Word], first: int) -> tuple[int, Optional[str]]:
    """Strip "/SP", "- MG", ", Minas Gerais" or a trailing "ba" off an answer."""
    gaz = load_gazetteer()
    for start in range(max(first, len(words) - gaz.max_words), len(words)):
        entry = gaz.entries.get(tuple(w.key for w in words[start:]))
        if entry is None or entry.uf is None:
            continue
        if start == first:
            return start, entry.uf  # the whole answer is a state
        if words[start - 1].key in CONNECTOR_WORDS:
            continue  # "Bom Jesus do Tocantins" is a city, not "Bom Jesus do" + TO
        gap = text[words[start - 1].end:words[start].start]
        if SEPARATOR_GAP_RE.fullmatch(gap):
            return start, entry.uf
    return len(words), None
