"""The simulation in the lead's words: pt-BR figures and the WhatsApp message."""
from __future__ import annotations

from typing import Optional

from sdr.formatting import format_number, format_reais
from sdr.simulation import Simulation

__all__ = ["caption", "chart_footnote", "first_name", "simulation_message"]

MAX_NAME_CHARS = 30


def first_name(customer_name: Optional[str]) -> Optional[str]:
    words = (customer_name or "").split()
    return words[0][:MAX_NAME_CHARS] if words else None


def _place(sim: Simulation) -> str:
    city = sim.request.city
    return f"{city}/{sim.request.state}" if city else sim.request.state


def _tariff_words(sim: Simulation) -> str:
    if sim.tariff.source == "median":
        return "a tarifa média das distribuidoras"
    return f"a tarifa da {sim.tariff.utility}"


def simulation_message(sim: Simulation, name: Optional[str] = None) -> str:
    sizing, savings, first = sim.sizing, sim.savings, sim.savings.years[0]
    years = len(savings.years)
    payback = (
        f"• Retorno do investimento em cerca de *{format_number(savings.payback_years)} anos*"
        if savings.payback_years is not None
        else f"• Nesta estimativa o investimento não se paga em {years} anos"
    )
    lines = [
        f"☀️ *Sua simulação solar{', ' + name if name else ''}* (estimativa)",
        "",
        f"• Sistema de *{format_number(sizing.kwp, 2)} kWp*: {sizing.modules} módulos de "
        f"{format_number(sim.parameters.module_power_w, 0)} W, "
        f"cerca de {format_number(sizing.area_m2, 0)} m² de telhado",
        f"• Geração média de ~{format_number(sizing.monthly_generation_kwh, 0)} kWh por mês",
        f"• Investimento de {format_reais(sizing.investment_min_brl, 100)} a "
        f"{format_reais(sizing.investment_max_brl, 100)}",
        f"• Economia de ~*{format_reais(savings.monthly_savings_brl)} por mês* já no primeiro ano "
        f"(a conta de ~{format_reais(first.bill_before_brl)} cai pra ~{format_reais(first.bill_after_brl)})",
        payback,
        f"• Em {years} anos, ~{format_reais(savings.total_brl, 100)} de economia",
        "",
        f"Calculei com {_tariff_words(sim)}, o sol de {_place(sim)} e as regras da Lei 14.300. "
        "É uma estimativa: um consultor confirma os números na proposta 📊",
    ]
    return "\n".join(lines)


def caption(name: Optional[str]) -> str:
    who = f", {name}" if name else ""
    return f"Sua economia acumulada x investimento{who} (estimativa) ☀️"


def chart_footnote(sim: Simulation) -> str:
    tariff = (
        "tarifa mediana das distribuidoras" if sim.tariff.source == "median"
        else f"tarifa {sim.tariff.utility} ({sim.tariff.as_of})"
    )
    last = max(sim.parameters.fio_b_schedule)
    after = format_number(sim.parameters.fio_b_after_schedule * 100, 0)
    return (
        f"Estimativa com dados públicos: {tariff}, sol de {_place(sim)} ({format_number(sim.hsp)} h/dia), "
        f"tarifa subindo {format_number(sim.parameters.tariff_increase_per_year * 100)}% ao ano.\n"
        f"Lei 14.300: Fio B crescente até {last}; {after}% a partir de {last + 1} é uma suposição. "
        "Um consultor confirma os valores."
    )

