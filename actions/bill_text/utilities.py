"""Which distribuidora issued a bill, from the names and brands in distribuidoras.yml."""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

from actions.bill_text.tables import load_table
from sdr.text import fold

__all__ = ["GROUP_BY_STATE", "UTILITIES", "Utility", "find_utility"]

_FILE = "distribuidoras.yml"


@dataclass(frozen=True)
class Utility:
    name: str  # canonical, as stored in the `utility` slot
    spellings: tuple[str, ...]  # folded phrases that name it and no other


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _load_utilities() -> tuple[Utility, ...]:
    entries = load_table(_FILE).get("distribuidoras")
    if not isinstance(entries, list):
        raise ValueError(f"{_FILE}: 'distribuidoras' must be a list")
    utilities = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not _is_str_list(
            entry.get("spellings")
        ):
            raise ValueError(f"{_FILE}: each distribuidora needs a name and a list of spellings ({entry!r})")
        utilities.append(Utility(entry["name"], tuple(entry["spellings"])))
    return tuple(utilities)


def _load_brands() -> dict[str, Mapping[str, str]]:
    brands = load_table(_FILE).get("brands_by_state")
    if not isinstance(brands, dict) or not all(_is_str_map(by_state) for by_state in brands.values()):
        raise ValueError(f"{_FILE}: 'brands_by_state' must map each brand to {{UF: name}}")
    return {brand: dict(by_state) for brand, by_state in brands.items()}


# Distribuidoras with the names their bills and customers use (old names included:
# bills and people keep them for years). Only unambiguous spellings here; brand
# names shared by several concessions are in GROUP_BY_STATE.
UTILITIES: Sequence[Utility] = _load_utilities()

# A brand alone ("ENEL", "Energisa") names a utility only together with the state of the bill.
GROUP_BY_STATE: Mapping[str, Mapping[str, str]] = _load_brands()


def _utility_key(text: str) -> str:
    """Folded text with OCR look-alikes merged and punctuation dropped, for name lookup."""
    merged = fold(text).translate(str.maketrans("01l|!5", "oiiiis"))
    return " " + re.sub(r"[^a-z0-9]+", " ", merged).strip() + " "


_UTILITY_KEYS: Sequence[tuple[str, str]] = sorted(
    ((_utility_key(spelling), u.name) for u in UTILITIES for spelling in u.spellings),
    key=lambda pair: len(pair[0]),
    reverse=True,
)


def find_utility(text: str, state: Optional[str]) -> Optional[str]:
    """The canonical name of the distribuidora `text` names most often (first named on a tie).

    A brand shared by several concessions ("Energisa") counts only with the bill's `state`.
    """
    key = _utility_key(text)
    hits: Counter[str] = Counter()
    first_at: dict[str, int] = {}
    taken = [False] * len(key)
    for spelling, name in _UTILITY_KEYS:  # longest first: "energisa mato grosso do sul" before "... grosso"
        for m in re.finditer(re.escape(spelling), key):
            if any(taken[m.start() + 1:m.end() - 1]):
                continue
            for k in range(m.start() + 1, m.end() - 1):
                taken[k] = True
            hits[name] += 1
            first_at.setdefault(name, m.start())
    if hits:
        return min(hits, key=lambda name: (-hits[name], first_at[name]))
    if state is None:
        return None
    for brand, by_state in GROUP_BY_STATE.items():
        if f" {_utility_key(brand).strip()} " in key and state in by_state:
            return by_state[state]
    return None
