"""Reads the parsers' word lists from the YAML files beside this module, once each.

Every accessor checks the shape of what it returns: YAML 1.1 reads an unquoted ``no``,
``yes``, ``on`` or ``off`` as a boolean, and a word list holding ``False`` instead of
"no" would silently stop matching, so a non-string item fails loudly at import instead.
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

__all__ = ["int_map", "load_table", "phrase_tuples", "str_map", "word_list", "word_set"]

TABLES_DIR = Path(__file__).parent


@cache
def load_table(name: str) -> Mapping[str, Any]:
    """The top-level mapping of ``sdr/parsing/<name>``; parsed once per process."""
    path = TABLES_DIR / name
    with path.open(encoding="utf-8") as handle:
        table = yaml.safe_load(handle)
    if not isinstance(table, dict):
        raise ValueError(f"{path.name}: expected a mapping at the top level")
    return table


def _entry(name: str, key: str) -> Any:
    table = load_table(name)
    if key not in table:
        raise KeyError(f"{name}: missing {key!r}")
    return table[key]


def word_list(name: str, key: str) -> tuple[str, ...]:
    """A list of strings, in file order."""
    items = _entry(name, key)
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError(f"{name}: {key!r} must be a list of strings (quote yes/no/on/off)")
    return tuple(items)


def word_set(name: str, key: str) -> frozenset[str]:
    return frozenset(word_list(name, key))


def phrase_tuples(name: str, key: str) -> tuple[tuple[str, ...], ...]:
    """Each phrase split into its words, in file order (order can matter to the reader)."""
    return tuple(tuple(phrase.split()) for phrase in word_list(name, key))


def str_map(name: str, key: str) -> dict[str, str]:
    items = _entry(name, key)
    if not isinstance(items, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in items.items()
    ):
        raise ValueError(f"{name}: {key!r} must map strings to strings (quote yes/no/on/off)")
    return dict(items)


def int_map(name: str, key: str) -> dict[str, int]:
    items = _entry(name, key)
    if not isinstance(items, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in items.items()
    ):
        raise ValueError(f"{name}: {key!r} must map strings to integers")
    return dict(items)
