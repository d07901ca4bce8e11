"""How figures are written for the lead: Brazilian notation."""
from __future__ import annotations


def format_number(value: float, places: int = 1) -> str:
    """Brazilian notation: 1234.5 -> "1.234,5"."""
    return f"{value:,.{places}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def format_reais(value: float, step: int = 1) -> str:
    """Whole reais rounded to ``step``, for estimates: format_reais(9586.5, 100) -> "R$ 9.600"."""
    return format_brl(round(value / step) * step, places=0)


def format_brl(value: float, places: int = 2) -> str:
    """R$ in Brazilian notation: 1234.5 -> "R$ 1.234,50"; with places=0, "R$ 1.234"."""
    return f"R$ {format_number(value, places)}"
