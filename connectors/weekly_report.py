"""The weekly report: what happened to leads in the last seven days, read from
the tracker store (the conversations themselves, no separate bookkeeping).

`weekly_figures` is pure (serialised tracker events in, figures out; the qualified leads' solar
simulations come from sdr/simulation, from the last value of each slot);
`collect_weekly_figures` reads every conversation of a Rasa tracker store.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional
from zoneinfo import ZoneInfo

from sdr.followup_policy import is_lead_message
from sdr.formatting import format_brl, format_number
from sdr.schedule_rules import local_date
from sdr.simulation import Simulation, simulate_slots
from sdr.vocabulary import LeadClass, LeadSource, LeadStatus

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
    # Per lead_source ("ctwa_ad", "organic", "unknown" before 0.7): received, qualified, hot.
    by_source: Dict[str, Dict[str, int]] = field(default_factory=dict)
    # Leads received per ad campaign (lead_campaign of click-to-WhatsApp leads).
    by_campaign: Dict[str, int] = field(default_factory=dict)
    # The week's qualified leads whose figures could be simulated, and their simulations' totals.
    simulated_leads: int = 0
    simulated_kwp: float = 0.0
    simulated_investment_min_brl: float = 0.0
    simulated_investment_max_brl: float = 0.0

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


UNKNOWN_SOURCE = "unknown"  # conversations from before lead sources were recorded
SOURCE_FIGURES = ("received", "qualified", "hot")


def last_slot_values(events: Iterable[Mapping[str, Any]]) -> Dict[str, Any]:
    """The last value the conversation recorded for each slot."""
    return {str(e.get("name")): e.get("value") for e in events if e.get("event") == "slot"}


def conversation_source(events: Iterable[Mapping[str, Any]]) -> tuple[str, Any]:
    """(lead_source, lead_campaign) as the conversation recorded them."""
    slots = last_slot_values(events)
    return str(slots.get("lead_source") or UNKNOWN_SOURCE), slots.get("lead_campaign")


def lead_simulation(events: Iterable[Mapping[str, Any]]) -> Optional[Simulation]:
    """The lead's solar simulation, as sent at the end of the qualification; None without the
    figures it needs."""
    try:
        return simulate_slots(last_slot_values(events))
    except Exception:  # a broken SIMULATION_PARAMETERS_FILE must not cost the week its report
        logger.exception("weekly_report.simulation_failed")
        return None


def weekly_figures(conversations: Iterable[Iterable[Mapping[str, Any]]], since: float, until: float) -> WeeklyFigures:
    totals = {"received": 0, "qualified": 0, "hot": 0, "handed_to_humans": 0, "opted_out": 0}
    by_source: Dict[str, Dict[str, int]] = {}
    by_campaign: Dict[str, int] = {}
    simulated, kwp, investment_min, investment_max = 0, 0.0, 0.0, 0.0
    for conversation in conversations:
        events = list(conversation)
        counted = conversation_figures(events, since, until)
        for name, counts in counted.items():
            totals[name] += int(counts)
        sim = lead_simulation(events) if counted["qualified"] else None
        if sim is not None:
            simulated += 1
            kwp += sim.sizing.kwp
            investment_min += sim.sizing.investment_min_brl
            investment_max += sim.sizing.investment_max_brl
        if not any(counted[name] for name in SOURCE_FIGURES):
            continue
        source, campaign = conversation_source(events)
        row = by_source.setdefault(source, dict.fromkeys(SOURCE_FIGURES, 0))
        for name in SOURCE_FIGURES:
            row[name] += int(counted[name])
        if counted["received"] and source == LeadSource.CTWA_AD and campaign:
            by_campaign[str(campaign)] = by_campaign.get(str(campaign), 0) + 1
    return WeeklyFigures(since=since, until=until, by_source=by_source, by_campaign=by_campaign, **totals,
                         simulated_leads=simulated, simulated_kwp=round(kwp, 2),
                         simulated_investment_min_brl=round(investment_min, 2),
                         simulated_investment_max_brl=round(investment_max, 2))


SOURCE_LABELS = {LeadSource.CTWA_AD.value: "Anúncios (clique para WhatsApp)",
                 LeadSource.ORGANIC.value: "Orgânico", UNKNOWN_SOURCE: "Origem não registrada"}
TOP_CAMPAIGNS = 5
ROUND_BRL = 100  # the investment totals, to the nearest R$ 100 (estimates)


def _simulation_line(figures: WeeklyFigures) -> str:
    if not figures.simulated_leads:
        return "Potencial simulado: nenhum lead qualificado com simulação"
    reais = [format_brl(round(value / ROUND_BRL) * ROUND_BRL, places=0)
             for value in (figures.simulated_investment_min_brl, figures.simulated_investment_max_brl)]
    leads = f"{figures.simulated_leads} lead{'s' if figures.simulated_leads > 1 else ''}"
    return (f"Potencial simulado: {format_number(figures.simulated_kwp)} kWp; "
            f"investimento estimado {reais[0]} a {reais[1]} ({leads})")


def _source_lines(figures: WeeklyFigures) -> List[str]:
    if not figures.by_source:
        return []
    lines = ["", "Por origem:"]
    for source in sorted(figures.by_source, key=lambda s: -figures.by_source[s]["received"]):
        row = figures.by_source[source]
        lines.append(f"• {SOURCE_LABELS.get(source, source)}: {row['received']} recebidos, "
                     f"{row['qualified']} qualificados, {row['hot']} quentes")
    for campaign, count in sorted(figures.by_campaign.items(), key=lambda item: -item[1])[:TOP_CAMPAIGNS]:
        lines.append(f"   – {campaign}: {count}")
    return lines


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
        _simulation_line(figures),
        *_source_lines(figures),
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
