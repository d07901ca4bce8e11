"""Value finders: every amount, date, month, count, class or connection type in a line.

Each returns (start, end, value) per occurrence, positions in the line, so a reader
can keep only the values after a label or in its column (see `lines.value_for_label`).
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Optional

from actions.bill_text.lines import Found, Line
from actions.bill_text.patterns import DIGIT, LETTER_FIXES, fuzzy, has_real_digit, ocr_digits
from actions.bill_text.tables import int_map, str_map
from sdr import vocabulary

__all__ = [
    "CONNECTION_TYPES",
    "CUSTOMER_CLASSES",
    "MONTHS",
    "SUBGROUP_CLASSES",
    "find_classes",
    "find_connections",
    "find_counts",
    "find_dates",
    "find_kwh_with_unit",
    "find_money",
    "find_months",
]

_WORDS = "words.yml"

# Larger "totals" are account or barcode numbers.
MAX_TOTAL_BRL = vocabulary.MAX_MONTHLY_BILL_BRL
OLDEST_YEAR, NEWEST_YEAR = 2000, 2099
TWO_DIGIT_YEAR_BASE = 2000

MONTHS: Mapping[str, int] = int_map(_WORDS, "months")
# Folded class wording on bills -> the value reported (the first four match the
# `property_type` slot).
CUSTOMER_CLASSES: Sequence[tuple[str, str]] = tuple(str_map(_WORDS, "customer_classes").items())
# ANEEL's low-voltage subgroups, printed next to (or instead of) the class name.
SUBGROUP_CLASSES: Mapping[str, str] = str_map(_WORDS, "subgroup_classes")
CONNECTION_TYPES: Mapping[str, str] = str_map(_WORDS, "connection_types")

MONEY_RE = re.compile(
    # "S" may precede: "RS245,90" is "R$ 245,90" read by OCR. Thousands only with ".":
    # "350 245,90" in a row of line items is two numbers.
    rf"(?<![0-9A-RT-Za-rt-z.,/])({DIGIT}{{1,3}}(?:\.{DIGIT}{{3}})+|{DIGIT}{{1,7}})\s?[,.]\s?({DIGIT}{{2}})"
    rf"(?![0-9,./]|\s?%|\s?[kK]\s?[wW])",
)
DATE_RE = re.compile(
    rf"(?<![0-9A-Za-z/.])({DIGIT}{{1,2}})\s?[/.\-]\s?({DIGIT}{{1,2}})\s?[/.\-]\s?({DIGIT}{{4}}|{DIGIT}{{2}})"
    rf"(?![0-9/])"
)
_MONTH_WORD = "|".join(fuzzy(m) for m in sorted(MONTHS, key=len, reverse=True))
MONTH_RE = re.compile(
    rf"(?<![a-z0-9/])(?:(?P<name>{_MONTH_WORD})|(?P<num>{DIGIT}{{1,2}}))"
    rf"\s?(?:[/.\-]|\s|\s?de\s)\s?(?P<year>{DIGIT}{{4}}|{DIGIT}{{2}})(?![0-9/]|\s?[/.\-]\s?[0-9])"
)
INT_RE = re.compile(
    rf"(?<![0-9A-Za-z.,/$])({DIGIT}{{1,3}}(?:\.{DIGIT}{{3}})+|{DIGIT}{{1,7}})(?![0-9A-Za-z]|[.,/-]\s?[0-9])"
)
KWH_UNIT_RE = re.compile(r"\s*\(?\s*k\s?w\s?h(?![a-z/])")
CONNECTION_RE = re.compile(
    rf"(?<![a-z])(?P<kind>m[o0]n[o0]|{fuzzy('bi')}|{fuzzy('tri')})\s*-?\s*{fuzzy('fasic')}[oa0@]"
)


def find_money(line: Line) -> list[Found[float]]:
    found = []
    for m in MONEY_RE.finditer(line.raw):
        if not has_real_digit(m.group(0)):
            continue
        whole = ocr_digits(m.group(1)).replace(".", "")
        value = float(f"{int(whole)}.{ocr_digits(m.group(2))}") if whole.isdigit() else None
        if value is not None and 0 < value < MAX_TOTAL_BRL:
            found.append((m.start(), m.end(), value))
    return found


def find_dates(line: Line) -> list[Found[str]]:
    found = []
    for m in DATE_RE.finditer(line.raw):
        if not has_real_digit(m.group(0)):
            continue
        day, month, year = (ocr_digits(g) for g in m.groups())  # DATE_RE's three groups
        parts = (day, month, year)
        date = _date(*parts) or _date_with_zero_repaired(parts)
        if date is not None:
            found.append((m.start(), m.end(), date))
    return found


def _date(day: str, month: str, year: str) -> Optional[str]:
    full_year = int(year) + TWO_DIGIT_YEAR_BASE if len(year) <= 2 else int(year)
    try:
        date = dt.date(full_year, int(month), int(day))
    except ValueError:
        return None
    return date.isoformat() if OLDEST_YEAR <= date.year <= NEWEST_YEAR else None


# Fonts with a dotted or slashed zero (field printers, monospaced bills) make OCR
# read 0 as 6, 8 or 9: "27/10/2626", "98/05/2025".
ZERO_LOOKALIKES = "689"


def _date_with_zero_repaired(parts: tuple[str, str, str]) -> Optional[str]:
    """The one valid date that a single 6/8/9 -> 0 change makes of an impossible one.

    Only when the other parts have no 6/8/9 themselves: in "19/67/2026" the 9 may be
    a misread zero too, and "19/07/2026" would be a confident wrong answer.
    """
    repaired = set()
    for k, part in enumerate(parts):
        others = "".join(p for j, p in enumerate(parts) if j != k)
        if any(c in ZERO_LOOKALIKES for c in others):
            continue
        for i, char in enumerate(part):
            if char in ZERO_LOOKALIKES:
                attempt = list(parts)
                attempt[k] = part[:i] + "0" + part[i + 1:]
                date = _date(*attempt)
                if date:
                    repaired.add(date)
    return repaired.pop() if len(repaired) == 1 else None


def find_months(line: Line) -> list[Found[str]]:
    found = []
    for m in MONTH_RE.finditer(line.key):
        if m.group("name"):
            month = MONTHS.get(m.group("name").translate(LETTER_FIXES).replace("q", "o"))
        else:
            month = int(ocr_digits(m.group("num"))) if has_real_digit(m.group("num")) else None
        year_raw = m.group("year")
        if month is None or not 1 <= month <= 12 or not has_real_digit(year_raw):
            continue
        year = int(ocr_digits(year_raw))
        year = year + TWO_DIGIT_YEAR_BASE if year < 100 else year
        if OLDEST_YEAR <= year <= NEWEST_YEAR:
            found.append((m.start(), m.end(), f"{year:04d}-{month:02d}"))
    return found


def find_counts(line: Line) -> list[Found[float]]:
    """Whole numbers that are not part of an amount, a date or a code."""
    found = []
    for m in INT_RE.finditer(line.key):
        if not has_real_digit(m.group(0)):
            continue
        before = line.key[max(0, m.start() - 4):m.start()]
        if re.search(r"r\s?\$\s*$|r\s?s\s*$", before):
            continue  # "R$ 12": money without cents
        value = float(ocr_digits(m.group(1)).replace(".", ""))
        found.append((m.start(), m.end(), value))
    return found


def find_kwh_with_unit(line: Line) -> list[Found[float]]:
    """Numbers printed with their unit: "350 kWh", "350kWh"."""
    return [
        (start, end, value) for start, end, value in find_counts(line)
        if KWH_UNIT_RE.match(line.key, end)
    ]


def find_classes(line: Line) -> list[Found[str]]:
    found = []
    for wording, value in CUSTOMER_CLASSES:
        for m in re.finditer(rf"(?<![a-z]){fuzzy(wording)}", line.key):
            found.append((m.start(), m.end(), value))
    for code, value in SUBGROUP_CLASSES.items():
        for m in re.finditer(rf"(?<![a-z0-9]){fuzzy(code)}(?![0-9a-z])", line.key):
            found.append((m.start(), m.end(), value))
    return sorted(found)


def find_connections(line: Line) -> list[Found[str]]:
    found = []
    for m in CONNECTION_RE.finditer(line.key):
        first = m.group("kind")[0]
        kind = "mono" if first == "m" else "tri" if first in "t7" else "bi"
        found.append((m.start(), m.end(), CONNECTION_TYPES[kind]))
    return found
