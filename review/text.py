"""Text normalisation of the review UI's search and de-duplication: the project's one folding."""
from __future__ import annotations

from sdr.text import fold_words as normalise

__all__ = ["normalise"]
