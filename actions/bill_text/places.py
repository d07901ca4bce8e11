"""The customer's city and state (UF): a labelled "Cidade:"/"UF:", else the likeliest
"City - UF" of the page.

The distribuidora prints its own head-office address too, so places are scored: the
block under the holder's name wins over an address next to a CNPJ or the company's name.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import yaml

from actions.bill_text.lines import Line
from actions.bill_text.patterns import ADDRESS_START, CITY_LABEL, DIGIT, STATE_LABEL
from actions.bill_text.utilities import find_utility
from sdr import vocabulary
from sdr.parsing import GAZETTEER_PATH, parse_location
from sdr.text import fold, fold_same_length

__all__ = ["find_place"]

HOLDER_ADDRESS_WINDOW = 8  # lines after the holder's name where their address may be
CITY_MAX_WORDS = 4  # an unknown "city" longer than this is a street or a sentence
# Place scores: the block under the holder's name wins over the company's address.
COMPANY_ADDRESS_PENALTY = -2.0
HOLDER_NEARBY_BONUS = 2.0
CEP_BONUS = 0.5
MIN_PLACE_SCORE = -1.0
CITY_FUZZY_CUTOFF = 0.8  # difflib ratio: "Via Velha" -> "Vila Velha", "Onta Grossa" -> "Ponta Grossa"
CITY_FUZZY_MIN_CHARS = 5  # shorter words are too easily "close" to some city

UFS: frozenset[str] = frozenset(vocabulary.UFS)

# The distribuidora's own address block (customer blocks say "CPF/CNPJ" too, so the
# number's shape, not the word, marks a company).
COMPANY_CUES = re.compile(
    r"\d{2}\.?\d{3}\.?\d{3}\s?/\s?\d{4}|s\s*[./]\s*a\b|ltda|inscricao\s*estadual|distribuidora"
    r"|distribuicao|companhia|eletricidade|ouvidoria|0800|www|\.com"
)
CEP = re.compile(rf"(?<![0-9])({DIGIT}{{2}}\.?{DIGIT}{{3}})\s?-\s?({DIGIT}{{3}})(?![0-9])")

# "Campinas - SP", "Campinas/SP", "Campinas, SP", "CAMPINAS SP"; OCR often reads the
# slash as "l", "I" or "|" ("CamaçarilBA").
# A UF as OCR prints it: "R]" or "Rj" for RJ, "R5" for RS, "M6" for MG (see _uf_from_ocr).
_UF_TOKEN = r"[A-Z0-9][A-Za-z0-9\]]"
_UF_OCR_FIXES = str.maketrans({"]": "J", "5": "S", "6": "G", "0": "O", "1": "I", "8": "B", "2": "Z"})
_UF_AFTER_CITY = re.compile(
    rf"(?P<sep>\s*[-–/,|]\s*|(?<=[a-zà-ÿ])[lI1](?={_UF_TOKEN}(?![A-Za-z0-9]))|\s+)"
    rf"(?P<uf>{_UF_TOKEN})(?![A-Za-z0-9\]])"
)


def _uf_from_ocr(token: str) -> Optional[str]:
    uf = token.upper().translate(_UF_OCR_FIXES)
    return uf if uf in UFS else None


@dataclass(frozen=True)
class _Place:
    line: int
    city: Optional[str]
    state: str
    score: float


@lru_cache(maxsize=1)
def _gazetteer_cities() -> Mapping[str, tuple[tuple[str, str], ...]]:
    """UF -> ((folded name, official name), ...) from the project's gazetteer."""
    raw = yaml.safe_load(GAZETTEER_PATH.read_text(encoding="utf-8"))
    by_uf: dict[str, list[tuple[str, str]]] = {}
    for name, ufs in raw["cities"].items():
        for uf in (ufs,) if isinstance(ufs, str) else ufs:
            by_uf.setdefault(uf, []).append((fold(name), name))
    return {uf: tuple(names) for uf, names in by_uf.items()}


def _known_city(piece: str, uf: Optional[str]) -> Optional[tuple[str, Optional[str]]]:
    """(official name, UF) of the gazetteer city `piece` ends with, tolerating OCR typos.

    The piece may carry a district before the city ("Centro Belo Horizonte"), so
    its last words are tried, longest first. Without a UF only an exact name of a
    single state counts: a typo-tolerant match across 27 states would be a guess.
    """
    words = fold(piece).split()
    gazetteer = _gazetteer_cities()
    pool = gazetteer.get(uf, ()) if uf else tuple(pair for names in gazetteer.values() for pair in names)
    names = {folded: name for folded, name in pool}
    for k in range(min(len(words), CITY_MAX_WORDS + 1), 0, -1):
        tail = " ".join(words[-k:])
        if tail in names:
            found = names[tail]
        elif uf and len(tail) >= CITY_FUZZY_MIN_CHARS:
            close = difflib.get_close_matches(tail, names, n=1, cutoff=CITY_FUZZY_CUTOFF)
            if not close:
                continue
            found = names[close[0]]
        else:
            continue
        if uf:
            return found, uf
        states = [state for state, pairs in gazetteer.items() if any(name == found for _, name in pairs)]
        return found, states[0] if len(states) == 1 else None
    return None


def _places(lines: Sequence[Line], holder_line: Optional[int]) -> list[_Place]:
    found = []
    for i, line in enumerate(lines):
        for city, uf in _places_in_line(line):
            found.append(_Place(i, city, uf, _place_score(lines, i, holder_line)))
    return found


def _places_in_line(line: Line) -> list[tuple[Optional[str], str]]:
    """(city, UF) pairs written "Campinas - SP", "CAMPINAS/SP", "30130-000 BELO HORIZONTE MG"."""
    out: list[tuple[Optional[str], str]] = []
    for m in _UF_AFTER_CITY.finditer(line.raw):
        before = line.raw[:m.start()]
        piece = re.split(r"\s[-–]\s|[,;:/()|]|\d+|\s{3,}|\bCEP\b|\bcep\b", before)[-1].strip(" -.")
        if not piece or not re.fullmatch(r"[^\W\d_]+(?:[\s'’.\-]+[^\W\d_]+)*", piece):
            continue
        uf = _uf_from_ocr(m.group("uf"))
        if uf is None:
            continue
        if not m.group("sep").strip():
            # "BELO HORIZONTE MG": without a separator only a city the gazetteer knows
            # counts, or any word before "SE"/"TO"/"PA" would be a place.
            known = _known_city(piece, uf)
            if known:
                out.append((known[0], uf))
            continue
        out.append((_city_name(piece, uf)[0], uf))
    return out


def _city_name(piece: str, uf: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    """(city, UF): a gazetteer city, else (with a UF) the piece itself if it reads as a place."""
    known = _known_city(piece, uf)
    if known:
        return known
    if uf is None or len(piece.split()) > CITY_MAX_WORDS or ADDRESS_START.match(fold_same_length(piece)):
        return None, uf
    guessed = parse_location(f"{piece} - {uf}", requested=True)
    return (guessed.city, uf) if guessed.state in (uf, None) else (None, uf)


def _place_score(lines: Sequence[Line], i: int, holder_line: Optional[int]) -> float:
    score = 0.0
    near = " ".join(line.key for line in lines[max(0, i - 1):i + 1])
    if COMPANY_CUES.search(near) or find_utility(near, None):
        score += COMPANY_ADDRESS_PENALTY
    if CEP.search(lines[i].key) or (i + 1 < len(lines) and CEP.search(lines[i + 1].key)):
        score += CEP_BONUS
    if holder_line is not None and 0 <= i - holder_line <= HOLDER_ADDRESS_WINDOW:
        score += HOLDER_NEARBY_BONUS * (1 - (i - holder_line) / (2 * HOLDER_ADDRESS_WINDOW))
    return score


def _labelled_place(lines: Sequence[Line]) -> tuple[Optional[str], Optional[str]]:
    """ "Cidade: Campinas", "Município/UF: Campinas/SP", "UF: SP"."""
    piece = piece_uf = state = None
    for line in lines:
        for label in CITY_LABEL.finditer(line.key):
            rest = line.raw[label.end():].strip()
            text = re.split(r"\s{2,}|\bUF\b|\bCEP\b|\d", rest)[0].strip(" -,")
            m = re.fullmatch(rf"(.+?)\s*[/\-–,|]\s*({_UF_TOKEN})", text)
            if m and _uf_from_ocr(m.group(2)):
                text, uf = m.group(1), _uf_from_ocr(m.group(2))
            else:
                uf = None
            if text and piece is None:
                piece, piece_uf = text, uf
        for label in STATE_LABEL.finditer(line.key):
            m = re.match(rf"\s*({_UF_TOKEN})(?![A-Za-z0-9\]])", line.raw[label.end():])
            if m and _uf_from_ocr(m.group(1)):
                state = state or _uf_from_ocr(m.group(1))
    if piece is None:
        return None, state
    # The UF printed with the city, else the labelled one, else the gazetteer's.
    city, city_uf = _city_name(piece, piece_uf or state)
    return city, piece_uf or state or city_uf


def find_place(lines: Sequence[Line], holder_line: Optional[int]) -> tuple[Optional[str], Optional[str]]:
    """(city, UF) of the customer; `holder_line` is the line of the holder's name, if read."""
    city, state = _labelled_place(lines)
    if city and state:
        return city, state
    places = _places(lines, holder_line)
    if places:
        best = max(places, key=lambda p: (p.score, p.city is not None, -p.line))
        if best.score > MIN_PLACE_SCORE:  # else only the distribuidora's address was read
            return city or best.city, state or best.state
    return city, state
