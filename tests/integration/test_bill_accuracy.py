"""Field accuracy of the bill reader over generated bills: every layout, several
utilities, photos with noise/blur/rotation/low resolution/JPEG, PDFs with and
without a text layer. Prints a per-field table; needs Tesseract (`por`) and the
DejaVu fonts (`make setup` installs both)."""
from __future__ import annotations

import os
import shutil
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from actions.bill import BillError, read_bill
from actions.bill_text import FIELDS, BillFacts
from scripts.tables import format_table
from tests.bills import LAYOUTS, Sample, compare, fonts_missing, sample_corpus

CORPUS_SIZE = 36
CORPUS_SEED = 2025
MIN_OVERALL_ACCURACY = 0.90
MIN_FIELD_ACCURACY = 0.75  # no single field may collapse behind a good average
MAX_WRONG_SHARE = 0.05  # answers that are present but wrong: worse than a missing one
MIN_UTILITIES = 8
# OCR runs as a child process: two at a time use both cores of the test machine.
WORKERS = min(2, os.cpu_count() or 1)


@pytest.fixture(scope="module")
def corpus() -> list[Sample]:
    problems = [fonts_missing()] if fonts_missing() else []
    if shutil.which("tesseract") is None:
        problems.append("Tesseract is not installed: apt-get install -y tesseract-ocr tesseract-ocr-por")
    if problems:
        pytest.fail("; ".join(problems) + " (or run `make setup`)", pytrace=False)
    return sample_corpus(CORPUS_SIZE, CORPUS_SEED)


def _read(sample: Sample) -> BillFacts:
    try:
        return read_bill(sample.data).facts
    except BillError:
        return BillFacts()


def test_the_corpus_covers_what_the_reader_meets(corpus: list[Sample]) -> None:
    assert len(corpus) >= 30
    assert {s.layout for s in corpus} == set(LAYOUTS) and len(LAYOUTS) >= 4
    assert {s.kind for s in corpus} == {"image", "pdf_text", "pdf_scan"}
    assert len({s.expected.utility for s in corpus}) >= MIN_UTILITIES
    degraded = [s.degradations for s in corpus if s.kind != "pdf_text"]
    assert any(d.noise for d in degraded) and any(d.blur for d in degraded)
    assert any(d.rotation for d in degraded) and any(d.dpi < 150 for d in degraded)
    assert any(d.jpeg_quality for d in degraded)


def test_the_corpus_is_deterministic() -> None:
    first = sample_corpus(3, CORPUS_SEED)
    again = sample_corpus(3, CORPUS_SEED)
    assert [s.data for s in first] == [s.data for s in again]


def test_field_accuracy(corpus: list[Sample], capsys: pytest.CaptureFixture[str]) -> None:
    with ThreadPoolExecutor(WORKERS) as pool:
        readings = list(pool.map(_read, corpus))
    checks = [compare(sample.expected, got) for sample, got in zip(corpus, readings)]
    per_field = {name: sum(c[name] for c in checks) / len(checks) for name in FIELDS}
    overall = sum(per_field.values()) / len(per_field)
    wrong = Counter(
        name for got, c in zip(readings, checks) for name in FIELDS
        if not c[name] and getattr(got, name) is not None
    )
    wrong_share = sum(wrong.values()) / (len(checks) * len(FIELDS))

    rows = [[name, f"{per_field[name]:.3f}", wrong[name]] for name in FIELDS]
    rows.append(["overall", f"{overall:.3f}", sum(wrong.values())])
    with capsys.disabled():
        print(f"\n\nbill reader, {len(corpus)} generated documents "
              f"({dict(Counter(s.kind for s in corpus))}):")
        print(format_table(["field", "accuracy", "wrong (not missing)"], rows))

    assert overall >= MIN_OVERALL_ACCURACY
    assert min(per_field.values()) >= MIN_FIELD_ACCURACY, per_field
    assert wrong_share <= MAX_WRONG_SHARE, wrong
