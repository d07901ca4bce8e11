"""The inbox's filters: parsed from the query string, applied to summaries (pure)."""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from typing import Callable, Dict, List, Mapping, Optional, Sequence
from urllib.parse import urlencode

from review.text import normalise
from review.tracker_parse import ConversationSummary

REVIEW_STATUSES = ("new", "reviewed", "saved")
PAGE_SIZE = 50
# Dates typed by Brazilian operators mean Brazilian days.
LOCAL_TZ = timezone(timedelta(hours=-3))


@dataclass(frozen=True)
class InboxFilter:
    date_from: str = ""
    date_to: str = ""
    lead_class: str = ""
    lead_status: str = ""
    source: str = ""  # lead_source: ctwa_ad | organic
    intent: str = ""
    action: str = ""
    conf_min: str = ""
    conf_max: str = ""
    fallback: str = ""  # "1": only conversations with a fallback
    low: str = ""  # "1": only conversations with a low-confidence message
    review: str = ""  # new | reviewed | saved
    tag: str = ""
    q: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> InboxFilter:
        return cls(**{f.name: str(args.get(f.name) or "").strip()[:200] for f in fields(cls)})

    def query(self) -> str:
        """The filter as a query string (what a saved filter stores)."""
        return urlencode({f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)})

    @property
    def active(self) -> bool:
        return bool(self.query())


def day_start(text: str) -> Optional[float]:
    """Midnight (the UI's time zone) of a YYYY-MM-DD date, or None."""
    return _day_start(text)


def _day_start(text: str) -> Optional[float]:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=LOCAL_TZ).timestamp()
    except ValueError:
        return None


def _number(text: str) -> Optional[float]:
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Prepared:
    """A filter's values parsed once, not once per conversation."""

    wanted: InboxFilter
    start: Optional[float]
    end: Optional[float]
    low: Optional[float]
    high: Optional[float]
    text: str

    @classmethod
    def of(cls, wanted: InboxFilter) -> Prepared:
        start = _day_start(wanted.date_from) if wanted.date_from else None
        end = _day_start(wanted.date_to) if wanted.date_to else None
        low, high = _number(wanted.conf_min), _number(wanted.conf_max)
        if low is not None or high is not None:
            low, high = (0.0 if low is None else low), (1.0 if high is None else high)
        return cls(wanted, start, None if end is None else end + 86400, low, high,
                   normalise(wanted.q) if wanted.q else "")


Predicate = Callable[[ConversationSummary], bool]


def predicates(
    f: Prepared, review_statuses: Mapping[str, str], tags: Mapping[str, Sequence[str]], low_threshold: float
) -> List[Predicate]:
    """One test per criterion set, cheapest and most selective first: applied as
    successive passes over the list, 10,000 conversations filter in milliseconds."""
    w = f.wanted
    tests: List[Predicate] = []
    if w.lead_class:
        tests.append(lambda s: s.lead_class == w.lead_class)
    if w.lead_status:
        tests.append(lambda s: s.lead_status == w.lead_status)
    if w.source:
        tests.append(lambda s: s.lead.get("lead_source") == w.source)
    if w.review:
        tests.append(lambda s: review_statuses.get(s.sender_id, "new") == w.review)
    if w.tag:
        tests.append(lambda s: w.tag in tags.get(s.sender_id, ()))
    # Locals, not f's attributes: mypy keeps the None checks for them inside the lambdas.
    start, end = f.start, f.end
    if start is not None:
        tests.append(lambda s: s.last_activity >= start)
    if end is not None:
        tests.append(lambda s: s.first_activity < end)
    if w.fallback:
        tests.append(lambda s: s.fallbacks > 0)
    if w.low:
        tests.append(lambda s: s.min_confidence is not None and s.min_confidence < low_threshold)
    if w.intent:
        tests.append(lambda s: w.intent in s.intents)
    if w.action:
        tests.append(lambda s: w.action in s.actions)
    low, high = f.low, f.high
    if low is not None and high is not None:  # Prepared.of sets both or neither
        if low <= 0.0:  # "some message at or below high" is a test of the lowest one
            tests.append(lambda s: s.min_confidence is not None and s.min_confidence <= high)
        else:
            tests.append(lambda s: any(low <= c <= high for c in s.confidences))
    if f.text:
        tests.append(lambda s: f.text in s.search_text)
    return tests


def matches(
    summary: ConversationSummary,
    wanted: InboxFilter | Prepared,
    review_status: str,
    tags: Sequence[str],
    low_threshold: float,
) -> bool:
    f = wanted if isinstance(wanted, Prepared) else Prepared.of(wanted)
    tests = predicates(f, {summary.sender_id: review_status}, {summary.sender_id: tags}, low_threshold)
    return all(test(summary) for test in tests)


@dataclass(frozen=True)
class Page:
    items: List[ConversationSummary]
    number: int
    pages: int
    total: int


def paginate(items: List[ConversationSummary], number: int, size: int = PAGE_SIZE) -> Page:
    pages = max(1, math.ceil(len(items) / size))
    number = min(max(1, number), pages)
    return Page(items[(number - 1) * size: number * size], number, pages, len(items))


def select(
    newest_first: Sequence[ConversationSummary],
    wanted: InboxFilter,
    review_statuses: Mapping[str, str],
    tags: Mapping[str, Sequence[str]],
    low_threshold: float,
) -> List[ConversationSummary]:
    if not wanted.active:
        return list(newest_first)
    chosen = list(newest_first)
    for test in predicates(Prepared.of(wanted), review_statuses, tags, low_threshold):
        chosen = [s for s in chosen if test(s)]
    return chosen


def page_number(raw: Optional[str]) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


def tag_counts(tags: Mapping[str, Sequence[str]]) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for values in tags.values():
        for tag in values:
            counts[tag] = counts.get(tag, 0) + 1
    return dict(sorted(counts.items()))
