"""The weekly report's figures: pure counting (tests/integration/test_weekly_report_store.py reads
them from a real Redis tracker store)."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from connectors.weekly_report import WEEK_SECONDS, format_report, weekly_figures

UNTIL = 1_795_000_000.0  # a Monday morning in 2026 does not matter here: only the window does
SINCE = UNTIL - WEEK_SECONDS
INSIDE = SINCE + 3600
BEFORE = SINCE - 3600


def user(at: float, intent: str = "greet") -> dict:
    return {"event": "user", "timestamp": at, "text": "oi", "parse_data": {"intent": {"name": intent}}}


def slot(at: float, name: str, value) -> dict:
    return {"event": "slot", "timestamp": at, "name": name, "value": value}


def test_each_conversation_counts_once_per_figure():
    conversations = [
        # New this week, qualified and hot (the status set twice still counts once).
        [user(INSIDE), slot(INSIDE, "lead_status", "qualificado"), slot(INSIDE + 5, "lead_status", "qualificado"),
         slot(INSIDE, "lead_class", "HOT")],
        # New this week, handed to a person.
        [user(INSIDE), slot(INSIDE, "lead_status", "atendimento_humano")],
        # Started last week, opted out this week: not received, but opted out.
        [user(BEFORE), slot(INSIDE, "opted_out", True), slot(INSIDE, "lead_status", "descadastrado")],
        # Started and qualified last week: nothing this week.
        [user(BEFORE), slot(BEFORE, "lead_status", "qualificado")],
        # A follow-up trigger alone is not a lead arriving.
        [user(INSIDE, "EXTERNAL_followup")],
        # New this week, still talking.
        [user(INSIDE), user(INSIDE + 60, "inform")],
    ]
    figures = weekly_figures(conversations, SINCE, UNTIL)
    counts = (figures.received, figures.qualified, figures.hot, figures.handed_to_humans, figures.opted_out)
    assert counts == (3, 1, 1, 1, 1)
    assert round(figures.conversion_rate, 4) == round(1 / 3, 4)


def test_an_empty_week_has_no_conversion_rate_division():
    figures = weekly_figures([], SINCE, UNTIL)
    assert figures.received == 0 and figures.conversion_rate == 0.0


def test_the_report_reads_in_portuguese():
    figures = weekly_figures([[user(INSIDE), slot(INSIDE, "lead_status", "qualificado")], [user(INSIDE)]], SINCE, UNTIL)
    text = format_report(figures, ZoneInfo("America/Sao_Paulo"))
    assert "Relatório semanal" in text
    assert "Leads recebidos: 2" in text and "Qualificados: 1" in text
    assert "Taxa de conversão: 50,0%" in text


def test_the_week_is_broken_down_by_source_and_campaign():
    ad = [slot(INSIDE, "lead_source", "ctwa_ad"), slot(INSIDE, "lead_campaign", "Solar BH")]
    conversations = [
        [user(INSIDE), *ad, slot(INSIDE, "lead_status", "qualificado"), slot(INSIDE, "lead_class", "HOT")],
        [user(INSIDE), *ad],
        [user(INSIDE), slot(INSIDE, "lead_source", "ctwa_ad"), slot(INSIDE, "lead_campaign", "Solar SP")],
        [user(INSIDE), slot(INSIDE, "lead_source", "organic")],
        [user(INSIDE)],  # from before sources were recorded
        [user(BEFORE), *ad],  # not this week's
    ]
    figures = weekly_figures(conversations, SINCE, UNTIL)
    assert figures.by_source == {
        "ctwa_ad": {"received": 3, "qualified": 1, "hot": 1},
        "organic": {"received": 1, "qualified": 0, "hot": 0},
        "unknown": {"received": 1, "qualified": 0, "hot": 0},
    }
    assert figures.by_campaign == {"Solar BH": 2, "Solar SP": 1}
    text = format_report(figures, ZoneInfo("America/Sao_Paulo"))
    assert "• Anúncios (clique para WhatsApp): 3 recebidos, 1 qualificados, 1 quentes" in text
    assert "   – Solar BH: 2" in text and "• Orgânico: 1 recebidos" in text
