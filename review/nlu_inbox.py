"""The NLU inbox: lead messages the model has not been trained on, with the
operator's verdicts, and their export as Rasa NLU training data (pure functions;
reading and writing files is left to review/exporting.py)."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

import yaml

from review.text import normalise
from review.tracker_parse import is_typed_text, user_intent

MAX_TEXT_CHARS = 500
VERDICTS = ("correct", "relabel", "discard")
NLU_REVIEW_FILE = Path("data") / "nlu_review.yml"
# Files whose examples an exported one must not repeat: training data and the held-out test set.
KNOWN_EXAMPLE_GLOBS = ("data/nlu/*.yml", "data/nlu_review.yml", "tests/nlu_test.yml")


@dataclass(frozen=True)
class NluItem:
    id: str
    text: str
    intent: Optional[str]
    confidence: Optional[float]
    sender_id: str
    index: int
    timestamp: float

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NluItem:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]


def item_id(text: str) -> str:
    """One inbox item per wording: the same sentence from two leads is one decision."""
    return hashlib.sha1(normalise(text).encode("utf-8")).hexdigest()[:16]


def candidates(sender_id: str, events: Sequence[Mapping[str, Any]]) -> List[NluItem]:
    found = []
    for index, event in enumerate(events):
        if event.get("event") != "user" or not is_typed_text(event.get("text")):
            continue
        text = clean_example(str(event["text"]))
        if not normalise(text):
            continue
        intent, confidence = user_intent(event)
        found.append(NluItem(item_id(text), text, intent, confidence, sender_id, index,
                             float(event.get("timestamp") or 0.0)))
    return found


def clean_example(text: str) -> str:
    """One line, no control characters, and no brackets or braces that Rasa would
    read as entity annotations: a lead's text goes into training data verbatim otherwise."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = text.replace("[", "(").replace("]", ")").replace("{", "(").replace("}", ")")
    return " ".join(text.split())[:MAX_TEXT_CHARS]


def examples_in(data: Any) -> Dict[str, List[str]]:
    """intent -> examples of one parsed Rasa NLU YAML file."""
    found: Dict[str, List[str]] = {}
    # `nlu:` with nothing under it (an export with no accepted example yet) is None, not a list.
    for block in (data.get("nlu") or []) if isinstance(data, dict) else []:
        if isinstance(block, dict) and "intent" in block and isinstance(block.get("examples"), str):
            lines = [
                line.strip()[2:].strip() for line in block["examples"].splitlines() if line.strip().startswith("- ")
            ]
            found.setdefault(str(block["intent"]), []).extend(lines)
    return found


def known_examples(project_dir: Path) -> Set[str]:
    known: Set[str] = set()
    for pattern in KNOWN_EXAMPLE_GLOBS:
        for path in sorted(project_dir.glob(pattern)):
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            known.update(normalise(e) for examples in examples_in(data).values() for e in examples)
    return known


_known_cache: Dict[Path, Tuple[Tuple[float, ...], Set[str]]] = {}


def known_ids(project_dir: Path) -> Set[str]:
    """Item ids of every example already in the project (cached until a file changes):
    a set lookup per inbox item instead of normalising every text on every request."""
    paths = sorted(p for pattern in KNOWN_EXAMPLE_GLOBS for p in project_dir.glob(pattern))
    stamp = tuple(p.stat().st_mtime_ns for p in paths) + (len(paths),)
    cached = _known_cache.get(project_dir)
    if cached is None or cached[0] != stamp:
        cached = (stamp, {item_id(text) for text in known_examples(project_dir)})
        _known_cache[project_dir] = cached
    return cached[1]


def trainable_intents(domain: Mapping[str, Any], channel_intents: Iterable[str]) -> List[str]:
    """Intents an operator may give a message: the domain's, less the ones the channel
    and the scheduler send themselves (no lead types them)."""
    excluded = set(channel_intents)
    return [
        str(i) for i in domain.get("intents", [])
        if isinstance(i, str) and i not in excluded and not i.startswith("EXTERNAL_")
    ]


@dataclass(frozen=True)
class Verdict:
    verdict: str  # correct | relabel | discard
    intent: Optional[str] = None


def decided_intent(item: NluItem, verdict: Verdict) -> Optional[str]:
    if verdict.verdict == "discard":
        return None
    return verdict.intent if verdict.verdict == "relabel" else item.intent


def new_examples(
    items: Iterable[NluItem], verdicts: Mapping[str, Verdict], known: Set[str], allowed_intents: Sequence[str]
) -> Dict[str, List[str]]:
    """intent -> examples to add: accepted, with a trainable intent, and not already
    anywhere in the training data, the test set or this batch."""
    seen = set(known)
    added: Dict[str, List[str]] = {}
    for item in sorted(items, key=lambda i: (i.timestamp, i.id)):
        verdict = verdicts.get(item.id)
        intent = decided_intent(item, verdict) if verdict else None
        key = normalise(item.text)
        if intent is None or intent not in allowed_intents or not key or key in seen:
            continue
        seen.add(key)
        added.setdefault(intent, []).append(clean_example(item.text))
    return added


def render_nlu_yaml(examples: Mapping[str, Sequence[str]]) -> str:
    lines = [
        'version: "3.1"',
        "# Written by the review UI (NLU inbox export): lead messages an operator",
        "# confirmed or corrected. Training data: `make train` picks it up.",
        "nlu:",
    ]
    for intent in sorted(examples):
        if not examples[intent]:
            continue
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {text}" for text in examples[intent]]
    if lines[-1] == "nlu:":
        lines[-1] = "nlu: []"  # an export before any accepted example: still a list for Rasa
    return "\n".join(lines) + "\n"


def merge(existing: Mapping[str, Sequence[str]], added: Mapping[str, Sequence[str]]) -> Dict[str, List[str]]:
    merged = {intent: list(texts) for intent, texts in existing.items()}
    for intent, texts in added.items():
        merged.setdefault(intent, []).extend(texts)
    return merged
