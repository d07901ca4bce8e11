"""Where benchmark figures go, and the statistics they share."""
from __future__ import annotations

import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def latency_summary(samples_s: List[float]) -> Dict[str, float]:
    millis = [s * 1000 for s in samples_s]
    return {
        "count": len(millis),
        "p50_ms": round(percentile(millis, 0.50), 2),
        "p95_ms": round(percentile(millis, 0.95), 2),
        "p99_ms": round(percentile(millis, 0.99), 2),
        "mean_ms": round(statistics.fmean(millis), 2),
    }


def timed(calls: int, call: Callable[[int], None], label: str) -> List[float]:
    """Times `call(i)` for i in range(calls), printing progress every 50 calls."""
    samples = []
    for i in range(calls):
        started = time.perf_counter()
        call(i)
        samples.append(time.perf_counter() - started)
        if (i + 1) % 50 == 0 or i + 1 == calls:
            print(f"  {label}: {i + 1}/{calls}", flush=True)
    return samples


def write_results(part: str, figures: Dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{part}.json"
    payload = {
        "part": part,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"python": platform.python_version(), "cpus": _cpu_count()},
        **figures,
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _cpu_count() -> int:
    import os

    return os.cpu_count() or 0
