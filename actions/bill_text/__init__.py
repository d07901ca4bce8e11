"""Facts of a Brazilian electricity bill, read from its text (OCR output or a PDF text layer).

Pure: no I/O, no OCR, no Rasa. `actions/bill.py` turns bytes into text and calls
`extract_bill_facts`; the tests feed it text directly.

Bills differ per distribuidora, and OCR adds its own noise, so every reader here:

* matches labels on a *folded* copy of each line (lowercase, no accents, same
  length as the original so positions map back) with OCR look-alikes tolerated
  ("T0TAL", "VENClMENTO", "Mes de referencia");
* reads the value on the label's line, after the label and before the next label
  of the same kind, or else in the next few lines below it, where a header row of
  several labels ("Referente a  Vencimento  Valor a pagar") is matched to its
  row of values by order or by column;
* returns `None` rather than a guess: a missing fact is asked again, a wrong one
  (a tariff read as the total, the utility's head-office city read as the
  customer's) silently corrupts the lead.

The modules, one job each:

* `facts`: the result, `BillFacts`;
* `tables`: the YAML word lists beside the code (`labels.yml`, `words.yml`,
  `distribuidoras.yml`), read once;
* `patterns`: OCR-tolerant regex building blocks and the label patterns;
* `lines`: lines of text and the value a label points at on them;
* `finders`: amounts, dates, months, counts, classes, connection types in a line;
* `fields`: total, kWh, due date, reference month, class, connection type;
* `utilities`: the distribuidora; `holder`: the holder's name; `places`: city and UF;
* `reader`: the entry points.
"""
from __future__ import annotations

from actions.bill_text.facts import FIELDS, BillFacts
from actions.bill_text.finders import CONNECTION_TYPES, CUSTOMER_CLASSES
from actions.bill_text.reader import extract_bill_facts, looks_like_a_bill
from actions.bill_text.utilities import GROUP_BY_STATE, UTILITIES, Utility

__all__ = [
    "CONNECTION_TYPES",
    "CUSTOMER_CLASSES",
    "FIELDS",
    "GROUP_BY_STATE",
    "UTILITIES",
    "BillFacts",
    "Utility",
    "extract_bill_facts",
    "looks_like_a_bill",
]
