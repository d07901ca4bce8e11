"""Savings year by year the way Brazilian bills work after Lei 14.300/2022.

Each month of year y (1 = the first, calendar year ``start_year + y - 1``):

- generation = nominal × (1 - first-year degradation - yearly degradation × (y - 1));
- compensated = min(generation, consumption - minimum charge): the minimum (custo de
  disponibilidade) stays billed at the full tariff, and surplus credits are not counted;
- bill before = consumption × tariff × growth, grossed up for taxes, + public lighting;
- bill after = ((consumption - compensated) × tariff + compensated × Fio B × Fio B %(year))
  × growth, grossed up for taxes, + public lighting (which stays on the bill);
- growth = (1 + tariff increase)^(y - 1), applied to the tariff and to its Fio B.

So the monthly saving is compensated × (tariff - Fio B × %) × growth × tax factor: never
negative, since the Fio B is part of the tariff and the percentage is at most 100%.
Self-consumed energy pays no Fio B in reality; here all generation counts as compensated
(fewer savings). No discounting: payback is simple payback on the investment given.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from sdr.simulation.parameters import Parameters

__all__ = ["SavingsInputs", "SavingsProjection", "YearSavings", "payback_years", "project_savings"]

MONTHS = 12


@dataclass(frozen=True)
class SavingsInputs:
    consumption_kwh: float  # monthly
    minimum_kwh: float
    monthly_generation_kwh: float  # nominal
    tariff_brl_per_kwh: float  # TE + TUSD, without taxes, today
    fio_b_brl_per_kwh: float  # without taxes, today
    tax_factor: float  # 1 / (1 - ICMS - PIS/COFINS)
    public_lighting_brl: float
    investment_brl: float
    start_year: int


@dataclass(frozen=True)
class YearSavings:
    year: int  # calendar year
    generation_kwh: float  # monthly, after degradation
    compensated_kwh: float  # monthly
    fio_b_percent: float
    bill_before_brl: float  # monthly
    bill_after_brl: float  # monthly
    savings_brl: float  # the whole year
    cumulative_brl: float  # up to the end of this year


@dataclass(frozen=True)
class SavingsProjection:
    years: tuple[YearSavings, ...]
    payback_years: Optional[float]  # None: not within the horizon

    @property
    def monthly_savings_brl(self) -> float:
        """A month of the first year: the saving "now"."""
        return self.years[0].savings_brl / MONTHS

    @property
    def total_brl(self) -> float:
        return self.years[-1].cumulative_brl


def project_savings(inputs: SavingsInputs, parameters: Parameters) -> SavingsProjection:
    target = max(0.0, inputs.consumption_kwh - inputs.minimum_kwh)
    years: list[YearSavings] = []
    cumulative = 0.0
    for y in range(1, parameters.horizon_years + 1):
        year = inputs.start_year + y - 1
        growth = (1 + parameters.tariff_increase_per_year) ** (y - 1)
        factor = 1 - parameters.degradation_first_year - parameters.degradation_per_year * (y - 1)
        generation = inputs.monthly_generation_kwh * max(0.0, factor)
        compensated = min(generation, target)
        percent = parameters.fio_b_percent(year)
        tariff = inputs.tariff_brl_per_kwh * growth
        fio_b = inputs.fio_b_brl_per_kwh * growth
        before = inputs.consumption_kwh * tariff * inputs.tax_factor + inputs.public_lighting_brl
        billed = (inputs.consumption_kwh - compensated) * tariff + compensated * fio_b * percent
        after = billed * inputs.tax_factor + inputs.public_lighting_brl
        saving = max(0.0, before - after) * MONTHS
        cumulative += saving
        years.append(YearSavings(year, generation, compensated, percent, before, after, saving, cumulative))
    return SavingsProjection(tuple(years), payback_years([y.savings_brl for y in years], inputs.investment_brl))


def payback_years(annual_savings: Sequence[float], investment_brl: float) -> Optional[float]:
    """Years until the savings add up to the investment, linear within the year; None if never."""
    cumulative = 0.0
    for index, saving in enumerate(annual_savings):
        if saving > 0 and cumulative + saving >= investment_brl:
            return index + (investment_brl - cumulative) / saving
        cumulative += saving
    return None
