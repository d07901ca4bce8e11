"""Readers of the labelled facts: total, consumption (kWh), due date, reference month,
customer class and connection type.

Each returns `None` rather than a guess: a tariff read as the total, or an average
read as the consumption, would silently corrupt the lead.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, Optional

from actions.bill_text.finders import (
    find_classes,
    find_connections,
    find_counts,
    find_dates,
    find_kwh_with_unit,
    find_money,
    find_months,
)
from actions.bill_text.lines import Line, value_for_label
from actions.bill_text.patterns import (
    CLASS_LABELS,
    COUNT_LABELS,
    DATE_LABELS,
    DUE_LABELS,
    KWH_LABELS,
    MONEY_LABELS,
    REFERENCE_LABELS,
    TOTAL_LABELS,
    WEAK_TOTAL_LABELS,
)
from sdr import vocabulary

__all__ = [
    "read_connection_type",
    "read_customer_class",
    "read_due_date",
    "read_kwh",
    "read_reference_month",
    "read_total",
]

# Larger consumptions are account or barcode numbers.
MAX_KWH = vocabulary.MAX_MONTHLY_KWH
MIN_KWH = 1.0

# Context that makes a number something else than the month's consumption: a
# tariff, an average, a history, a count of days or months.
KWH_CONTEXT_CHARS = 20
KWH_EXCLUDE_BEFORE = re.compile(r"media|historico|tarifa|preco|r\s?\$\s*$")
KWH_EXCLUDE_AFTER = re.compile(
    r"\s*(k\s?w\s?h)?\s*/\s*d|\s*(meses|mes|dias|dia|anos|%|x\b|r\s?\$|[.,]\d)"
)
LINE_ITEM_KWH = re.compile(r"energia|consumo|ativ[ao]")
KWH_BEFORE_QUANTITY = re.compile(r"k\s?w\s?h\s*\)?\s*$")
KWH_LABEL_SKIP = re.compile(r"historico|media|ultimos|grafico|evolucao")


def read_total(lines: Sequence[Line]) -> Optional[float]:
    not_a_tariff = _not_followed_by_unit
    value = value_for_label(lines, TOTAL_LABELS, find_money, MONEY_LABELS, accept=not_a_tariff)
    if value is not None:
        return value
    for line in lines:
        label = WEAK_TOTAL_LABELS.search(line.key)
        if label and not re.search(r"sub\s*total|total\s*(de|dos)?\s*(tribut|impost|consumo)", line.key):
            after = [v for s, e, v in find_money(line) if s >= label.end() and not_a_tariff(line, s, e, v)]
            if after:
                return after[-1]
    # Unlabelled: an amount printed with "R$" more than once is the total (front page and slip).
    counts = Counter(
        v for line in lines for s, e, v in find_money(line)
        if re.search(r"r\s?[$s5]\s*:?\s*$", line.key[max(0, s - 5):s]) and not_a_tariff(line, s, e, v)
    )
    repeated = [v for v, n in counts.items() if n >= 2]
    return max(repeated) if repeated else None


def _not_followed_by_unit(line: Line, start: int, end: int, value: Any) -> bool:
    return not re.match(r"\s*/\s*k?\s?w", line.key[end:end + 6])


def read_kwh(lines: Sequence[Line]) -> Optional[float]:
    def plausible(line: Line, start: int, end: int, value: float) -> bool:
        if not MIN_KWH <= value <= MAX_KWH:
            return False
        before, after = line.key[max(0, start - KWH_CONTEXT_CHARS):start], line.key[end:end + KWH_CONTEXT_CHARS]
        return not KWH_EXCLUDE_BEFORE.search(before) and not KWH_EXCLUDE_AFTER.match(after)

    # "Consumo: 350 kWh" or "Consumo (kWh)  350", and the same as a header row.
    with_unit = value_for_label(
        lines, KWH_LABELS, find_kwh_with_unit, COUNT_LABELS, accept=plausible, skip_label_lines=KWH_LABEL_SKIP,
    )
    if with_unit is not None:
        return with_unit
    bare = value_for_label(
        lines, KWH_LABELS, find_counts, COUNT_LABELS,
        accept=lambda line, s, e, v: plausible(line, s, e, v) and _kwh_context(line, s),
        skip_label_lines=KWH_LABEL_SKIP,
    )
    if bare is not None:
        return bare
    # No label read: the most frequent "N kWh" outside tariffs and histories, or the
    # quantity of a line item ("Energia Elétrica  kWh  350  0,95  332,50").
    counts = Counter(
        v for line in lines for s, e, v in find_kwh_with_unit(line) if plausible(line, s, e, v)
    )
    counts.update(
        v for line in lines if LINE_ITEM_KWH.search(line.key)
        for s, e, v in find_counts(line) if KWH_BEFORE_QUANTITY.search(line.key[:s]) and plausible(line, s, e, v)
    )
    return counts.most_common(1)[0][0] if counts else None


def _kwh_context(line: Line, start: int) -> bool:
    """A bare number is the consumption only on a line that speaks of kWh or consumption."""
    return bool(re.search(r"k\s?w\s?h|consumo", line.key)) or not re.search(r"[a-z]{3}", line.key[start:])


def read_due_date(lines: Sequence[Line]) -> Optional[str]:
    return value_for_label(lines, DUE_LABELS, find_dates, DATE_LABELS)


def read_reference_month(lines: Sequence[Line]) -> Optional[str]:
    month = value_for_label(lines, REFERENCE_LABELS, find_months, REFERENCE_LABELS)
    if month is not None:
        return month
    # An unlabelled "OUT/2025" (month name and four-digit year) is the reference;
    # consumption histories print two-digit years ("SET/25").
    for line in lines:
        for start, end, value in find_months(line):
            if re.search(r"[a-z]", line.key[start:start + 3]) and re.search(r"\d{4}$", line.key[start:end]):
                return value
    return None


def read_customer_class(lines: Sequence[Line]) -> Optional[str]:
    value = value_for_label(lines, CLASS_LABELS, find_classes, CLASS_LABELS)
    if value is not None:
        return value
    for line in lines:
        for start, end, value in find_classes(line):
            # An unlabelled class counts where tariffs are described ("B1 RESIDENCIAL
            # CONVENCIONAL", "Residencial Trifásico"), not in an address ("Jardim Residencial").
            context = line.key[max(0, start - 20):end + 30]
            if re.search(r"(?<![a-z0-9])b[123](?![0-9])|convencional|normal|baixa renda|fasic|tarifa", context):
                return value
    return None


def read_connection_type(lines: Sequence[Line]) -> Optional[str]:
    kinds = [value for line in lines for _, _, value in find_connections(line)]
    return Counter(kinds).most_common(1)[0][0] if kinds else None
