"""The conversation page's solar simulation (review/simulation_panel.py): the lead's slots in,
the WhatsApp message's figures out, in pt-BR for the page and as numbers for the API."""
from __future__ import annotations

import pytest

from review.simulation_panel import SIMULATION_FIELDS, lead_simulation, simulation_json, simulation_rows
from review.tracker_parse import summarise
from sdr.simulation import PARAMETERS_FILE_ENV, SimulationRequest, simulate

T0 = 1_764_000_000.0


@pytest.fixture(autouse=True)
def shipped_parameters(monkeypatch):
    monkeypatch.delenv(PARAMETERS_FILE_ENV, raising=False)


def slot(name, value, t=T0):
    return {"event": "slot", "timestamp": t, "name": name, "value": value}


def lead_of(*events):
    return summarise("5531999990000", list(events)).lead


def test_a_lead_with_bill_and_state_gets_the_figures_of_the_whatsapp_message():
    lead = lead_of(slot("monthly_bill_brl", 300.0), slot("city", "Belo Horizonte"), slot("state", "MG"),
                   slot("utility", "CEMIG"), slot("monthly_bill_brl", 600.0, T0 + 5))
    sim = lead_simulation(lead)
    expected = simulate(SimulationRequest(state="MG", city="Belo Horizonte", utility="CEMIG", monthly_bill_brl=600.0))
    assert sim is not None and sim.sizing == expected.sizing

    rows = dict(simulation_rows(sim))
    assert list(rows) == ["Potência", "Módulos", "Geração", "Investimento", "Economia", "Retorno",
                          "Economia em 25 anos"]
    kwp = f"{expected.sizing.kwp:.2f}".replace(".", ",")
    assert rows["Potência"] == f"{kwp} kWp"
    assert rows["Módulos"].startswith(f"{expected.sizing.modules} × 550 W (~")
    assert rows["Geração"].startswith("~") and rows["Geração"].endswith(" kWh/mês")
    low, high = rows["Investimento"].split(" a ")
    assert low.startswith("R$ ") and high.startswith("R$ ") and "," not in low + high  # whole reais
    assert rows["Economia"].startswith("~R$ ") and rows["Economia"].endswith("/mês (1º ano)")
    assert rows["Retorno"].startswith("~") and rows["Retorno"].endswith(" anos")
    assert rows["Economia em 25 anos"].startswith("~R$ ")

    data = simulation_json(sim)
    assert data is not None and data["estimate"] is True
    assert set(data) == {"estimate", *SIMULATION_FIELDS}
    assert data["kwp"] == round(expected.sizing.kwp, 2) and data["modules"] == expected.sizing.modules
    assert data["investment_min_brl"] < data["investment_max_brl"]


def test_a_consumption_in_kwh_is_enough_too():
    sim = lead_simulation(lead_of(slot("monthly_kwh", 500.0), slot("state", "SP")))
    assert sim is not None and sim.consumption_source == "kwh"


@pytest.mark.parametrize("events", [
    [],
    [slot("monthly_bill_brl", 450.0)],  # no state: nothing is guessed
    [slot("state", "MG"), slot("city", "Uberlândia")],  # no bill, no consumption
    [slot("monthly_bill_brl", 450.0), slot("state", "Minas")],  # not a UF
    [slot("monthly_bill_brl", 20.0), slot("state", "MG")],  # at or below the minimum charge
    [slot("monthly_bill_brl", "muito"), slot("state", "MG")],  # whatever a stored tracker holds
    [slot("monthly_bill_brl", 450.0), slot("state", "MG"), {"event": "restart", "timestamp": T0 + 1}],
])
def test_nothing_is_shown_without_the_figures(events):
    sim = lead_simulation(lead_of(*events))
    assert sim is None and simulation_rows(sim) == [] and simulation_json(sim) is None


def test_a_broken_parameters_file_hides_the_panel_not_the_page(monkeypatch, tmp_path, caplog):
    (tmp_path / "parameters.yml").write_text("performance_ratio: oops\n")
    monkeypatch.setenv(PARAMETERS_FILE_ENV, str(tmp_path / "parameters.yml"))
    assert lead_simulation({"monthly_bill_brl": 450.0, "state": "MG"}) is None
    assert "review.simulation_failed" in caplog.text
