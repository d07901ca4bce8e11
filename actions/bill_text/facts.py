"""The result of reading a bill: `BillFacts`, one optional value per fact."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Optional

__all__ = ["FIELDS", "BillFacts"]


@dataclass(frozen=True)
class BillFacts:
    """What `python -m actions.bill` prints; `None` for a fact the bill did not yield."""

    total_brl: Optional[float] = None
    kwh: Optional[float] = None
    utility: Optional[str] = None  # canonical name, e.g. "CEMIG", "Enel SP"
    due_date: Optional[str] = None  # ISO, "2025-11-17"
    reference_month: Optional[str] = None  # "2025-10"
    customer_class: Optional[str] = None  # see finders.CUSTOMER_CLASSES
    connection_type: Optional[str] = None  # "monofasico" | "bifasico" | "trifasico"
    city: Optional[str] = None
    state: Optional[str] = None  # UF
    holder_name: Optional[str] = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


FIELDS: tuple[str, ...] = tuple(BillFacts.__dataclass_fields__)
