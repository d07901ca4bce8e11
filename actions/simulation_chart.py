"""The simulation as a picture for WhatsApp: cumulative savings against the investment over the
horizon, with the payback marked (PNG bytes, matplotlib's Agg canvas, no pyplot, no network).

Drawn on a Figure of its own (no global pyplot state), so renders may run in worker threads.
"""
from __future__ import annotations

import io
from typing import Optional

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from PIL import Image

from actions.simulation_text import chart_footnote
from sdr.formatting import format_number, format_reais
from sdr.simulation import Simulation

__all__ = ["PNG_SIGNATURE", "render_chart"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SIZE_IN = (9.0, 6.0)
DPI = 120  # 1080 × 720 px: sharp on a phone
# A flat chart needs few colours: a 64-colour palette looks the same at a quarter of the bytes
# (~25 KB instead of ~95 KB), and the base64 travels in the reply and stays in the tracker.
PALETTE_COLOURS = 64
GREEN, GREEN_FILL = "#15803d", "#bbf7d0"
ORANGE, ORANGE_FILL = "#c2410c", "#fed7aa"
INK, MUTED, GRID = "#0f172a", "#475569", "#e2e8f0"


def _plain(text: str) -> str:
    """Text shown as typed: a pair of "$" would otherwise start matplotlib's math mode."""
    return text.replace("$", r"\$")


def _brl_axis(value: float, _position: float) -> str:
    if abs(value) >= 1_000_000:
        return _plain(f"R$ {format_number(value / 1_000_000)} mi")
    if abs(value) >= 1000:
        return _plain(f"R$ {format_number(value / 1000, 0)} mil")
    return _plain(f"R$ {format_number(value, 0)}")


def _money_short(value: float) -> str:
    return _brl_axis(value, 0) if value >= 10_000 else _plain(format_reais(value, 10))


def render_chart(sim: Simulation, name: Optional[str] = None) -> bytes:
    sizing, savings = sim.sizing, sim.savings
    years = list(range(len(savings.years) + 1))
    cumulative = [0.0] + [y.cumulative_brl for y in savings.years]
    low, high, middle = sizing.investment_min_brl, sizing.investment_max_brl, sizing.investment_brl

    fig = Figure(figsize=SIZE_IN, dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.11, 0.2, 0.85, 0.62))
    title = f"Simulação solar de {name}" if name else "Sua simulação solar"
    fig.text(0.03, 0.94, _plain(title), fontsize=17, fontweight="bold", color=INK)
    fig.text(0.03, 0.885, _plain(
        f"{format_number(sizing.kwp, 2)} kWp · {sizing.modules} módulos · "
        f"~{format_number(sizing.monthly_generation_kwh, 0)} kWh/mês · "
        f"economia de ~{format_reais(savings.monthly_savings_brl)}/mês"
    ), fontsize=11, color=MUTED)

    ax.fill_between(years, cumulative, color=GREEN_FILL, alpha=0.6, linewidth=0)
    ax.plot(years, cumulative, color=GREEN, linewidth=2.6, label="Economia acumulada")
    ax.axhspan(low, high, color=ORANGE_FILL, alpha=0.8, linewidth=0)
    ax.axhline(middle, color=ORANGE, linewidth=1.8, linestyle="--",
               label=_plain(f"Investimento ({format_reais(low, 100)} a {format_reais(high, 100)})"))

    if savings.payback_years is not None:
        x = savings.payback_years
        ax.axvline(x, color=INK, linewidth=1, linestyle=":")
        ax.plot([x], [middle], marker="o", markersize=9, color=INK, zorder=5)
        late = x > 0.6 * years[-1]  # label to the left and below, away from the end label and the edge
        ax.annotate(
            _plain(f"Retorno em ~{format_number(x)} anos"), xy=(x, middle),
            xytext=(-14, -44) if late else (14, 36), textcoords="offset points", ha="right" if late else "left",
            fontsize=12, fontweight="bold", color=INK,
            bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": GRID},
            arrowprops={"arrowstyle": "-", "color": INK, "linewidth": 0.8},
        )
    else:
        ax.text(0.5, 0.5, f"Sem retorno em {years[-1]} anos nesta estimativa", transform=ax.transAxes,
                ha="center", fontsize=12, fontweight="bold", color=INK)
    ax.annotate(
        f"{_money_short(savings.total_brl)}\nem {years[-1]} anos", xy=(years[-1], cumulative[-1]),
        xytext=(-6, 8), textcoords="offset points", ha="right", va="bottom",
        fontsize=12, fontweight="bold", color=GREEN,
    )

    ax.set_xlim(0, years[-1])
    ax.set_ylim(0, max(cumulative[-1], high) * 1.22)
    ax.set_xlabel("Anos", color=MUTED)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax.yaxis.set_major_formatter(FuncFormatter(_brl_axis))
    ax.grid(True, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(colors=MUTED)
    ax.legend(loc="upper left", frameon=False, fontsize=10)
    fig.text(0.03, 0.03, _plain(chart_footnote(sim)), fontsize=8, color=MUTED, va="bottom", wrap=True)

    rendered = io.BytesIO()
    fig.savefig(rendered, format="png", dpi=DPI, facecolor="white")
    rendered.seek(0)
    out = io.BytesIO()
    Image.open(rendered).convert("RGB").quantize(colors=PALETTE_COLOURS).save(out, format="PNG", optimize=True)
    return out.getvalue()
