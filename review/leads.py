"""The leads table, its CSV export, the weekly funnel and the confidence
histogram: aggregation over conversation summaries (pure functions)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from observability.privacy import mask_phone
from review.filters import LOCAL_TZ
from review.tracker_parse import ConversationSummary
from sdr.vocabulary import STATUSES_QUALIFIED, STATUSES_QUALIFYING_OR_LATER, LeadClass

# (key, label) of the leads table, in order; every one is sortable.
COLUMNS: Tuple[Tuple[str, str], ...] = (
    ("name", "Nome"), ("phone", "Telefone"), ("monthly_bill_brl", "Conta (R$)"), ("monthly_kwh", "kWh"),
    ("utility", "Distribuidora"), ("city", "Cidade"), ("state", "UF"), ("property_type", "Imóvel"),
    ("is_owner", "Proprietário"), ("roof_type", "Telhado"), ("is_decision_maker", "Decisor"),
    ("timeline", "Prazo"), ("financing_interest", "Financiamento"), ("lead_score", "Score"),
    ("lead_class", "Classe"), ("lead_status", "Status"), ("lead_source", "Origem"),
    ("lead_campaign", "Campanha"), ("last_activity", "Última atividade"),
)
COLUMN_KEYS = tuple(key for key, _ in COLUMNS)
QUALIFYING_OR_LATER = STATUSES_QUALIFYING_OR_LATER
QUALIFIED = STATUSES_QUALIFIED
FUNNEL_STAGES = ("novos", "qualificando", "qualificados", "quentes (HOT)")
# Spreadsheets run cells that start with these as formulas: a lead's name must not.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def lead_row(summary: ConversationSummary, full_phone: bool = False) -> Dict[str, Any]:
    row = {key: summary.lead.get(key) for key in COLUMN_KEYS if key in summary.lead}
    row.update(
        name=summary.name,
        phone=summary.sender_id if full_phone else mask_phone(summary.sender_id),
        lead_score=summary.lead_score,
        lead_class=summary.lead_class,
        lead_status=summary.lead_status,
        last_activity=summary.last_activity,
        sender_id=summary.sender_id,
    )
    return row


def _sort_key(column: str) -> Callable[[Dict[str, Any]], Tuple[int, Any]]:
    def key(row: Dict[str, Any]) -> Tuple[int, Any]:
        value = row.get(column)
        if value is None or value == "":
            return (1, "")  # empty cells last, whichever the direction
        if isinstance(value, bool):
            return (0, int(value))
        return (0, value if isinstance(value, (int, float)) else str(value).casefold())
    return key


def sorted_rows(rows: List[Dict[str, Any]], column: str, descending: bool) -> List[Dict[str, Any]]:
    column = column if column in COLUMN_KEYS else "last_activity"
    filled = [r for r in rows if r.get(column) not in (None, "")]
    empty = [r for r in rows if r.get(column) in (None, "")]
    return sorted(filled, key=_sort_key(column), reverse=descending) + empty


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "sim" if value else "não"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def leads_csv(rows: Sequence[Dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([label for _, label in COLUMNS])
    for row in rows:
        values = dict(row)
        if values.get("last_activity"):
            values["last_activity"] = local_time(values["last_activity"])
        writer.writerow([_cell(values.get(key)) for key in COLUMN_KEYS])
    return out.getvalue()


def local_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def week_start(timestamp: float) -> str:
    day = datetime.fromtimestamp(timestamp, LOCAL_TZ).date()
    return (day - timedelta(days=day.weekday())).isoformat()


@dataclass(frozen=True)
class FunnelWeek:
    week: str  # Monday, YYYY-MM-DD
    counts: Tuple[int, int, int, int]  # new, qualifying, qualified, hot


def weekly_funnel(summaries: Sequence[ConversationSummary], weeks: int = 8) -> List[FunnelWeek]:
    """Cohorts by the week a conversation started: how many of them went on to
    qualifying, to qualified, and to HOT (by now)."""
    buckets: Dict[str, List[int]] = {}
    for s in summaries:
        if not s.first_activity:
            continue
        counts = buckets.setdefault(week_start(s.first_activity), [0, 0, 0, 0])
        statuses = {status for _, status in s.status_history} | {s.lead_status}
        counts[0] += 1
        counts[1] += bool(statuses & QUALIFYING_OR_LATER)
        counts[2] += bool(statuses & QUALIFIED)
        counts[3] += any(value == LeadClass.HOT for _, value in s.class_history) or s.lead_class == LeadClass.HOT
    return [FunnelWeek(week, tuple(buckets[week])) for week in sorted(buckets)[-weeks:]]  # type: ignore[arg-type]


def confidence_histogram(summaries: Sequence[ConversationSummary], bins: int = 10) -> List[int]:
    counts = [0] * bins
    for s in summaries:
        for confidence in s.confidences:
            counts[min(bins - 1, max(0, int(confidence * bins)))] += 1
    return counts


def bool_label(value: Optional[bool]) -> str:
    return "" if value is None else ("sim" if value else "não")
