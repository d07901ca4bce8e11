"""Text helpers shared by search and de-duplication (pure functions)."""
from __future__ import annotations

import re
import unicodedata


def normalise(text: str) -> str:
    """Casefolded, accents and punctuation dropped, single spaces: the same
    normalisation as the training-data tests, so "Quanto custa?" == "quanto custa"."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())
