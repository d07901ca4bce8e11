"""The prompts of a Gemini qualification (pure): the conversation rendered as quoted data,
the scoring rules spelled out, and the pt-BR prompt files of `actions/prompts/` filled in.
"""
from __future__ import annotations

import functools
import json
import string
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Tuple

from actions.gemini_settings import GeminiSettings
from sdr.formatting import format_brl
from sdr.scoring import ScoringRules

__all__ = [
    "MAX_TURN_CHARS",
    "SYSTEM_PROMPT_FILE",
    "USER_PROMPT_FILE",
    "build_prompts",
    "class_thresholds",
    "conversation_from_events",
    "load_template",
    "render_conversation",
    "scoring_guide",
]

SYSTEM_PROMPT_FILE = "qualification_system.md"
USER_PROMPT_FILE = "qualification_user.md"
# Longer turns are cut: a pasted document must not blow the prompt up.
MAX_TURN_CHARS = 1_000

_LEAD_ROLES = frozenset({"user", "lead"})
_BOT_ROLES = frozenset({"bot", "assistant", "assistente"})


def conversation_from_events(events: Sequence[Mapping[str, Any]]) -> List[Dict[str, str]]:
    """The turns of a Rasa tracker's events, as `qualify` takes them."""
    turns = []
    for event in events:
        text = event.get("text")
        is_words = isinstance(text, str) and bool(text) and not text.startswith("/")  # "/greet": a payload
        if event.get("event") in ("user", "bot") and is_words:
            turns.append({"role": event["event"], "text": text})
    return turns


def render_conversation(conversation: Any, max_turns: int) -> str:
    """One JSON object a line, so the lead's words stay quoted data inside the prompt."""
    lines = []
    for turn in conversation if isinstance(conversation, list) else []:
        if not isinstance(turn, Mapping):
            continue
        role = turn.get("role", turn.get("event"))
        text = turn.get("text", turn.get("content"))
        if not isinstance(text, str) or not text.strip() or role not in _LEAD_ROLES | _BOT_ROLES:
            continue
        author = "lead" if role in _LEAD_ROLES else "assistente"
        turn_json = {"autor": author, "texto": text.strip()[:MAX_TURN_CHARS]}
        lines.append(json.dumps(turn_json, ensure_ascii=False))
    lines = lines[-max_turns:]
    return "\n".join(lines) if lines else "(nenhuma mensagem)"


def scoring_guide(rules: ScoringRules) -> str:
    tariff = f"{rules.tariff_brl_per_kwh:.2f}".replace(".", ",")
    tiers = "; ".join(
        f"a partir de {format_brl(tier['min'])} → {tier['points']:g}" for tier in rules.bill_tiers
    )
    lines = [f"- Conta de luz por mês (só kWh? multiplique por R$ {tariff}): {tiers}"]
    labels = {
        "is_owner": "Dono do imóvel (is_owner)",
        "is_decision_maker": "Decide a compra (is_decision_maker)",
        "timeline": "Prazo (timeline)",
        "property_type": "Tipo de imóvel (property_type)",
    }
    for table, label in labels.items():
        points = rules.points.get(table, {})
        values = "; ".join(f"{json.dumps(key)} → {value:g}" for key, value in points.items())
        lines.append(f"- {label}: {values}")
    return "\n".join(lines)


def class_thresholds(rules: ScoringRules) -> str:
    lines, upper = [], None
    for klass in rules.classes:  # highest first
        bound = f"lead_score ≥ {klass['min']:g}" + (f" e < {upper:g}" if upper is not None else "")
        lines.append(f"- {klass['name']}: {bound}")
        upper = klass["min"]
    return "\n".join(lines)


@functools.lru_cache(maxsize=8)
def _read_template(path: str, modified_ns: int) -> string.Template:
    return string.Template(Path(path).read_text(encoding="utf-8"))


def load_template(prompts_dir: Path, name: str) -> string.Template:
    """A prompt file; an edited file is read again (the cache is keyed by its mtime).

    Filled with `safe_substitute`, so "R$ 450" needs no escaping in the files."""
    path = prompts_dir / name
    return _read_template(str(path), path.stat().st_mtime_ns)


def build_prompts(
    conversation: Any, fields: Mapping[str, Any], confirmed: Iterable[str], rules: ScoringRules,
    settings: GeminiSettings,
) -> Tuple[str, str]:
    """(system instruction, user message) from the prompt files."""
    adjustment = min(10.0, settings.max_score_deviation)
    system = load_template(settings.prompts_dir, SYSTEM_PROMPT_FILE).safe_substitute(
        scoring_guide=scoring_guide(rules),
        class_thresholds=class_thresholds(rules),
        adjustment=f"{adjustment:g}",
    )
    known = {name: value for name, value in fields.items() if value is not None}
    locked = sorted(name for name in set(confirmed) if known.get(name) is not None)
    user = load_template(settings.prompts_dir, USER_PROMPT_FILE).safe_substitute(
        conversation=render_conversation(conversation, settings.max_turns),
        known_slots=json.dumps(known, ensure_ascii=False) if known else "(nenhum)",
        confirmed_slots=json.dumps(locked) if locked else "(nenhum)",
    )
    return system, user

