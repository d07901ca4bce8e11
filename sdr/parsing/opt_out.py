"""LGPD opt-out requests: the customer asks not to be messaged any more."""
from __future__ import annotations

import re
from collections.abc import Sequence

from sdr.parsing.tables import word_set
from sdr.text import fold

__all__ = ["OPT_OUT_EXACT", "OPT_OUT_PHRASES", "is_opt_out"]

OPT_OUT_EXACT: frozenset[str] = word_set("opt_out.yml", "opt_out_exact")
OPT_OUT_PHRASES: Sequence[str] = (
    r"descadastr",
    r"\bnao quero mais (receber )?(mensage\w*|msg\w*|contato|que me mandem)",
    r"\bparar? de me (mandar|enviar)",
    r"\bpare de (me )?(mandar|enviar)",
    r"\bme tirar? (da|dessa) lista",
    r"\bme tire (da|dessa) lista",
    r"\bremover? meu (numero|contato)",
    r"\bnao me mande mais",
    r"\bnao entre mais em contato",
)


def is_opt_out(text: str) -> bool:
    """LGPD opt-out request. Strict on purpose: "parar de pagar caro" is sales talk."""
    folded = fold(text)
    bare = " ".join(re.findall(r"[a-z0-9]+", folded))
    if bare in OPT_OUT_EXACT:
        return True
    return any(re.search(p, bare) for p in OPT_OUT_PHRASES)
