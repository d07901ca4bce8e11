"""The gazetteer of Brazilian cities and states (sdr/data/br_cities.yml) as a lookup
table from folded word sequences to the city and/or state they name.

Loading also validates it: a phrase with two meanings or a city in an unknown UF
raises ValueError instead of silently misplacing leads.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

import yaml

from sdr.parsing.chat_text import TOKEN_RE
from sdr.text import fold

__all__ = ["GAZETTEER_PATH", "City", "Entry", "Gazetteer", "load_gazetteer"]

# The gazetteer is shared data of the sdr package (actions/bill_text.py reads it too),
# so it lives in sdr/data/, not beside this module.
GAZETTEER_PATH = Path(__file__).parent.parent / "data" / "br_cities.yml"


@dataclass(frozen=True)
class City:
    name: str
    ufs: tuple[str, ...]  # more than one: the name exists in several states
    weak: bool  # also an everyday word; needs a place cue


@dataclass(frozen=True)
class Entry:
    city: Optional[City] = None
    uf: Optional[str] = None  # the phrase (also) names this state


@dataclass(frozen=True)
class Gazetteer:
    entries: Mapping[tuple[str, ...], Entry]
    max_words: int


def _key(text: str) -> tuple[str, ...]:
    return tuple(fold(w) for w in TOKEN_RE.findall(unicodedata.normalize("NFC", text)))


@lru_cache(maxsize=4)
def load_gazetteer(path: Path = GAZETTEER_PATH) -> Gazetteer:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    states: Mapping[str, str] = raw["states"]
    weak = {_key(name) for name in raw.get("weak_names") or ()}
    entries: dict[tuple[str, ...], Entry] = {}

    def add(phrase: str, *, city: Optional[City] = None, uf: Optional[str] = None) -> None:
        key = _key(phrase)
        old = entries.get(key, Entry())
        if (city and old.city and old.city != city) or (uf and old.uf and old.uf != uf):
            raise ValueError(f"{path.name}: {phrase!r} has two meanings")
        entries[key] = Entry(city=city or old.city, uf=uf or old.uf)

    cities: dict[str, City] = {}
    for name, ufs in raw["cities"].items():
        ufs = (ufs,) if isinstance(ufs, str) else tuple(ufs)
        unknown = set(ufs) - set(states)
        if unknown:
            raise ValueError(f"{path.name}: {name!r} has unknown UF {unknown}")
        cities[name] = City(name, ufs, _key(name) in weak)
        add(name, city=cities[name])
    for alias, target in (raw.get("city_aliases") or {}).items():
        city = cities[target]
        add(alias, city=City(city.name, city.ufs, _key(alias) in weak))
    for uf, name in states.items():
        add(uf, uf=uf)
        add(name, uf=uf)
    for alias, uf in (raw.get("state_aliases") or {}).items():
        add(alias, uf=uf)
    return Gazetteer(entries, max(len(k) for k in entries))
