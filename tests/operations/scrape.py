"""Reading what the servers expose and log: Prometheus text and JSON log lines."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterator, List, Tuple

import httpx
from prometheus_client.parser import text_string_to_metric_families

SampleKey = Tuple[str, FrozenSet[Tuple[str, str]]]


def scrape(url: str) -> Dict[SampleKey, float]:
    """Every sample of a /metrics page, keyed by name and labels."""
    response = httpx.get(url, timeout=30)
    response.raise_for_status()
    assert response.headers["content-type"].startswith("text/plain")
    samples: Dict[SampleKey, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def delta(before: Dict[SampleKey, float], after: Dict[SampleKey, float], name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


def json_lines(path: Path) -> Iterator[Dict[str, Any]]:
    """The JSON objects of a log file (other lines, such as a native library's
    output on stderr, are skipped: tests that need them check them separately)."""
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:
                continue


def lines_with_request_id(path: Path, request_id: str) -> List[Dict[str, Any]]:
    return [entry for entry in json_lines(path) if entry.get("request_id") == request_id]
