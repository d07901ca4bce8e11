"""The bill reader's word lists and label tables, from the YAML files beside this module
(loaded and shape-checked by sdr/tables.py)."""
from __future__ import annotations

from pathlib import Path

from sdr.tables import DataTables

__all__ = ["DATA_DIR", "int_map", "load_table", "str_list", "str_map"]

DATA_DIR = Path(__file__).resolve().parent
_TABLES = DataTables(DATA_DIR)

load_table = _TABLES.load_table
str_list = _TABLES.word_list
str_map = _TABLES.str_map
int_map = _TABLES.int_map
