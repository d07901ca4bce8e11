"""The weekly report: what happened to leads in the last seven days, read from
the tracker store (the conversations themselves, no separate bookkeeping).

`weekly_figures` is pure (serialised tracker events in, figures out);
`collect_weekly_figures` reads every conversation of a Rasa tracker store.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any, Dict, Iterable, List, Mapping
from zoneinfo import ZoneInfo

from sdr.followup_policy import is_lead_message
from sdr.schedule_rules import local_date
from sdr.vocabulary import LeadClass, LeadStatus

logger = logging.getLogger(__name__)

WEEK_SECONDS = 7 * 86400


@dataclass(frozen=True)
class WeeklyFigures:
    since: float
    until: float
    received: int = 0  # conversations whose first message from the lead falls in the week
    qualified: int = 0  # lead_status became qualificado
    hot: int = 0  # lead_class became HOT
    handed_to_humans: int = 0  # lead_status became atendimento_humano
    opted_out: int = 0  # opted_out became true

    @property
    def conversion_rate(self) -> float:
        """Qualified leads per lead received in the week (0 when none arrived)."""
        return self.qualified / self.received if self.received else 0.0

    def as_dict(self) -> Dict[str, Any]:
        return {**asdict(self), "conversion_rate": round(self.conversion_rate, 4)}


def conversation_figures(events: Iterable[Mapping[str, Any]], since: float, until: float) -> Dict[str, bool]:
    """Which of the week's figures one conversation counts toward."""
    inside = lambda event: since <= float(event.get("timestamp") or 0) < until  # noqa: E731
    counted = {"received": False, "qualified": False, "hot": False, "handed_to_humans": False, "opted_out": False}
    first_lead_message = None
    for event in events:
        if first_lead_message is None and is_lead_message(event):
            first_lead_message = event
        if event.get("event") != "slot" or not inside(event):
            continue
        name, value = event.get("name"), event.get("value")
        if name == "lead_status" and value == LeadStatus.QUALIFIED:
            counted["qualified"] = True
        elif name == "lead_status" and value == LeadStatus.HUMAN:
            counted["handed_to_humans"] = True
        elif name == "lead_class" and value == LeadClass.HOT:
            counted["hot"] = True
        elif name == "opted_out" and value is True:
            counted["opted_out"] = True
    counted["received"] = first_lead_message is not None and inside(first_lead_message)
    return counted


def weekly_figures(conversations: Iterable[Iterable[Mapping[str, Any]]], since: float, until: float) -> WeeklyFigures:
    totals = {"received": 0, "qualified": 0, "hot": 0, "handed_to_humans": 0, "opted_out": 0}
    for events in conversations:
        for name, counts in conversation_figures(events, since, until).items():
            totals[name] += int(counts)
    return WeeklyFigures(since=since, until=until, **totals)


def format_report(figures: WeeklyFigures, tz: ZoneInfo) -> str:
    rate = f"{figures.conversion_rate * 100:.1f}".replace(".", ",")
    return "\n".join([
        f"📊 *Relatório semanal* — {local_date(figures.since, tz)} a {local_date(figures.until - 1, tz)}",
        "",
        f"Leads recebidos: {figures.received}",
        f"Qualificados: {figures.qualified}",
        f"Quentes (HOT): {figures.hot}",
        f"Encaminhados a atendimento humano: {figures.handed_to_humans}",
        f"Descadastrados (opt-out): {figures.opted_out}",
        f"Taxa de conversão: {rate}%",
    ])


def _innermost(tracker_store: Any) -> Any:
    """Rasa wraps the configured store (awaitable, fail-safe); the wrapped one has the key prefix."""
    inner = getattr(tracker_store, "_tracker_store", None)
    return tracker_store if inner is None else _innermost(inner)


async def conversation_ids(tracker_store: Any) -> List[str]:
    """Every conversation id of the store. Rasa's Redis store lists its raw keys
    (prefix included, as bytes); other stores list the ids."""
    prefix = getattr(_innermost(tracker_store), "key_prefix", "") or ""
    ids = []
    for key in await tracker_store.keys():
        key = key.decode() if isinstance(key, bytes) else str(key)
        ids.append(key[len(prefix):] if prefix and key.startswith(prefix) else key)
    return ids


async def collect_weekly_figures(tracker_store: Any, until: float) -> WeeklyFigures:
    """Figures of the seven days before `until`, from every conversation in the store."""
    since = until - WEEK_SECONDS
    conversations: List[List[Dict[str, Any]]] = []
    for sender_id in await conversation_ids(tracker_store):
        tracker = await tracker_store.retrieve_full_tracker(sender_id)
        if tracker is None:
            continue
        conversations.append([event.as_dict() for event in tracker.events])
    logger.info("weekly_report.collected conversations=%d", len(conversations))
    return weekly_figures(conversations, since, until)
