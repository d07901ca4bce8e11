"""The simulation in the lead's words: pt-BR figures and the WhatsApp message."""
from __future__ import annotations

from typing import Optional

from sdr.simulation import Simulation

__all__ = ["caption", "chart_footnote", "decimal_br", "first_name", "reais", "simulation_message"]

MAX_NAME_CHARS = 30


def decimal_br(value: float, places: int = 1) -> str:
    """Brazilian notation: 1234.5 -> "1.234,5"."""
    return f"{value:,.{places}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def reais(value: float, step: int = 1) -> str:
    """Whole reais rounded to ``step``: reais(9586.5, 100) -> "R$ 9.600"."""
    return f"R$ {decimal_br(round(value / step) * step, 0)}"


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
        f"• Retorno do investimento em cerca de *{decimal_br(savings.payback_years)} anos*"
        if savings.payback_years is not None
        else f"• Nesta estimativa o investimento não se paga em {years} anos"
    )
    lines = [
        f"☀️ *Sua simulação solar{', ' + name if name else ''}* (estimativa)",
        "",
        f"• Sistema de *{decimal_br(sizing.kwp, 2)} kWp*: {sizing.modules} módulos de "
        f"{decimal_br(sim.parameters.module_power_w, 0)} W, cerca de {decimal_br(sizing.area_m2, 0)} m² de telhado",
        f"• Geração média de ~{decimal_br(sizing.monthly_generation_kwh, 0)} kWh por mês",
        f"• Investimento de {reais(sizing.investment_min_brl, 100)} a {reais(sizing.investment_max_brl, 100)}",
        f"• Economia de ~*{reais(savings.monthly_savings_brl)} por mês* já no primeiro ano "
        f"(a conta de ~{reais(first.bill_before_brl)} cai pra ~{reais(first.bill_after_brl)})",
        payback,
        f"• Em {years} anos, ~{reais(savings.total_brl, 100)} de economia",
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
    after = decimal_br(sim.parameters.fio_b_after_schedule * 100, 0)
    return (
        f"Estimativa com dados públicos: {tariff}, sol de {_place(sim)} ({decimal_br(sim.hsp)} h/dia), "
        f"tarifa subindo {decimal_br(sim.parameters.tariff_increase_per_year * 100)}% ao ano.\n"
        f"Lei 14.300: Fio B crescente até {last}; {after}% a partir de {last + 1} é uma suposição. "
        "Um consultor confirma os valores."
    )

