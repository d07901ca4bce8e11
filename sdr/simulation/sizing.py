"""Sizing a rooftop system: consumption in, kWp, modules, area, generation and price range out.

The system compensates the consumption above the minimum charge (custo de disponibilidade):
that minimum is billed at the full tariff whatever the generation, so generating it would be
wasted. Generation follows the installers' formula kWh/month = kWp × HSP × PR × days.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from sdr.simulation.parameters import Parameters

__all__ = ["SimulationError", "Sizing", "consumption_from_bill", "size_system", "yield_per_kwp"]


class SimulationError(ValueError):
    """The lead's figures cannot be simulated (the message says why, in English)."""


@dataclass(frozen=True)
class Sizing:
    consumption_kwh: float  # monthly
    target_kwh: float  # monthly kWh to compensate: consumption - minimum charge
    kwp: float
    modules: int
    area_m2: float  # the modules' own area
    monthly_generation_kwh: float  # nominal (new modules)
    investment_min_brl: float
    investment_max_brl: float

    @property
    def investment_brl(self) -> float:
        """The middle of the range: what payback is measured against."""
        return (self.investment_min_brl + self.investment_max_brl) / 2


def consumption_from_bill(bill_brl: float, tariff_with_taxes: float, public_lighting_brl: float) -> float:
    """Monthly kWh behind a bill in R$: what is left after public lighting, at the taxed tariff."""
    energy_brl = bill_brl - public_lighting_brl
    if energy_brl <= 0:
        raise SimulationError(
            f"a bill of R$ {bill_brl:.2f} does not exceed the public lighting charge (R$ {public_lighting_brl:.2f})"
        )
    return energy_brl / tariff_with_taxes


def yield_per_kwp(hsp: float, parameters: Parameters) -> float:
    """Monthly kWh one kWp generates where the sun gives ``hsp`` peak hours a day."""
    return hsp * parameters.performance_ratio * parameters.days_per_month


def size_system(consumption_kwh: float, minimum_kwh: float, hsp: float, parameters: Parameters) -> Sizing:
    target = consumption_kwh - minimum_kwh
    if target <= 0:
        raise SimulationError(
            f"a consumption of {consumption_kwh:.0f} kWh/month does not exceed the minimum charge "
            f"({minimum_kwh:.0f} kWh): there is nothing for a system to compensate"
        )
    per_kwp = yield_per_kwp(hsp, parameters)
    needed_w = target / per_kwp * 1000
    modules = max(1, math.ceil(round(needed_w / parameters.module_power_w, 6)))
    kwp = modules * parameters.module_power_w / 1000
    band = parameters.price_band(kwp)
    return Sizing(
        consumption_kwh=consumption_kwh,
        target_kwh=target,
        kwp=kwp,
        modules=modules,
        area_m2=modules * parameters.module_area_m2,
        monthly_generation_kwh=kwp * per_kwp,
        investment_min_brl=kwp * 1000 * band.min_brl_per_wp,
        investment_max_brl=kwp * 1000 * band.max_brl_per_wp,
    )
