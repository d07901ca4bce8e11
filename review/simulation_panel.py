"""The lead panel's solar simulation: the figures the lead gets on WhatsApp at the end of the
qualification (sdr/simulation), computed from the lead's slots with the current parameters.
Nothing when the state or the bill/consumption is missing, or the figures cannot be simulated.

Pure: the page shows ``simulation_rows`` (pt-BR), the API returns ``simulation_json``.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Optional, Tuple

from sdr.formatting import format_number, format_reais
from sdr.simulation import Simulation, simulate_slots

__all__ = ["SIMULATION_FIELDS", "lead_simulation", "simulation_json", "simulation_rows"]

logger = logging.getLogger(__name__)

# The figures of the simulation's JSON (python -m actions.simulation --json) the API returns.
SIMULATION_FIELDS = (
    "kwp", "modules", "area_m2", "monthly_generation_kwh", "investment_min_brl", "investment_max_brl",
    "monthly_savings_brl", "payback_years", "savings_25y_brl", "horizon_years", "start_year",
    "utility", "tariff_source", "connection", "consumption_source", "assumptions",
)
ROUND_BRL = 100  # the investment and the long-run savings, rounded as in the WhatsApp message


def lead_simulation(lead: Mapping[str, Any]) -> Optional[Simulation]:
    try:
        return simulate_slots(lead)
    except Exception:  # a broken SIMULATION_PARAMETERS_FILE must not take the conversation page down
        logger.exception("review.simulation_failed")
        return None


def simulation_json(sim: Optional[Simulation]) -> Optional[Dict[str, Any]]:
    if sim is None:
        return None
    data = sim.as_dict()
    return {"estimate": True, **{name: data[name] for name in SIMULATION_FIELDS}}


def simulation_rows(sim: Optional[Simulation]) -> List[Tuple[str, str]]:
    """(label, value) in pt-BR, in the order of the WhatsApp message; empty without a simulation."""
    if sim is None:
        return []
    sizing, savings = sim.sizing, sim.savings
    years = len(savings.years)
    payback = (f"~{format_number(savings.payback_years)} anos" if savings.payback_years is not None
               else f"não se paga em {years} anos")
    return [
        ("Potência", f"{format_number(sizing.kwp, 2)} kWp"),
        ("Módulos", f"{sizing.modules} × {format_number(sim.parameters.module_power_w, 0)} W "
                    f"(~{format_number(sizing.area_m2, 0)} m²)"),
        ("Geração", f"~{format_number(sizing.monthly_generation_kwh, 0)} kWh/mês"),
        ("Investimento", f"{format_reais(sizing.investment_min_brl, ROUND_BRL)} a "
                         f"{format_reais(sizing.investment_max_brl, ROUND_BRL)}"),
        ("Economia", f"~{format_reais(savings.monthly_savings_brl)}/mês (1º ano)"),
        ("Retorno", payback),
        (f"Economia em {years} anos", f"~{format_reais(savings.total_brl, ROUND_BRL)}"),
    ]
