"""Whether the customer decides the purchase (alone or jointly) or someone else does."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from sdr.parsing.chat_text import any_of, folded_words, search
from sdr.parsing.tables import word_list
from sdr.parsing.yes_no import parse_yes_no

__all__ = [
    "DECIDES_ALONE_PATTERNS",
    "DECISION_MAKER_PATTERNS",
    "NOT_DECISION_MAKER_PATTERNS",
    "PEOPLE_WHO_DECIDE",
    "parse_decision_maker",
]

PEOPLE_WHO_DECIDE = any_of(*word_list("decision_maker.yml", "people_who_decide"))

# Checked in this order: "nao preciso falar com ninguem" must not read as "falar com",
# and "nao sou eu que decide" must not read as "sou eu".
DECIDES_ALONE_PATTERNS: Sequence[str] = (
    r"nao preciso (de )?(falar|conversar|consultar|perguntar)",
    r"nao (depende|dependo) de ninguem",
)
NOT_DECISION_MAKER_PATTERNS: Sequence[str] = (
    r"nao sou eu",
    r"nao (sou|e) (eu )?(que|quem) (decide|resolve)",
    r"nao decido",
    r"nao e comigo",
    (
        r"(preciso|tenho que|vou|teria que|precisaria|preciso de)( antes)? "
        r"(falar|conversar|ver|consultar|perguntar|checar|alinhar)( isso)? com"
    ),
    rf"depende (do|da|de|dos|das) (meu |minha |meus |minhas |o |a )?({PEOPLE_WHO_DECIDE})",
    rf"(meu|minha|o|a) ({PEOPLE_WHO_DECIDE}) (que |quem )?(decide|resolve|manda|ve isso|cuida)",
    r"quem (decide|resolve|manda) (e|eh) (o|a|meu|minha)",
)
DECISION_MAKER_PATTERNS: Sequence[str] = (
    r"(sou )?eu (mesmo|mesma)",
    r"sou eu",
    r"eu (que |quem )?(decido|resolvo|mando)",
    r"(a )?decisao e (minha|nossa)",
    r"(sou|eu sou) (o|a) (responsavel|dono|dona|proprietario|proprietaria)",
    r"decidimos juntos|decidimos juntas|decidimos",
    r"(nos|a gente) (decide|decidimos|resolve|resolvemos)",
    rf"eu e (o |a )?(minha|meu) ({PEOPLE_WHO_DECIDE})",
    r"quem (decide|resolve) (sou|e) eu",
    r"somos nos",
)


def parse_decision_maker(text: str, *, requested: bool) -> Optional[bool]:
    """True if the customer decides the purchase (alone or jointly), False if someone else does."""
    normalized = " ".join(folded_words(text))
    if any(search(p, normalized) for p in DECIDES_ALONE_PATTERNS):
        return True
    if any(search(p, normalized) for p in NOT_DECISION_MAKER_PATTERNS):
        return False
    if any(search(p, normalized) for p in DECISION_MAKER_PATTERNS):
        return True
    return parse_yes_no(text) if requested else None
