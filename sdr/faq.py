"""The knowledge base's words: company facts filled into answers, and the topics' names. Pure.

The questions are ``faq/<topic>`` examples in ``data/faq/nlu.yml``; the NLU picks the topic
(components/faq_topics.py, components/faq_gate.py).

Answers live in the training data as Rasa retrieval responses (``utter_faq/<topic>`` in
``data/faq/responses.yml``) and quote company facts as ``{fact_name}`` placeholders; the facts
live in one file, ``company_facts.yml`` (``COMPANY_FACTS_FILE``), so an installer changes a
warranty or the service area once. An answer whose fact is missing or ``null`` is not given:
the assistant says it will confirm with a consultant (nothing invented to a lead).
"""
from __future__ import annotations

import os
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import yaml

__all__ = [
    "CompanyFacts",
    "DEFAULT_MIN_CONFIDENCE",
    "FAQ_INTENT",
    "RESPONSE_SELECTOR",
    "faq_selection",
    "facts_file",
    "load_facts",
    "load_topic_labels",
    "render_answer",
    "topic_of",
]

ROOT = Path(__file__).resolve().parents[1]
FAQ_INTENT = "faq"  # the retrieval intent: faq/<topic>
RESPONSE_SELECTOR = "response_selector"  # a parse's key for Rasa's ResponseSelector output
# FAQ_MIN_CONFIDENCE's default: below it the topic is not sure enough to answer (chosen on the
# validation questions and the cross-validated training phrasings: scripts/faq_eval.py --sweep).
DEFAULT_MIN_CONFIDENCE = 0.5
DEFAULT_FACTS_FILE = ROOT / "company_facts.yml"
TOPIC_LABELS_FILE = ROOT / "sdr" / "faq_topic_labels.yml"
_FORMATTER = string.Formatter()


@dataclass(frozen=True)
class CompanyFacts:
    values: Mapping[str, Any] = field(default_factory=dict)

    def text(self, name: str) -> Optional[str]:
        """A fact as it reads in a sentence; None when unknown (missing or null)."""
        value = self.values.get(name)
        if value is None or value == "" or value == []:
            return None
        if isinstance(value, bool):
            return "sim" if value else "não"
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, (list, tuple)):
            items = [str(item) for item in value]
            return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " e " + items[-1]
        return str(value).replace(".", ",") if isinstance(value, float) else str(value)


def facts_file() -> Path:
    return Path(os.environ.get("COMPANY_FACTS_FILE") or DEFAULT_FACTS_FILE)


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> CompanyFacts:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    facts = data.get("facts") if isinstance(data, dict) else None
    if not isinstance(facts, dict):
        raise ValueError(f"{path}: expected a 'facts:' mapping")
    return CompanyFacts(dict(facts))


def load_facts(path: Optional[Path] = None) -> CompanyFacts:
    """The facts, read again when the file changes (an installer edits it while the server runs)."""
    target = path or facts_file()
    return _load(str(target), target.stat().st_mtime)


def load_topic_labels(path: Path = TOPIC_LABELS_FILE) -> dict[str, str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    labels = data.get("labels") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in (labels or {}).items()}


def placeholders(text: str) -> list[str]:
    return [name for _, name, _, _ in _FORMATTER.parse(text) if name]


def render_answer(text: str, facts: CompanyFacts) -> Optional[str]:
    """The answer with its facts filled in; None when a fact it quotes is not known."""
    values: dict[str, str] = {}
    for name in placeholders(text):
        value = facts.text(name)
        if value is None:
            return None
        values[name] = value
    return text.format(**values) if values else text


def faq_selection(parse: Mapping[str, Any]) -> Mapping[str, Any]:
    """The knowledge base's part of a parse's selector output: {"response": {...}, "ranking": [...]}."""
    return (parse.get(RESPONSE_SELECTOR) or {}).get(FAQ_INTENT) or {}


def topic_of(retrieval_key: Optional[str]) -> Optional[str]:
    """'faq/garantia_placas' or 'utter_faq/garantia_placas' → 'garantia_placas'."""
    if not retrieval_key or "/" not in retrieval_key:
        return None
    return retrieval_key.split("/", 1)[1] or None
