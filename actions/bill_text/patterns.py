"""OCR-tolerant patterns: look-alike characters, misread digits, and the labels of a bill
("Total a pagar", "Vencimento", "Cidade:"...) from labels.yml.

Labels are matched on a folded copy of each line (see `lines.Line`), so the phrases
here are folded too; OCR's confusions ("T0TAL", "VENClMENTO") are tolerated per
letter, and lost or extra spaces between words.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

from actions.bill_text.tables import str_list

__all__ = [
    "ADDRESS_START",
    "CITY_LABEL",
    "CLASS_LABELS",
    "COUNT_LABELS",
    "DATE_LABELS",
    "DIGIT",
    "DUE_LABELS",
    "HOLDER_LABELS",
    "KWH_LABELS",
    "LETTER_FIXES",
    "MONEY_LABELS",
    "REFERENCE_LABELS",
    "STATE_LABEL",
    "TOTAL_LABELS",
    "WEAK_TOTAL_LABELS",
    "fuzzy",
    "has_real_digit",
    "label_pattern",
    "ocr_digits",
]

# Characters OCR confuses with each other, per letter of a (folded) label word.
_LOOKALIKES: Mapping[str, str] = {
    "o": "[o0q]", "i": "[il1|!]", "l": "[li1|!]", "s": "[s5]", "e": "[e3]", "a": "[a@]",
    "c": "[c(]", "g": "[g9]", "b": "[b8]", "z": "[z2]", "t": "[t7]",
}
DIGIT = "[0-9OoQDIl|]"  # a digit as OCR may print it: O/o/Q/D for 0, I/l/| for 1
_DIGIT_FIXES = str.maketrans({"O": "0", "o": "0", "Q": "0", "D": "0", "I": "1", "l": "1", "|": "1"})
# Letters OCR misreads as digits inside a word (names, months).
LETTER_FIXES = str.maketrans({"0": "o", "1": "i", "5": "s", "3": "e", "8": "b", "|": "i", "!": "i"})


def fuzzy(phrase: str) -> str:
    """Regex for a folded phrase that tolerates OCR look-alikes and lost or extra spaces."""
    words = []
    for word in phrase.split():
        words.append("".join(_LOOKALIKES.get(c, re.escape(c)) for c in word))
    return r"\s*".join(words)


def label_pattern(*phrases: str) -> re.Pattern[str]:
    """One pattern for several label phrases, longest first, bounded by non-letters."""
    body = "|".join(fuzzy(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z])")


def ocr_digits(raw: str) -> str:
    """`raw` with the letters OCR prints for digits (O, I, l, |...) turned back into digits."""
    return raw.translate(_DIGIT_FIXES)


def has_real_digit(raw: str) -> bool:
    return any(c.isdigit() for c in raw)


# --------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------

_FILE = "labels.yml"


def _from_file(key: str) -> re.Pattern[str]:
    return label_pattern(*str_list(_FILE, key))


TOTAL_LABELS = _from_file("total")
WEAK_TOTAL_LABELS = _from_file("weak_total")  # "TOTAL  245,90" at the end of the line items
DUE_LABELS = _from_file("due")
# Every label whose value is a date: a header row of several is matched by order.
DATE_LABELS = _from_file("date")
MONEY_LABELS = _from_file("money")
REFERENCE_LABELS = _from_file("reference")
KWH_LABELS = _from_file("kwh")
# Every label whose value is a whole number in a header row with the consumption.
COUNT_LABELS = _from_file("count")
CLASS_LABELS = _from_file("class")
HOLDER_LABELS = _from_file("holder")


def _alternatives(key: str) -> str:
    return "|".join(fuzzy(phrase) for phrase in str_list(_FILE, key))


# Only with a colon: "Cidade Nova" is a neighbourhood, "Estado" a word.
# OCR often reads the colon as "." or ";".
CITY_LABEL = re.compile(rf"(?<![a-z])(?:{_alternatives('city_colon')})(?:\s*/\s*uf)?\s*[:.;]")
STATE_LABEL = re.compile(rf"(?<![a-z])(?:{_alternatives('state_colon')})\s*[:.;]")

# The first words of an address line: the holder's name is printed just above it.
ADDRESS_START = re.compile(
    r"^\s*(rua|r\.|av\.?|avenida|travessa|tv\.|alameda|al\.|estrada|est\.|rodovia|rod\.|praca|pca"
    r"|largo|quadra|qd\.?|setor|loteamento|sitio|fazenda|chacara|linha|br-?\d)(?![a-z])"
)
