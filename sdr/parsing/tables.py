"""The parsers' word lists, from the YAML files beside this module (sdr/tables.py)."""
from __future__ import annotations

from pathlib import Path

from sdr.tables import DataTables

__all__ = ["TABLES_DIR", "int_map", "load_table", "phrase_tuples", "str_map", "word_list", "word_set"]

TABLES_DIR = Path(__file__).parent
_TABLES = DataTables(TABLES_DIR)

load_table = _TABLES.load_table
word_list = _TABLES.word_list
word_set = _TABLES.word_set
phrase_tuples = _TABLES.phrase_tuples
str_map = _TABLES.str_map
int_map = _TABLES.int_map
