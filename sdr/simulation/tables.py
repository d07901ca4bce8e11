"""Where the simulation's figures come from: tariffs per distribuidora (tariffs.yml) and the sun
per state (irradiation.yml), beside this module, with the parameters (parameters.py).

Loading checks shapes and ranges: a bad row fails loudly at load, not as a wrong simulation.
"""
from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Optional

from sdr.simulation.parameters import DATA_DIR, Parameters, checked_number, load_parameters, read_mapping
from sdr.text import fold
from sdr.vocabulary import UFS

__all__ = [
    "SimulationData",
    "SolarResource",
    "Tariff",
    "TariffChoice",
    "TariffTable",
    "load_data",
]


@dataclass(frozen=True)
class Tariff:
    utility: str
    uf: str
    te_plus_tusd: float  # R$/kWh without taxes
    tusd: Optional[float]  # only where the source splits TE and TUSD
    as_of: str
    source: str
    aliases: tuple[str, ...] = ()  # other spellings (the source's)


@dataclass(frozen=True)
class TariffChoice:
    utility: str
    te_plus_tusd: float
    tusd: float  # the source's, or te_plus_tusd × the median TUSD share
    source: str  # "table" or "median"
    as_of: Optional[str]


@dataclass(frozen=True)
class TariffTable:
    tariffs: tuple[Tariff, ...]
    default_by_state: Mapping[str, str]

    @property
    def median(self) -> float:
        return float(statistics.median(t.te_plus_tusd for t in self.tariffs))

    @property
    def median_tusd_share(self) -> float:
        return float(statistics.median(t.tusd / t.te_plus_tusd for t in self.tariffs if t.tusd is not None))

    def find(self, utility: str) -> Optional[Tariff]:
        key = fold(utility)
        return next((t for t in self.tariffs if key in {fold(n) for n in (t.utility, *t.aliases)}), None)

    def choose(self, utility: Optional[str], state: str) -> TariffChoice:
        """The lead's distribuidora, else the state's default; the table's median when it has no row."""
        name = utility or self.default_by_state.get(state) or f"distribuidora ({state})"
        found = self.find(name)
        if found:
            tusd = found.tusd if found.tusd is not None else found.te_plus_tusd * self.median_tusd_share
            return TariffChoice(found.utility, found.te_plus_tusd, tusd, "table", found.as_of)
        median = self.median
        return TariffChoice(name, median, median * self.median_tusd_share, "median", None)


@dataclass(frozen=True)
class SolarResource:
    uf: str
    hsp: float  # kWh/m²/day, the state's
    capital: str
    capital_hsp: float

    def for_city(self, city: Optional[str]) -> tuple[float, str]:
        """Peak sun hours and their basis: the capital's value for the capital, else the state's."""
        if city and fold(city) == fold(self.capital):
            return self.capital_hsp, "capital"
        return self.hsp, "state"


@dataclass(frozen=True)
class SimulationData:
    tariffs: TariffTable
    sun: Mapping[str, SolarResource]
    parameters: Parameters


def _tariffs(raw: Mapping[str, Any]) -> TariffTable:
    rows = []
    for item in raw.get("tariffs") or ():
        what = f"tariffs.yml {item.get('utility')!r}"
        if item.get("uf") not in UFS or not item.get("source") or not item.get("as_of"):
            raise ValueError(f"{what}: needs a known uf, a source and an as_of")
        total = checked_number(item.get("te_plus_tusd"), what, 0.1, 5.0)
        tusd = item.get("tusd")
        rows.append(Tariff(
            utility=str(item["utility"]), uf=item["uf"], te_plus_tusd=total,
            tusd=None if tusd is None else checked_number(tusd, f"{what} tusd", 0.0, total),
            as_of=str(item["as_of"]), source=str(item["source"]),
            aliases=(str(item["name_in_source"]),) if item.get("name_in_source") else (),
        ))
    if not rows:
        raise ValueError("tariffs.yml: no tariffs")
    defaults = dict(raw.get("default_by_state") or {})
    if sorted(defaults) != sorted(UFS):
        raise ValueError("tariffs.yml: default_by_state must name a distribuidora for each of the 27 UFs")
    return TariffTable(tuple(rows), defaults)


def _sun(raw: Mapping[str, Any]) -> dict[str, SolarResource]:
    by_uf = raw.get("by_uf") or {}
    if sorted(by_uf) != sorted(UFS) or not raw.get("source") or not raw.get("year"):
        raise ValueError("irradiation.yml: needs a source, a year and the 27 UFs")
    return {
        uf: SolarResource(uf, checked_number(row["hsp"], f"hsp {uf}", 2.0, 8.0), str(row["capital"]),
                          checked_number(row["capital_hsp"], f"capital_hsp {uf}", 2.0, 8.0))
        for uf, row in by_uf.items()
    }


@lru_cache(maxsize=1)
def _load_places() -> tuple[TariffTable, Mapping[str, SolarResource]]:
    return _tariffs(read_mapping(DATA_DIR / "tariffs.yml")), _sun(read_mapping(DATA_DIR / "irradiation.yml"))


def load_data(parameters_path: Optional[str] = None) -> SimulationData:
    tariffs, sun = _load_places()
    return SimulationData(tariffs, sun, load_parameters(parameters_path))
