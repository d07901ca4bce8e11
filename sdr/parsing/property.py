"""What the property is and whose it is: its type (residencial, comercial, rural,
industrial) and whether the customer owns it or rents it.

Both readers must be sure the customer means their own property: "a empresa de vocês"
is the seller's, "tô em casa" means at home, and "não é alugado" is an owner.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Optional

from sdr.parsing.chat_text import any_of, folded_words
from sdr.parsing.tables import word_set
from sdr.parsing.yes_no import parse_yes_no

__all__ = [
    "NEGATION_WINDOW",
    "OWNER_PATTERN",
    "PROPERTY_PATTERNS",
    "SELLER_POSSESSIVES",
    "TENANT_PATTERN",
    "parse_ownership",
    "parse_property_type",
]

PROPERTY_PATTERNS: Sequence[tuple[str, str]] = (
    # Checked in order: a shop in a farm is "rural", a house used as an office "comercial".
    ("industrial", any_of(
        r"industrias?", "industrial", r"fabricas?", "galpao industrial", "metalurgica",
    )),
    ("rural", any_of(
        r"fazendas?", r"sitios?", r"chacaras?", "propriedade rural", "zona rural", "area rural",
        r"granjas?", "agro", "agronegocio", r"rocas?", "rural", "haras", "aviario", "lavoura",
    )),
    ("comercial", any_of(
        r"lojas?", "comercio", "comercial", r"empresas?", "escritorio", "padaria", r"restaurantes?",
        "lanchonete", r"mercados?", "supermercado", "mercadinho", "mercearia", r"clinicas?",
        "consultorio", r"hote(l|is)", r"pousadas?", r"oficinas?", "ponto comercial", "academia",
        "farmacia", "salao de beleza", "posto de gasolina", "predio comercial", "sala comercial",
    )),
    ("residencial", any_of(
        r"casas?", "apartamento", "apto", "ap", "residencia", "residencial", "sobrado",
        "condominio", "kitnet", "moradia",
    )),
)

SELLER_POSSESSIVES: frozenset[str] = word_set("property.yml", "seller_possessives")

OWNER_PATTERN = any_of(
    r"propri[oa]", r"proprietari[oa]", r"quitad[oa]", r"financiad[oa]", "financiamento",
    r"sou (o |a )?(dono|dona)", r"e (meu|minha|nosso|nossa)( mesmo| mesma| sim)?$",
    "imovel proprio", "casa propria", "de minha propriedade",
)
TENANT_PATTERN = any_of(
    "aluguel", r"alugad[oa]s?", "alugo", "alugamos", r"inquilin[oa]s?", r"locatari[oa]",
)
NEGATION_WINDOW = 3  # "nao" this many words before a cue flips it: "nao e alugado"


def parse_property_type(text: str) -> Optional[str]:
    """"residencial" | "comercial" | "rural" | "industrial" from words like casa, loja, sitio, fabrica."""
    normalized = " ".join(folded_words(text))
    for kind, pattern in PROPERTY_PATTERNS:
        for match in re.finditer(rf"\b(?:{pattern})\b", normalized):
            if not _not_about_the_property(normalized, match):
                return kind
    return None


def _not_about_the_property(normalized: str, match: re.Match[str]) -> bool:
    """ "a empresa de voces" is about us; "to em casa" means "at home"."""
    before = normalized[:match.start()].split()[-1:]
    after = normalized[match.end():].split()[:2]
    if before and before[0] in SELLER_POSSESSIVES or after[:1] == ["voces"] or after == ["de", "voces"]:
        return True
    return before == ["em"] and match.group() == "casa"


def parse_ownership(text: str, *, requested: bool) -> Optional[bool]:
    """True if the customer owns the property, False if renting, None if unclear."""
    normalized = " ".join(folded_words(text))
    owner = _signal(OWNER_PATTERN, normalized)
    tenant = _signal(TENANT_PATTERN, normalized)
    # A negated cue says the opposite: "nao e alugado" is an owner.
    votes = {v for v in (owner, None if tenant is None else not tenant) if v is not None}
    if len(votes) == 1:
        return votes.pop()
    if votes:
        return None
    return parse_yes_no(text) if requested else None


def _signal(pattern: str, normalized: str) -> Optional[bool]:
    """True when the cue is present, False when only negated occurrences are, None when absent."""
    matches = list(re.finditer(rf"\b(?:{pattern})\b", normalized))
    if not matches:
        return None
    return any(not _negated(normalized, m.start()) for m in matches)


def _negated(normalized: str, start: int) -> bool:
    preceding = normalized[:start].split()[-NEGATION_WINDOW:]
    return "nao" in preceding or "nem" in preceding
