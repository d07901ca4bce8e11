"""The weekly report's figures: pure counting (tests/integration/test_weekly_report_store.py reads
them from a real Redis tracker store)."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from connectors.weekly_report import WEEK_SECONDS, WeeklyFigures, format_report, weekly_figures
from sdr.simulation import PARAMETERS_FILE_ENV, SimulationRequest, simulate

UNTIL = 1_795_000_000.0  # a Monday morning in 2026 does not matter here: only the window does
SINCE = UNTIL - WEEK_SECONDS
INSIDE = SINCE + 3600
BEFORE = SINCE - 3600


@pytest.fixture(autouse=True)
def shipped_parameters(monkeypatch):
    monkeypatch.delenv(PARAMETERS_FILE_ENV, raising=False)


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


def qualified_lead(*figures: dict) -> list:
    return [user(INSIDE), *figures, slot(INSIDE + 30, "lead_status", "qualificado")]


def test_the_weeks_qualified_leads_add_up_their_simulations():
    bh = simulate(SimulationRequest(state="MG", city="Belo Horizonte", monthly_bill_brl=600.0))
    sp = simulate(SimulationRequest(state="SP", monthly_kwh=500.0, utility="Enel SP"))
    conversations = [
        # The last value of each slot counts: the bill was corrected from 300 to 600.
        qualified_lead(slot(INSIDE, "monthly_bill_brl", 300.0), slot(INSIDE, "city", "Belo Horizonte"),
                       slot(INSIDE, "state", "MG"), slot(INSIDE + 20, "monthly_bill_brl", 600.0)),
        qualified_lead(slot(INSIDE, "monthly_kwh", 500.0), slot(INSIDE, "state", "SP"),
                       slot(INSIDE, "utility", "Enel SP")),
        # Qualified without a state: counted as qualified, not simulated (nothing is guessed).
        qualified_lead(slot(INSIDE, "monthly_bill_brl", 450.0), slot(INSIDE, "city", "Xique-Xique")),
        # A bill too small to simulate.
        qualified_lead(slot(INSIDE, "monthly_bill_brl", 20.0), slot(INSIDE, "state", "MG")),
        # Figures known but not qualified this week: not in the totals.
        [user(INSIDE), slot(INSIDE, "monthly_bill_brl", 900.0), slot(INSIDE, "state", "MG")],
        [user(BEFORE), slot(BEFORE, "monthly_bill_brl", 900.0), slot(BEFORE, "state", "MG"),
         slot(BEFORE, "lead_status", "qualificado")],
    ]
    figures = weekly_figures(conversations, SINCE, UNTIL)
    assert figures.qualified == 4 and figures.simulated_leads == 2
    assert figures.simulated_kwp == pytest.approx(bh.sizing.kwp + sp.sizing.kwp, abs=0.01)
    assert figures.simulated_investment_min_brl == pytest.approx(
        bh.sizing.investment_min_brl + sp.sizing.investment_min_brl, abs=0.01)
    assert figures.simulated_investment_max_brl == pytest.approx(
        bh.sizing.investment_max_brl + sp.sizing.investment_max_brl, abs=0.01)
    assert figures.simulated_investment_min_brl < figures.simulated_investment_max_brl
    data = figures.as_dict()
    assert data["simulated_leads"] == 2 and data["simulated_kwp"] == figures.simulated_kwp


def test_the_simulated_potential_reads_in_portuguese():
    figures = WeeklyFigures(since=SINCE, until=UNTIL, qualified=12, simulated_leads=12, simulated_kwp=42.47,
                            simulated_investment_min_brl=180_020.5, simulated_investment_max_brl=219_960.0)
    text = format_report(figures, ZoneInfo("America/Sao_Paulo"))
    assert "Potencial simulado: 42,5 kWp; investimento estimado R$ 180.000 a R$ 220.000 (12 leads)" in text
    one = WeeklyFigures(since=SINCE, until=UNTIL, simulated_leads=1, simulated_kwp=3.3,
                        simulated_investment_min_brl=9_870.0, simulated_investment_max_brl=12_345.0)
    assert "Potencial simulado: 3,3 kWp; investimento estimado R$ 9.900 a R$ 12.300 (1 lead)" in format_report(
        one, ZoneInfo("America/Sao_Paulo"))
    none = format_report(weekly_figures([], SINCE, UNTIL), ZoneInfo("America/Sao_Paulo"))
    assert "Potencial simulado: nenhum lead qualificado com simulação" in none


def test_a_broken_parameters_file_costs_the_totals_not_the_report(monkeypatch, tmp_path):
    (tmp_path / "parameters.yml").write_text("performance_ratio: oops\n")
    monkeypatch.setenv(PARAMETERS_FILE_ENV, str(tmp_path / "parameters.yml"))
    lead = qualified_lead(slot(INSIDE, "monthly_bill_brl", 600.0), slot(INSIDE, "state", "MG"))
    figures = weekly_figures([lead], SINCE, UNTIL)
    assert figures.qualified == 1 and figures.simulated_leads == 0
