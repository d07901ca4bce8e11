"""Numbers as Brazilians type them: digits in local formats ("1.234,56") and spelled-out
Portuguese ("dois mil e quinhentos"). Shared by the bill and timeline readers.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Optional

from sdr.parsing.tables import int_map, word_set

__all__ = [
    "HUNDREDS",
    "TEENS",
    "TENS",
    "THOUSAND_WORDS",
    "UNITS_BELOW_TEN",
    "parse_digits",
    "parse_spelled",
    "spelled_below_thousand",
    "spelled_part",
]

_NUMBERS = "numbers.yml"

UNITS_BELOW_TEN: Mapping[str, int] = int_map(_NUMBERS, "units_below_ten")
TEENS: Mapping[str, int] = int_map(_NUMBERS, "teens")
TENS: Mapping[str, int] = int_map(_NUMBERS, "tens")
HUNDREDS: Mapping[str, int] = int_map(_NUMBERS, "hundreds")
THOUSAND_WORDS: frozenset[str] = word_set(_NUMBERS, "thousand_words")


def parse_digits(raw: str) -> Optional[float]:
    """Brazilian number formats: 1.234,56 / 1.200 / 450,00 / 1,5 (and a stray 1.5)."""
    if len(raw) > 1 and raw[0] == "0" and raw[1].isdigit():
        return None  # codes, not amounts
    if re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d{1,2})?", raw):
        return float(raw.replace(".", "").replace(",", "."))
    if re.fullmatch(r"\d{1,3}(,\d{3})+", raw):
        return float(raw.replace(",", ""))
    if re.fullmatch(r"\d+([.,]\d{1,2})?", raw):
        return float(raw.replace(",", "."))
    return None


def parse_spelled(words: Sequence[str], i: int) -> Optional[tuple[int, int]]:
    """Spelled number at words[i:], e.g. "dois mil e quinhentos" -> (2500, 4)."""
    group = spelled_below_thousand(words, i)
    j = i + group[1] if group else i
    if j < len(words) and words[j] == "mil":
        total = (group[0] if group else 1) * 1000
        j += 1
        tail_start = j + 1 if j < len(words) and words[j] == "e" else j
        tail = spelled_below_thousand(words, tail_start)
        if tail:
            return total + tail[0], tail_start + tail[1] - i
        return total, j - i
    return (group[0], group[1]) if group else None


def spelled_below_thousand(words: Sequence[str], i: int) -> Optional[tuple[int, int]]:
    """(value, words used) for "cento e vinte e cinco" and friends; each part must be smaller."""
    value, used, last_magnitude = 0, 0, 1000
    while i + used < len(words):
        joiner = 1 if used and words[i + used] == "e" else 0
        if used and not joiner:
            break
        part = spelled_part(words[i + used + joiner]) if i + used + joiner < len(words) else None
        if part is None or part[1] >= last_magnitude:
            break
        value += part[0]
        last_magnitude = part[1]
        used += joiner + 1
    return (value, used) if used else None


def spelled_part(word: str) -> Optional[tuple[int, int]]:
    """(value, magnitude) of one number word."""
    for table, magnitude in ((HUNDREDS, 100), (TENS, 10), (TEENS, 10), (UNITS_BELOW_TEN, 1)):
        if word in table:
            return table[word], magnitude
    return None
