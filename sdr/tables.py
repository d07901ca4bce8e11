"""Word lists and label tables kept in YAML beside the code that reads them, loaded once.

Every accessor checks the shape of what it returns: YAML 1.1 reads an unquoted ``no``,
``yes``, ``on`` or ``off`` as a boolean, and a word list holding ``False`` instead of "no"
would silently stop matching, so a wrong type fails loudly at import instead.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = ["DataTables"]


class DataTables:
    """The YAML tables of one directory (``DataTables(Path(__file__).parent)``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._loaded: dict[str, Mapping[str, Any]] = {}

    def load_table(self, name: str) -> Mapping[str, Any]:
        """The top-level mapping of ``<directory>/<name>``; parsed once per process."""
        table = self._loaded.get(name)
        if table is None:
            path = self.directory / name
            table = yaml.safe_load(path.read_text(encoding="utf-8"))
            if not isinstance(table, dict):
                raise ValueError(f"{path.name}: expected a mapping at the top level")
            self._loaded[name] = table
        return table

    def _entry(self, name: str, key: str) -> Any:
        table = self.load_table(name)
        if key not in table:
            raise KeyError(f"{name}: missing {key!r}")
        return table[key]

    def word_list(self, name: str, key: str) -> tuple[str, ...]:
        """A list of strings, in file order."""
        items = self._entry(name, key)
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ValueError(f"{name}: {key!r} must be a list of strings (quote yes/no/on/off)")
        return tuple(items)

    def word_set(self, name: str, key: str) -> frozenset[str]:
        return frozenset(self.word_list(name, key))

    def phrase_tuples(self, name: str, key: str) -> tuple[tuple[str, ...], ...]:
        """Each phrase split into its words, in file order (order can matter to the reader)."""
        return tuple(tuple(phrase.split()) for phrase in self.word_list(name, key))

    def str_map(self, name: str, key: str) -> dict[str, str]:
        """A mapping of strings to strings, in file order."""
        items = self._entry(name, key)
        if not isinstance(items, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in items.items()
        ):
            raise ValueError(f"{name}: {key!r} must map strings to strings (quote yes/no/on/off)")
        return dict(items)

    def int_map(self, name: str, key: str) -> dict[str, int]:
        """A mapping of strings to integers, in file order."""
        items = self._entry(name, key)
        if not isinstance(items, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in items.items()
        ):
            raise ValueError(f"{name}: {key!r} must map strings to integers")
        return dict(items)
