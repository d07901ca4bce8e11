"""The entry points: every fact of a bill's text (`extract_bill_facts`), and whether a
text is an electricity bill at all (`looks_like_a_bill`)."""
from __future__ import annotations

import re
from collections.abc import Sequence

from actions.bill_text.facts import BillFacts
from actions.bill_text.fields import (
    read_connection_type,
    read_customer_class,
    read_due_date,
    read_kwh,
    read_reference_month,
    read_total,
)
from actions.bill_text.holder import find_holder
from actions.bill_text.lines import split_lines
from actions.bill_text.patterns import DUE_LABELS, TOTAL_LABELS, fuzzy
from actions.bill_text.places import find_place
from actions.bill_text.utilities import find_utility

__all__ = ["extract_bill_facts", "looks_like_a_bill"]

BILL_MIN_SIGNALS = 3  # distinct bill cues needed by looks_like_a_bill

# looks_like_a_bill: independent cues, each counted once.
ENERGY_SIGNALS: Sequence[re.Pattern[str]] = (
    re.compile(r"(?<![a-z])k\s*w\s*h(?![a-z])"),
    re.compile(fuzzy("energia eletrica")),
    re.compile(fuzzy("unidade consumidora")),
)
OTHER_SIGNALS: Sequence[re.Pattern[str]] = (
    re.compile(fuzzy("consumo")),
    DUE_LABELS,
    TOTAL_LABELS,
    re.compile(r"bandeira|tarifa|icms|aneel|cosip|ilum\w*\s*publica|leitura"),
    re.compile(r"fatura|nota\s*fiscal|conta\s*de\s*(energia|luz)|distribuidora"),
    re.compile(r"instalacao|n[o°º]?\s*do\s*cliente|codigo\s*do\s*cliente|medidor"),
)


def extract_bill_facts(text: str) -> BillFacts:
    """Every fact the text of a bill yields; `None` for each one it does not."""
    lines = split_lines(text)
    holder, holder_line = find_holder(lines)
    city, state = find_place(lines, holder_line)
    return BillFacts(
        total_brl=read_total(lines),
        kwh=read_kwh(lines),
        utility=find_utility(text, state),
        due_date=read_due_date(lines),
        reference_month=read_reference_month(lines),
        customer_class=read_customer_class(lines),
        connection_type=read_connection_type(lines),
        city=city,
        state=state,
        holder_name=holder,
    )


def looks_like_a_bill(text: str) -> bool:
    """True for the text of an electricity bill: energy wording plus other bill cues.

    Energy wording is required so a credit-card statement ("fatura", "vencimento",
    "total a pagar") or a shop receipt never passes for a bill.
    """
    key = "\n".join(line.key for line in split_lines(text))
    energy = sum(bool(p.search(key)) for p in ENERGY_SIGNALS)
    has_utility = find_utility(text, None) is not None
    other = sum(bool(p.search(key)) for p in OTHER_SIGNALS)
    if not (energy or has_utility):
        return False
    return energy + has_utility + other >= BILL_MIN_SIGNALS
