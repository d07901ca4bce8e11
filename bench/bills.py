"""Bill reader benchmark: time per document (p50/p95, by kind) and accuracy per
field over generated bills (photos with phone-camera degradations, PDFs with and
without a text layer). One document at a time, as the action server reads them."""
from __future__ import annotations

import time
from collections import Counter, defaultdict
from typing import Dict, List

from actions.bill import BillError, read_bill
from actions.bill_text import FIELDS, BillFacts
from bench.results_io import latency_summary, write_results
from scripts.procs import ROOT
from scripts.tables import format_table
from tests.bills import Sample, compare, fonts_missing, sample_corpus

DOCUMENTS = 60
SEED = 7
WARMUP_DOCUMENTS = 2  # the first OCR pays for loading Tesseract's model from disk


def _read(sample: Sample) -> tuple[BillFacts, float]:
    started = time.perf_counter()
    try:
        facts = read_bill(sample.data).facts
    except BillError:
        facts = BillFacts()
    return facts, time.perf_counter() - started


def main() -> None:
    problem = fonts_missing()
    if problem:
        raise SystemExit(f"bills benchmark: {problem}")
    print(f"generating {DOCUMENTS} bills (seed {SEED})...", flush=True)
    corpus = sample_corpus(DOCUMENTS, SEED)
    for sample in corpus[:WARMUP_DOCUMENTS]:
        _read(sample)

    seconds: Dict[str, List[float]] = defaultdict(list)
    checks = []
    wrong: Counter = Counter()
    for i, sample in enumerate(corpus):
        facts, elapsed = _read(sample)
        seconds[sample.kind].append(elapsed)
        seconds["all"].append(elapsed)
        check = compare(sample.expected, facts)
        checks.append(check)
        wrong.update(name for name in FIELDS if not check[name] and getattr(facts, name) is not None)
        if (i + 1) % 10 == 0 or i + 1 == len(corpus):
            print(f"  read {i + 1}/{len(corpus)}", flush=True)

    timing = {kind: latency_summary(samples) for kind, samples in seconds.items()}
    accuracy = {name: round(sum(c[name] for c in checks) / len(checks), 3) for name in FIELDS}
    overall = round(sum(accuracy.values()) / len(accuracy), 3)

    print()
    print(format_table(
        ["kind", "documents", "p50, ms", "p95, ms", "mean, ms"],
        [[kind, t["count"], t["p50_ms"], t["p95_ms"], t["mean_ms"]] for kind, t in sorted(timing.items())],
    ))
    print()
    rows = [[name, f"{accuracy[name]:.3f}", wrong[name]] for name in FIELDS]
    rows.append(["overall", f"{overall:.3f}", sum(wrong.values())])
    print(format_table(["field", "accuracy", "wrong (not missing)"], rows))
    path = write_results(
        "bills",
        {
            "documents": len(corpus),
            "seed": SEED,
            "documents_by_kind": dict(Counter(s.kind for s in corpus)),
            "seconds_per_document": timing,
            "field_accuracy": accuracy,
            "overall_accuracy": overall,
            "wrong_not_missing": {name: wrong[name] for name in FIELDS},
        },
    )
    print(f"\nwritten to {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


if __name__ == "__main__":
    main()
