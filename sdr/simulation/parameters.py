"""The simulation's parameters (parameters.yml beside this module, or SIMULATION_PARAMETERS_FILE).

Loading checks shapes and ranges, and that every value carries a source or an assumption, so a
typo in a copy fails loudly at load instead of producing a plausible wrong simulation.
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import yaml

from sdr.vocabulary import UFS

__all__ = [
    "CONNECTIONS",
    "DATA_DIR",
    "PARAMETERS_FILE_ENV",
    "Parameters",
    "PriceBand",
    "checked_number",
    "load_parameters",
    "read_mapping",
]

DATA_DIR = Path(__file__).parent
PARAMETERS_FILE_ENV = "SIMULATION_PARAMETERS_FILE"
CONNECTIONS = ("monofasico", "bifasico", "trifasico")


@dataclass(frozen=True)
class PriceBand:
    up_to_kwp: Optional[float]  # None: no upper limit
    min_brl_per_wp: float
    max_brl_per_wp: float


@dataclass(frozen=True)
class Parameters:
    performance_ratio: float
    days_per_month: float
    module_power_w: float
    module_area_m2: float
    degradation_first_year: float
    degradation_per_year: float
    tariff_increase_per_year: float
    price_bands: tuple[PriceBand, ...]
    fio_b_schedule: Mapping[int, float]
    fio_b_after_schedule: float
    fio_b_share_of_tusd: float
    minimum_billing_kwh: Mapping[str, float]
    default_connection: str
    pis_cofins: float
    icms_by_uf: Mapping[str, float]
    icms_default: float
    public_lighting_brl: float
    horizon_years: int
    start_year: Optional[int]
    max_monthly_kwh: float
    max_monthly_bill_brl: float

    def icms(self, state: str) -> float:
        return self.icms_by_uf.get(state, self.icms_default)

    def tax_factor(self, state: str) -> float:
        """Multiplier from a tariff without taxes to the tariff on the bill ("por dentro")."""
        return 1.0 / (1.0 - self.icms(state) - self.pis_cofins)

    def fio_b_percent(self, year: int) -> float:
        """Share of the Fio B charged on compensated energy in a calendar year (Lei 14.300 art. 27)."""
        if year in self.fio_b_schedule:
            return self.fio_b_schedule[year]
        return self.fio_b_after_schedule if year > max(self.fio_b_schedule) else 0.0

    def price_band(self, kwp: float) -> PriceBand:
        return next(b for b in self.price_bands if b.up_to_kwp is None or kwp <= b.up_to_kwp)


def read_mapping(path: Path) -> Mapping[str, Any]:
    with path.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    if not isinstance(raw, dict):
        raise ValueError(f"{path.name}: expected a mapping at the top level")
    return raw


def checked_number(value: Any, what: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} must be a number, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{what} must be between {low:g} and {high:g}, got {value!r}")
    return float(value)


def _value(raw: Mapping[str, Any], *path: str) -> Any:
    node: Any = raw
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            raise ValueError(f"parameters: missing {'.'.join(path)}")
        node = node[key]
    if not isinstance(node, Mapping) or "value" not in node:
        raise ValueError(f"parameters: {'.'.join(path)} must be {{value: ..., source/assumption: ...}}")
    if not ({"source", "assumption"} & set(node)):
        raise ValueError(f"parameters: {'.'.join(path)} needs a source or an assumption")
    return node["value"]


def _fraction_map(value: Any, what: str) -> dict[Any, float]:
    if not isinstance(value, Mapping) or not value:
        raise ValueError(f"{what} must be a mapping")
    return {key: checked_number(v, f"{what}.{key}", 0.0, 1.0) for key, v in value.items()}


def _bands(raw: Mapping[str, Any]) -> tuple[PriceBand, ...]:
    items = (raw.get("price_per_wp_brl") or {}).get("bands")
    if not isinstance(items, list) or not items:
        raise ValueError("parameters: price_per_wp_brl.bands must be a non-empty list")
    bands = []
    for i, item in enumerate(items):
        if not ({"source", "assumption"} & set(item)):
            raise ValueError(f"parameters: price band {i} needs a source or an assumption")
        top = item.get("up_to_kwp")
        low = checked_number(item.get("min"), f"price band {i} min", 0.5, 20.0)
        bands.append(PriceBand(None if top is None else checked_number(top, f"price band {i}", 0.0, 1e6),
                               low, checked_number(item.get("max"), f"price band {i} max", low, 20.0)))
    if bands[-1].up_to_kwp is not None:
        raise ValueError("parameters: the last price band must have up_to_kwp: null")
    return tuple(bands)


def _number(raw: Mapping[str, Any], path: str, low: float, high: float) -> float:
    return checked_number(_value(raw, *path.split(".")), path, low, high)


def _parameters(raw: Mapping[str, Any]) -> Parameters:
    schedule = _fraction_map(_value(raw, "fio_b", "schedule"), "fio_b.schedule")
    connection = _value(raw, "default_connection")
    if connection not in CONNECTIONS:
        raise ValueError(f"parameters: default_connection must be one of {CONNECTIONS}")
    icms = _fraction_map(_value(raw, "taxes", "icms_by_uf"), "taxes.icms_by_uf")
    if set(icms) - set(UFS):
        raise ValueError(f"parameters: unknown UF in taxes.icms_by_uf: {sorted(set(icms) - set(UFS))}")
    start = _value(raw, "start_year")
    return Parameters(
        performance_ratio=_number(raw, "generation.performance_ratio", 0.3, 1.0),
        days_per_month=_number(raw, "generation.days_per_month", 28.0, 31.0),
        module_power_w=_number(raw, "module.power_w", 100.0, 1000.0),
        module_area_m2=_number(raw, "module.area_m2", 0.5, 5.0),
        degradation_first_year=_number(raw, "degradation.first_year", 0.0, 0.1),
        degradation_per_year=_number(raw, "degradation.per_year_after", 0.0, 0.02),
        tariff_increase_per_year=_number(raw, "tariff_increase_per_year", -0.1, 0.3),
        price_bands=_bands(raw),
        fio_b_schedule={int(year): share for year, share in schedule.items()},
        fio_b_after_schedule=_number(raw, "fio_b.after_schedule", 0.0, 1.0),
        fio_b_share_of_tusd=_number(raw, "fio_b.share_of_tusd", 0.0, 1.0),
        minimum_billing_kwh={c: _number(raw, f"minimum_billing_kwh.{c}", 0.0, 1000.0) for c in CONNECTIONS},
        default_connection=connection,
        pis_cofins=_number(raw, "taxes.pis_cofins", 0.0, 0.2),
        icms_by_uf={str(uf): rate for uf, rate in icms.items()},
        icms_default=_number(raw, "taxes.icms_default", 0.0, 0.4),
        public_lighting_brl=_number(raw, "public_lighting_brl", 0.0, 1000.0),
        horizon_years=int(_number(raw, "horizon_years", 1, 40)),
        start_year=None if start is None else int(checked_number(start, "start_year", 2023, 2100)),
        max_monthly_kwh=_number(raw, "limits.max_monthly_kwh", 1.0, 1e7),
        max_monthly_bill_brl=_number(raw, "limits.max_monthly_bill_brl", 1.0, 1e7),
    )


@lru_cache(maxsize=8)
def _load_parameters(path: str) -> Parameters:
    return _parameters(read_mapping(Path(path)))


def load_parameters(path: Optional[str] = None) -> Parameters:
    """parameters.yml, or the file named by SIMULATION_PARAMETERS_FILE, or ``path``."""
    return _load_parameters(path or os.environ.get(PARAMETERS_FILE_ENV) or str(DATA_DIR / "parameters.yml"))


