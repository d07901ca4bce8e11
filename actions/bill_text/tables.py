"""Reads the bill reader's word lists and label tables from the YAML files beside this module.

Each file is parsed once per process. Every accessor checks the shape of what it returns:
YAML 1.1 reads an unquoted ``no``, ``on`` or ``off`` as a boolean, and a word list holding
``False`` would silently stop matching, so a wrong type fails loudly at import instead.
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

__all__ = ["DATA_DIR", "int_map", "load_table", "str_list", "str_map"]

DATA_DIR = Path(__file__).resolve().parent


@cache
def load_table(name: str) -> Mapping[str, Any]:
    """The top-level mapping of ``actions/bill_text/<name>``."""
    path = DATA_DIR / name
    table = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(table, dict):
        raise ValueError(f"{path.name}: expected a mapping at the top level")
    return table


def _entry(name: str, key: str) -> Any:
    table = load_table(name)
    if key not in table:
        raise KeyError(f"{name}: missing {key!r}")
    return table[key]


def str_list(name: str, key: str) -> tuple[str, ...]:
    """A list of strings, in file order."""
    value = _entry(name, key)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{name}: {key!r} must be a list of strings")
    return tuple(value)


def str_map(name: str, key: str) -> dict[str, str]:
    """A mapping of strings to strings, in file order."""
    value = _entry(name, key)
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"{name}: {key!r} must map strings to strings")
    return dict(value)


def int_map(name: str, key: str) -> dict[str, int]:
    """A mapping of strings to integers, in file order."""
    value = _entry(name, key)
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in value.items()
    ):
        raise ValueError(f"{name}: {key!r} must map strings to integers")
    return dict(value)
