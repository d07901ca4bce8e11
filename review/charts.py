"""Charts as inline SVG strings (no script, nothing fetched). Every label that
reaches the SVG is escaped here, since the result is inserted as markup."""
from __future__ import annotations

from html import escape
from typing import List, Sequence

from review.leads import FUNNEL_STAGES, FunnelWeek

COLOURS = ("#94a3b8", "#60a5fa", "#34d399", "#f97316")


def funnel_svg(weeks: Sequence[FunnelWeek], width: int = 720, height: int = 260) -> str:
    if not weeks:
        return '<p class="muted">Sem conversas ainda.</p>'
    top, bottom, left = 20, 50, 40
    plot_h = height - top - bottom
    peak = max(max(w.counts) for w in weeks) or 1
    group = (width - left) / len(weeks)
    bar = max(4.0, group / 5)
    parts: List[str] = [f'<svg class="chart" role="img" aria-label="Funil semanal" viewBox="0 0 {width} {height}" '
                        f'xmlns="http://www.w3.org/2000/svg">']
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}" stroke="#cbd5e1"/>')
    parts.append(f'<text x="4" y="{top + 8}" class="axis">{peak}</text>')
    for i, week in enumerate(weeks):
        x0 = left + i * group + bar / 2
        for j, count in enumerate(week.counts):
            h = plot_h * count / peak
            x = x0 + j * bar
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[j]}"><title>{escape(week.week)} {escape(FUNNEL_STAGES[j])}: {count}</title></rect>'
            )
        parts.append(f'<text x="{x0:.1f}" y="{top + plot_h + 16}" class="axis">{escape(week.week[5:])}</text>')
    for j, stage in enumerate(FUNNEL_STAGES):
        x = left + j * 150
        parts.append(f'<rect x="{x}" y="{height - 18}" width="10" height="10" fill="{COLOURS[j]}"/>'
                     f'<text x="{x + 14}" y="{height - 9}" class="axis">{escape(stage)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def histogram_svg(counts: Sequence[int], width: int = 720, height: int = 220) -> str:
    if not any(counts):
        return '<p class="muted">Nenhuma mensagem classificada ainda.</p>'
    top, bottom, left = 20, 30, 40
    plot_h = height - top - bottom
    peak = max(counts)
    bar = (width - left) / len(counts)
    parts: List[str] = [f'<svg class="chart" role="img" aria-label="Histograma de confiança" '
                        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    parts.append(f'<text x="4" y="{top + 8}" class="axis">{peak}</text>')
    for i, count in enumerate(counts):
        h = plot_h * count / peak
        low, high = i / len(counts), (i + 1) / len(counts)
        colour = "#f87171" if high <= 0.6 else "#60a5fa"
        parts.append(
            f'<rect x="{left + i * bar + 1:.1f}" y="{top + plot_h - h:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" '
            f'fill="{colour}"><title>{low:.1f}–{high:.1f}: {count}</title></rect>'
            f'<text x="{left + i * bar + 4:.1f}" y="{height - 10}" class="axis">{low:.1f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
