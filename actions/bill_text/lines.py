"""Lines of a bill's text, and the value a label points at on them.

A value is read on the label's line, after the label and before the next label of
the same kind, or else in the next few lines below it, where a header row of several
labels ("Referente a  Vencimento  Valor a pagar") is matched to its row of values by
order or by column.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Optional, TypeVar

from sdr.text import fold_same_length

__all__ = ["Accept", "Finder", "Found", "Line", "split_lines", "value_for_label"]

T = TypeVar("T")

LOOKAHEAD_LINES = 3  # a value printed under its label, past blank lines
COLUMN_SLACK_CHARS = 4  # a value under a label may start or end this far outside it


@dataclass(frozen=True)
class Line:
    raw: str  # NFC text as read
    key: str  # folded, same length as `raw`: positions in one are positions in the other


def split_lines(text: str) -> list[Line]:
    """The non-blank lines of `text`, each with its folded key."""
    text = unicodedata.normalize("NFC", text).replace("\t", "  ")
    return [Line(line, fold_same_length(line)) for line in text.splitlines() if line.strip()]


# A value finder returns (start, end, value) per occurrence in a line.
Found = tuple[int, int, T]
Finder = Callable[[Line], list[Found[T]]]
Accept = Callable[[Line, int, int, Any], bool]


def value_for_label(
    lines: Sequence[Line],
    labels: re.Pattern[str],
    finder: Finder[T],
    row_labels: Optional[re.Pattern[str]] = None,
    *,
    accept: Callable[[Line, int, int, T], bool] = lambda line, start, end, value: True,
    skip_label_lines: Optional[re.Pattern[str]] = None,
) -> Optional[T]:
    """First value found for any occurrence of `labels`, in reading order.

    `row_labels` are all the labels whose values share a type with this one; they
    bound the value on the label's own line and match a header row to its values.
    """
    row_labels = row_labels or labels
    for i, line in enumerate(lines):
        if skip_label_lines is not None and skip_label_lines.search(line.key):
            continue
        for label in labels.finditer(line.key):
            value = _same_line_value(line, label, finder, row_labels, accept)
            if value is None:
                value = _value_below(lines, i, label, finder, row_labels, accept)
            if value is not None:
                return value
    return None


def _same_line_value(
    line: Line, label: re.Match[str], finder: Finder[T], row_labels: re.Pattern[str], accept: Accept,
) -> Optional[T]:
    later_labels = [m.start() for m in row_labels.finditer(line.key) if m.start() >= label.end()]
    stop = min(later_labels, default=len(line.key))
    for start, end, value in finder(line):
        if label.end() <= start < stop and accept(line, start, end, value):
            return value
    return None


def _value_below(
    lines: Sequence[Line],
    i: int,
    label: re.Match[str],
    finder: Finder[T],
    row_labels: re.Pattern[str],
    accept: Accept,
) -> Optional[T]:
    """Value in the rows under a label: by order in a header row, else the nearest column."""
    header = lines[i]
    labels_in_row = _non_overlapping(row_labels.finditer(header.key))
    order = next((k for k, m in enumerate(labels_in_row) if m.start() <= label.start() < m.end()), 0)
    for j in range(i + 1, min(len(lines), i + 1 + LOOKAHEAD_LINES)):
        values = [v for v in finder(lines[j]) if accept(lines[j], *v)]
        if not values:
            if row_labels.search(lines[j].key):
                return None  # another header: this label's value is not below it
            continue
        if len(values) == len(labels_in_row):
            return values[order][2]
        if len(labels_in_row) == 1 and len(values) == 1:
            return values[0][2]
        # Counts differ (a cell OCR lost or merged): only a value in the label's column.
        in_column = [
            v for v in values if v[0] < label.end() + COLUMN_SLACK_CHARS and v[1] > label.start() - COLUMN_SLACK_CHARS
        ]
        centre = (label.start() + label.end()) / 2
        return min(in_column, key=lambda v: abs((v[0] + v[1]) / 2 - centre))[2] if in_column else None
    return None


def _non_overlapping(matches: Iterable[re.Match[str]]) -> list[re.Match[str]]:
    kept: list[re.Match[str]] = []
    for m in matches:
        if not kept or m.start() >= kept[-1].end():
            kept.append(m)
    return kept
