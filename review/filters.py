"""The inbox's filters: parsed from the query string, applied to summaries (pure)."""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Mapping, Optional, Sequence, Tuple
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
    def from_args(cls, args: Mapping[str, str]) -> "InboxFilter":
        return cls(**{f.name: str(args.get(f.name) or "").strip()[:200] for f in fields(cls)})

    def query(self) -> str:
        """The filter as a query string (what a saved filter stores)."""
        return urlencode({f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)})

    @property
    def active(self) -> bool:
        return bool(self.query())


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


def matches(
    summary: ConversationSummary,
    wanted: InboxFilter,
    review_status: str,
    tags: Sequence[str],
    low_threshold: float,
) -> bool:
    if wanted.date_from:
        start = _day_start(wanted.date_from)
        if start is not None and summary.last_activity < start:
            return False
    if wanted.date_to:
        end = _day_start(wanted.date_to)
        if end is not None and summary.first_activity >= end + 86400:
            return False
    if wanted.lead_class and (summary.lead_class or "") != wanted.lead_class:
        return False
    if wanted.lead_status and summary.lead_status != wanted.lead_status:
        return False
    if wanted.intent and wanted.intent not in summary.intents:
        return False
    if wanted.action and wanted.action not in summary.actions:
        return False
    low, high = _number(wanted.conf_min), _number(wanted.conf_max)
    if low is not None or high is not None:
        low = 0.0 if low is None else low
        high = 1.0 if high is None else high
        if not any(low <= c <= high for c in summary.confidences):
            return False
    if wanted.fallback and not summary.fallbacks:
        return False
    if wanted.low and not summary.low_confidence(low_threshold):
        return False
    if wanted.review and review_status != wanted.review:
        return False
    if wanted.tag and wanted.tag not in tags:
        return False
    if wanted.q and normalise(wanted.q) not in summary.search_text:
        return False
    return True


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
    return [
        s for s in newest_first
        if matches(s, wanted, review_statuses.get(s.sender_id, "new"), tags.get(s.sender_id, ()), low_threshold)
    ]


def page_number(raw: Optional[str]) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


def facet_options(summaries: Sequence[ConversationSummary]) -> Tuple[List[str], List[str]]:
    """Intents and actions seen anywhere, for the filter drop-downs."""
    intents, actions = set(), set()
    for s in summaries:
        intents.update(s.intents)
        actions.update(s.actions)
    return sorted(intents), sorted(actions)


def tag_counts(tags: Mapping[str, Sequence[str]]) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for values in tags.values():
        for tag in values:
            counts[tag] = counts.get(tag, 0) + 1
    return dict(sorted(counts.items()))
