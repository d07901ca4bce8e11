"""How figures are written for the lead: Brazilian notation."""
from __future__ import annotations


def format_brl(value: float) -> str:
    """R$ in Brazilian notation: 1234.5 -> "R$ 1.234,50"."""
    text = f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"R$ {text}"
