"""NLU benchmark: training time, and parse latency over the held-out test set
through a running Rasa server, beside the same server's cheapest route
(`GET /version`) as the HTTP floor measured in the same run."""
from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path
from typing import List

import httpx
import yaml

from bench.results_io import latency_summary, timed, write_results
from scripts.procs import BIN, REST_ONLY_CREDENTIALS, ROOT, start_rasa_server, write_credentials
from scripts.tables import format_table

TEST_SET = ROOT / "tests" / "nlu_test.yml"
WARMUP_REQUESTS = 10


def held_out_texts() -> List[str]:
    blocks = yaml.safe_load(TEST_SET.read_text(encoding="utf-8"))["nlu"]
    return [
        line[2:].strip()
        for block in blocks
        for line in block["examples"].splitlines()
        if line.startswith("- ")
    ]


def time_training(out_dir: Path) -> float:
    print("training a fresh model (NLU + dialogue) to time it...", flush=True)
    started = time.perf_counter()
    subprocess.run(
        [str(BIN / "rasa"), "train", "--force", "--out", str(out_dir), "--fixed-model-name", "bench"],
        cwd=ROOT, check=True,
    )
    return time.perf_counter() - started


def main() -> None:
    texts = held_out_texts()
    with tempfile.TemporaryDirectory() as tmp:
        training_s = time_training(Path(tmp))
        print("starting a Rasa server with models/current.tar.gz...", flush=True)
        server = start_rasa_server(
            Path(tmp),
            action_url="http://127.0.0.1:9",
            endpoints="endpoints.local.yml",
            credentials=write_credentials(Path(tmp), REST_ONLY_CREDENTIALS),
        )
        try:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                for text in texts[:WARMUP_REQUESTS]:
                    client.post("/model/parse", json={"text": text}).raise_for_status()
                parse = timed(
                    len(texts),
                    lambda i: client.post("/model/parse", json={"text": texts[i]}).raise_for_status(),
                    "parse",
                )
                floor = timed(len(texts), lambda i: client.get("/version").raise_for_status(), "GET /version")
        finally:
            server.stop()

    parse_stats, floor_stats = latency_summary(parse), latency_summary(floor)
    rows = [
        ["training (NLU + dialogue), s", f"{training_s:.1f}", ""],
        ["parse p50, ms", parse_stats["p50_ms"], floor_stats["p50_ms"]],
        ["parse p95, ms", parse_stats["p95_ms"], floor_stats["p95_ms"]],
        ["parse mean, ms", parse_stats["mean_ms"], floor_stats["mean_ms"]],
        ["requests", parse_stats["count"], floor_stats["count"]],
    ]
    print()
    print(format_table(["NLU", "POST /model/parse", "baseline: GET /version"], rows))
    path = write_results(
        "nlu",
        {
            "training_seconds": round(training_s, 1),
            "parse": parse_stats,
            "baseline_http_floor": floor_stats,
            "test_examples": len(texts),
        },
    )
    print(f"\nwritten to {path.relative_to(ROOT)}")
