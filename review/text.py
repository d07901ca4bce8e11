"""Text helpers shared by search, de-duplication and masking (pure functions)."""
from __future__ import annotations

import re
import unicodedata

from whatsapp.payload import mask_phone as _mask_phone


def normalise(text: str) -> str:
    """Casefolded, accents and punctuation dropped, single spaces: the same
    normalisation as the training-data tests, so "Quanto custa?" == "quanto custa"."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def mask_phone(sender_id: str) -> str:
    """Country code and area code stay readable, the subscriber digits do not."""
    return _mask_phone(sender_id)
