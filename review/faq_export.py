"""Operators' answers to "Perguntas sem resposta" written into the knowledge base's training data.

``data/faq/review.yml`` holds, in Rasa's format, each answered question as an example of its
``faq/<topic>`` and, for a topic the knowledge base did not have, its answer as the response
``utter_faq/<topic>``. The next ``make train`` learns them, as with the NLU inbox's export.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterable, List, Set, Tuple

import yaml

from review.text import normalise
from sdr.faq import FAQ_INTENT
from sdr.faq_queue import FaqQuestion

__all__ = ["FAQ_DATA_DIR", "FAQ_REVIEW_FILE", "export_faq", "known_topics"]

FAQ_DATA_DIR = Path("data") / "faq"
FAQ_REVIEW_FILE = FAQ_DATA_DIR / "review.yml"
RESPONSE_PREFIX = f"utter_{FAQ_INTENT}/"


def _load(path: Path) -> Dict[str, Any]:
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.exists() else {}


def known_topics(project_dir: Path) -> List[str]:
    """The topics that have an answer in the knowledge base's files."""
    topics: Set[str] = set()
    for path in sorted((project_dir / FAQ_DATA_DIR).glob("*.yml")):
        for name in (_load(path).get("responses") or {}):
            if str(name).startswith(RESPONSE_PREFIX):
                topics.add(str(name)[len(RESPONSE_PREFIX):])
    return sorted(topics)


def _known_texts(project_dir: Path) -> Set[str]:
    texts: Set[str] = set()
    for path in sorted((project_dir / "data").rglob("*.yml")):
        for block in _load(path).get("nlu") or []:
            for line in str(block.get("examples") or "").splitlines():
                if line.strip().startswith("- "):
                    texts.add(normalise(line.strip()[2:]))
    return texts


def _render(examples: Dict[str, List[str]], responses: Dict[str, str]) -> str:
    lines = ['version: "3.1"', "# Written by the review UI (Perguntas sem resposta); edit freely.", "nlu:"]
    for intent in sorted(examples):
        lines.append(f"- intent: {intent}")
        lines.append("  examples: |")
        lines += [f"    - {text}" for text in examples[intent]]
    if responses:
        lines.append("responses:")
        for name in sorted(responses):
            lines.append(f"  {name}:")
            lines.append(f"  - text: {yaml.safe_dump(responses[name], allow_unicode=True, width=10**6).strip()}")
    return "\n".join(lines) + "\n"


def export_faq(project_dir: Path, questions: Iterable[FaqQuestion]) -> Tuple[Path, int, List[str]]:
    """Adds the answered questions; returns the file, how many examples were new, and the ids written."""
    path = project_dir / FAQ_REVIEW_FILE
    current = _load(path)
    examples: Dict[str, List[str]] = {}
    for block in current.get("nlu") or []:
        examples[str(block["intent"])] = [line.strip()[2:] for line in str(block.get("examples") or "").splitlines()
                                           if line.strip().startswith("- ")]
    responses = {str(k): str(v[0]["text"]) for k, v in (current.get("responses") or {}).items() if v}
    topics = set(known_topics(project_dir))
    seen = _known_texts(project_dir)
    added, written = 0, []
    for question in questions:
        if not question.topic:
            continue
        written.append(question.id)
        text = " ".join(question.text.split())
        if normalise(text) not in seen and text:
            examples.setdefault(f"{FAQ_INTENT}/{question.topic}", []).append(text)
            seen.add(normalise(text))
            added += 1
        if question.topic not in topics and question.answer:
            # An operator's words are plain text: braces would read as company-fact placeholders.
            responses[f"{RESPONSE_PREFIX}{question.topic}"] = question.answer.replace("{", "(").replace("}", ")")
            topics.add(question.topic)
    if added or written:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(_render(examples, responses), encoding="utf-8")
        partial.replace(path)
    return path, added, written
