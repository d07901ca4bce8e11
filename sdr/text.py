"""Text folding: one way to compare what people type, whatever their accents and capitals.

- ``fold``: casefolded, accent-free, single-spaced ("  São  Paulo " → "sao paulo");
- ``fold_words``: ``fold`` with punctuation turned into spaces, for lenient comparisons
  ("Quanto custa?" == "quanto custa"), search and de-duplication;
- ``fold_same_length``: one output character per input character, so a match in the folded
  copy indexes the original text (bill OCR keeps its layout this way).
"""
from __future__ import annotations

import re
import unicodedata

__all__ = ["fold", "fold_same_length", "fold_words"]

_PUNCTUATION = re.compile(r"[^\w\s]|_")


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def fold(text: str) -> str:
    """Lowercase, accent-free, single-spaced copy of ``text`` for matching."""
    return " ".join(_strip_accents(text.casefold()).split())


def fold_words(text: str) -> str:
    """``fold`` without punctuation: only letters, digits and single spaces remain."""
    return " ".join(_PUNCTUATION.sub(" ", _strip_accents(text.casefold())).split())


def fold_same_length(text: str) -> str:
    """Lowercase, accent-free copy with exactly one character per input character."""
    out = []
    for char in text:
        kept = _strip_accents(char.casefold())
        out.append(kept[0] if kept else " ")
    return "".join(out)
