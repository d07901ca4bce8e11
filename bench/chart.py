"""Simulation chart benchmark: how long actions/simulation_chart.py takes to draw the PNG a
qualified lead receives (matplotlib, Agg), the first render (fonts loaded) apart from the rest."""
from __future__ import annotations

import statistics
import time

from actions.simulation_chart import render_chart
from bench.results_io import write_results
from scripts.procs import ROOT
from sdr.simulation.simulator import SimulationRequest, simulate

RENDERS = 20


def main() -> None:
    sim = simulate(SimulationRequest(state="MG", city="Belo Horizonte", monthly_kwh=500, start_year=2026))
    started = time.perf_counter()
    png = render_chart(sim, "Carlos")
    first_ms = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(RENDERS):
        started = time.perf_counter()
        render_chart(sim, "Carlos")
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p50, p95 = statistics.median(times), times[int(0.95 * (len(times) - 1))]
    print("| first render | p50 | p95 | PNG size |\n|---|---|---|---|")
    print(f"| {first_ms:.0f} ms | {p50:.0f} ms | {p95:.0f} ms | {len(png) / 1024:.0f} KB |")
    path = write_results("chart", {"renders": RENDERS, "first_ms": round(first_ms, 1), "p50_ms": round(p50, 1),
                                   "p95_ms": round(p95, 1), "png_bytes": len(png)})
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
