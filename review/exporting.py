"""Writes what operators decided into the project: NLU corrections to
data/nlu_review.yml and a conversation as a test story in tests/test_stories.yml.

The project directory is configurable (REVIEW_PROJECT_DIR) so tests export into
a copy and never touch the repository's own files.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import yaml

from review.nlu_inbox import (
    NLU_REVIEW_FILE,
    NluItem,
    Verdict,
    examples_in,
    known_examples,
    merge,
    new_examples,
    render_nlu_yaml,
    trainable_intents,
)

TEST_STORIES_FILE = Path("tests") / "test_stories.yml"
# Events a test story cannot express, or that the operator added (their own
# messages are BotUttered, which stories leave out anyway).
STORY_STOP_EVENTS = ("pause",)


def load_domain(project_dir: Path) -> Dict[str, Any]:
    return yaml.safe_load((project_dir / "domain.yml").read_text(encoding="utf-8")) or {}


_intents_cache: Dict[Path, Tuple[int, List[str]]] = {}


def allowed_intents(project_dir: Path) -> List[str]:
    """Intents an operator may choose, re-read only when domain.yml changes."""
    from sdr.dialogue import CHANNEL_INTENTS

    stamp = (project_dir / "domain.yml").stat().st_mtime_ns
    cached = _intents_cache.get(project_dir)
    if cached is None or cached[0] != stamp:
        cached = (stamp, trainable_intents(load_domain(project_dir), CHANNEL_INTENTS))
        _intents_cache[project_dir] = cached
    return cached[1]


def export_nlu(project_dir: Path, items: Iterable[NluItem], verdicts: Mapping[str, Verdict]) -> Tuple[Path, int]:
    """Adds the accepted examples to data/nlu_review.yml; returns the file and how many were new."""
    path = project_dir / NLU_REVIEW_FILE
    existing: Dict[str, List[str]] = {}
    if path.exists():
        existing = examples_in(yaml.safe_load(path.read_text(encoding="utf-8")))
    added = new_examples(items, verdicts, known_examples(project_dir), allowed_intents(project_dir))
    count = sum(len(v) for v in added.values())
    if count or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, render_nlu_yaml(merge(existing, added)))
    return path, count


def story_events(events: Sequence[Mapping[str, Any]], corrections: Mapping[int, str]) -> List[Dict[str, Any]]:
    """The events a test story is made of: the assistant-driven part of the
    conversation (up to a pause: what a person said is not the assistant's to
    predict), with the operator's intent corrections applied to the user turns."""
    kept: List[Dict[str, Any]] = []
    for index, event in enumerate(events):
        if event.get("event") in STORY_STOP_EVENTS:
            break
        event = dict(event)
        if event.get("event") == "user" and index in corrections:
            parse = dict(event.get("parse_data") or {})
            parse["intent"] = {"name": corrections[index], "confidence": 1.0}
            event["parse_data"] = parse
        kept.append(event)
    return kept


def story_yaml(sender_id: str, events: Sequence[Mapping[str, Any]], corrections: Mapping[int, str]) -> str:
    """The conversation in Rasa's test-story format, written by Rasa's own writer.
    The story is named by a hash of the conversation id: phone numbers stay out of the repository."""
    from rasa.shared.core.events import Event
    from rasa.shared.core.training_data.story_writer.yaml_story_writer import YAMLStoryWriter
    from rasa.shared.core.training_data.structures import Story

    name = f"review {hashlib.sha1(sender_id.encode()).hexdigest()[:10]} {time.strftime('%Y-%m-%d')}"
    rasa_events = [Event.from_parameters(e) for e in story_events(events, corrections)]
    story = Story.from_events([e for e in rasa_events if e is not None], name)
    return YAMLStoryWriter().dumps(story.story_steps, is_appendable=True, is_test_story=True)


def export_story(project_dir: Path, sender_id: str, events: Sequence[Mapping[str, Any]],
                 corrections: Optional[Mapping[int, str]] = None) -> Path:
    path = project_dir / TEST_STORIES_FILE
    text = story_yaml(sender_id, events, corrections or {})
    current = path.read_text(encoding="utf-8") if path.exists() else 'version: "3.1"\nstories:\n'
    if not current.endswith("\n"):
        current += "\n"
    _write_atomically(path, current + text)
    return path


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
