"""Simulation chart benchmark: how long actions/simulation_chart.py takes to draw the PNG a
qualified lead receives (matplotlib, Agg), the first render (fonts loaded) apart from the rest."""
from __future__ import annotations

import time

from actions.simulation_chart import render_chart
from bench.results_io import latency_summary, timed, write_results
from scripts.procs import ROOT
from scripts.tables import format_table
from sdr.simulation.simulator import SimulationRequest, simulate

RENDERS = 20


def main() -> None:
    sim = simulate(SimulationRequest(state="MG", city="Belo Horizonte", monthly_kwh=500, start_year=2026))
    started = time.perf_counter()
    png = render_chart(sim, "Carlos")
    first_ms = round((time.perf_counter() - started) * 1000, 1)
    stats = latency_summary(timed(RENDERS, lambda _: render_chart(sim, "Carlos"), "renders"))
    print(format_table(["first render, ms", "p50, ms", "p95, ms", "PNG, KB"],
                       [[first_ms, stats["p50_ms"], stats["p95_ms"], round(len(png) / 1024)]]))
    path = write_results("chart", {"first_ms": first_ms, **stats, "png_bytes": len(png)})
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
