"""One simulation: the lead's figures and place in, sizing, price and savings out (with where
every figure came from, and what was assumed)."""
from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from typing import Any, Optional

from sdr.simulation.parameters import CONNECTIONS, Parameters
from sdr.simulation.savings import SavingsInputs, SavingsProjection, project_savings
from sdr.simulation.sizing import SimulationError, Sizing, consumption_from_bill, size_system
from sdr.simulation.tables import SimulationData, TariffChoice, load_data
from sdr.vocabulary import UFS

__all__ = ["FIRST_YEAR", "LAST_YEAR", "Simulation", "SimulationRequest", "simulate"]

FIRST_YEAR, LAST_YEAR = 2023, 2100  # new connections under Lei 14.300's transition rules


@dataclass(frozen=True)
class SimulationRequest:
    state: str  # UF
    monthly_kwh: Optional[float] = None  # preferred when both are known
    monthly_bill_brl: Optional[float] = None
    city: Optional[str] = None
    utility: Optional[str] = None
    connection: Optional[str] = None  # monofasico / bifasico / trifasico
    start_year: Optional[int] = None


@dataclass(frozen=True)
class Simulation:
    request: SimulationRequest
    connection: str
    minimum_kwh: float
    tariff: TariffChoice
    tariff_with_taxes: float  # R$/kWh on the bill today
    hsp: float
    hsp_basis: str  # "capital" or "state"
    consumption_source: str  # "kwh" or "bill"
    sizing: Sizing
    savings: SavingsProjection
    assumptions: tuple[str, ...]
    parameters: Parameters

    @property
    def start_year(self) -> int:
        return self.savings.years[0].year

    def as_dict(self) -> dict[str, Any]:
        sizing, savings, first = self.sizing, self.savings, self.savings.years[0]
        return {
            "kwp": round(sizing.kwp, 2),
            "modules": sizing.modules,
            "area_m2": round(sizing.area_m2, 1),
            "monthly_generation_kwh": round(sizing.monthly_generation_kwh, 1),
            "investment_min_brl": round(sizing.investment_min_brl, 2),
            "investment_max_brl": round(sizing.investment_max_brl, 2),
            "investment_brl": round(sizing.investment_brl, 2),
            "monthly_savings_brl": round(savings.monthly_savings_brl, 2),
            "payback_years": None if savings.payback_years is None else round(savings.payback_years, 1),
            "savings_25y_brl": round(savings.total_brl, 2),
            "horizon_years": len(savings.years),
            "start_year": self.start_year,
            "state": self.request.state,
            "city": self.request.city,
            "utility": self.tariff.utility,
            "tariff_source": self.tariff.source,
            "tariff_as_of": self.tariff.as_of,
            "tariff_brl_per_kwh": round(self.tariff_with_taxes, 4),
            "tariff_without_taxes_brl_per_kwh": round(self.tariff.te_plus_tusd, 5),
            "hsp": self.hsp,
            "hsp_basis": self.hsp_basis,
            "connection": self.connection,
            "minimum_billing_kwh": self.minimum_kwh,
            "monthly_kwh": round(sizing.consumption_kwh, 1),
            "consumption_source": self.consumption_source,
            "bill_before_brl": round(first.bill_before_brl, 2),
            "bill_after_brl": round(first.bill_after_brl, 2),
            "cumulative_savings_brl": [0.0] + [round(y.cumulative_brl, 2) for y in savings.years],
            "assumptions": list(self.assumptions),
        }


def _positive(value: Optional[float], what: str, ceiling: float) -> Optional[float]:
    if value is None:
        return None
    if not math.isfinite(value) or value <= 0:
        raise SimulationError(f"{what} must be a positive number, got {value!r}")
    if value > ceiling:
        raise SimulationError(f"{what} of {value:g} is above {ceiling:g}: not a case for this simulation")
    return float(value)


def simulate(request: SimulationRequest, data: Optional[SimulationData] = None) -> Simulation:
    """Raises SimulationError when the figures are missing, out of range or too small."""
    data = data or load_data()
    p = data.parameters
    if request.state not in UFS:
        raise SimulationError(f"unknown state {request.state!r}: expected a UF such as MG or SP")
    kwh = _positive(request.monthly_kwh, "monthly consumption (kWh)", p.max_monthly_kwh)
    bill = _positive(request.monthly_bill_brl, "monthly bill (R$)", p.max_monthly_bill_brl)
    if kwh is None and bill is None:
        raise SimulationError("the monthly consumption (kWh) or the monthly bill (R$) is needed")
    connection = request.connection or p.default_connection
    if connection not in CONNECTIONS:
        raise SimulationError(f"unknown connection {connection!r}: expected one of {', '.join(CONNECTIONS)}")
    assumptions = []
    if request.connection is None:
        assumptions.append(f"connection type not given: {connection} assumed")

    tariff = data.tariffs.choose(request.utility, request.state)
    if tariff.source == "median":
        assumptions.append(f"no tariff found for {tariff.utility}: median of the table used")
    tax_factor = p.tax_factor(request.state)
    tariff_with_taxes = tariff.te_plus_tusd * tax_factor
    if kwh is None:
        assert bill is not None
        kwh = consumption_from_bill(bill, tariff_with_taxes, p.public_lighting_brl)
        assumptions.append(
            f"consumption estimated from the bill at R$ {tariff_with_taxes:.4f}/kWh with taxes, "
            f"less R$ {p.public_lighting_brl:.2f} of public lighting"
        )
    hsp, basis = data.sun[request.state].for_city(request.city)
    minimum = p.minimum_billing_kwh[connection]
    sizing = size_system(kwh, minimum, hsp, p)
    start = request.start_year or p.start_year or datetime.date.today().year
    if not FIRST_YEAR <= start <= LAST_YEAR:
        raise SimulationError(f"start year {start} is outside {FIRST_YEAR}-{LAST_YEAR} (Lei 14.300 transition on)")
    savings = project_savings(SavingsInputs(
        consumption_kwh=kwh,
        minimum_kwh=minimum,
        monthly_generation_kwh=sizing.monthly_generation_kwh,
        tariff_brl_per_kwh=tariff.te_plus_tusd,
        fio_b_brl_per_kwh=tariff.tusd * p.fio_b_share_of_tusd,
        tax_factor=tax_factor,
        public_lighting_brl=p.public_lighting_brl,
        investment_brl=sizing.investment_brl,
        start_year=start,
    ), p)
    last_scheduled = max(p.fio_b_schedule)
    if start + p.horizon_years - 1 > last_scheduled:
        assumptions.append(
            f"Fio B from {last_scheduled + 1} charged at {p.fio_b_after_schedule:.0%} "
            "(assumption: Lei 14.300 leaves it to ANEEL's valuation)"
        )
    return Simulation(
        request=request, connection=connection, minimum_kwh=minimum, tariff=tariff,
        tariff_with_taxes=tariff_with_taxes, hsp=hsp, hsp_basis=basis,
        consumption_source="kwh" if request.monthly_kwh is not None else "bill",
        sizing=sizing, savings=savings, assumptions=tuple(assumptions), parameters=p,
    )
