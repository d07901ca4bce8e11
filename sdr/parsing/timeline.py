"""When the customer wants the system: "imediato" | "30_dias" | "90_dias" | "sem_previsao".

A figure ("em 60 dias", "uns 3 meses") is bucketed by its length; otherwise phrases
decide ("mes que vem", "sem pressa", "o quanto antes").
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Optional

from sdr.parsing.chat_text import any_of, folded_words, search
from sdr.parsing.numbers import spelled_part
from sdr.parsing.tables import int_map, word_set

__all__ = [
    "DURATION_LEAD_WORDS",
    "DURATION_UNIT_DAYS",
    "PAST_MARKERS",
    "TIMELINE_DAYS_30",
    "TIMELINE_DAYS_90",
    "TIMELINE_PATTERNS",
    "parse_timeline",
]

_TIMELINE = "timeline.yml"

TIMELINE_DAYS_30 = 31
TIMELINE_DAYS_90 = 92
DURATION_UNIT_DAYS: Mapping[str, int] = int_map(_TIMELINE, "duration_unit_days")
DURATION_LEAD_WORDS: frozenset[str] = word_set(_TIMELINE, "duration_lead_words")
PAST_MARKERS: frozenset[str] = word_set(_TIMELINE, "past_markers")

# (answer, pattern, needs_request), first match wins; the last two only make sense
# as an answer to "quando pretende instalar?" ("ja", "nao sei").
TIMELINE_PATTERNS: Sequence[tuple[str, str, bool]] = (
    ("30_dias", any_of(
        "(esse|este|nesse|neste) mes", "mes que vem", "proximo mes", "(fim|final) do mes",
        "(umas|algumas|poucas) semanas", "dentro do mes",
    ), False),
    ("90_dias", any_of("trimestre", "(uns|alguns|poucos) meses"), False),
    ("sem_previsao", any_of(
        "sem pressa", "nao tenho pressa", "sem previsao", "nao tenho previsao",
        "(so|apenas) (estou |to |tou )?(pesquisando|cotando|olhando)", "ano que vem",
        "proximo ano", "mais para frente", "futuramente", "sem data", "nao tenho data",
        "nao e para agora", "ainda nao sei quando",
    ), False),
    ("imediato", any_of(
        "o quanto antes", "quanto antes", "(o )?mais rapido possivel", "o mais breve",
        r"imediat\w*", "urgente", "urgencia", "(essa|esta|nessa|nesta) semana", "semana que vem",
        "proxima semana", "para ontem", "para ja", "agora mesmo", "tenho pressa",
        "(to|estou) com pressa", "asap",
    ), False),
    ("sem_previsao", any_of(
        "nao sei", "sei la", "agora nao", "nao agora", "talvez", "depois", "um dia", "quem sabe",
    ), True),
    ("imediato", any_of("ja", "agora", "hoje", "amanha", "logo"), True),
)


def parse_timeline(text: str, *, requested: bool) -> Optional[str]:
    """When the customer wants the system: "imediato" | "30_dias" | "90_dias" | "sem_previsao"."""
    words = folded_words(text)
    normalized = " ".join(words)
    from_duration = _duration_timeline(words, requested)
    if from_duration:
        return from_duration
    for answer, pattern, needs_request in TIMELINE_PATTERNS:
        if needs_request and not requested:
            continue
        if search(pattern, normalized):
            return answer
    return None


def _duration_timeline(words: Sequence[str], requested: bool) -> Optional[str]:
    """ "em 60 dias", "uns 3 meses", "2 ou 3 meses" -> bucket by the longest figure."""
    for i, word in enumerate(words):
        if word not in DURATION_UNIT_DAYS or i == 0:
            continue
        amount, first = _amount_before(words, i)
        if amount is None:
            continue
        previous = words[first - 1] if first > 0 else ""
        following = words[i + 1] if i + 1 < len(words) else ""
        if previous in PAST_MARKERS or following in PAST_MARKERS:
            continue
        if not requested and previous not in DURATION_LEAD_WORDS:
            continue
        return _bucket(amount * DURATION_UNIT_DAYS[word])
    return None


def _amount_before(words: Sequence[str], unit_index: int) -> tuple[Optional[float], int]:
    """The (largest) number right before words[unit_index], and where it starts."""
    first = unit_index - 1
    amount = _small_number(words[first])
    if amount is None:
        return None, unit_index
    if first >= 2 and words[first - 1] in ("ou", "a", "e"):  # "2 ou 3 meses": keep the larger
        other = _small_number(words[first - 2])
        if other is not None:
            return max(amount, other), first - 2
    return amount, first


def _small_number(word: str) -> Optional[float]:
    if word.isdigit():
        return float(word)
    part = spelled_part(word)
    return float(part[0]) if part else None


def _bucket(days: float) -> str:
    if days <= TIMELINE_DAYS_30:
        return "30_dias"
    if days <= TIMELINE_DAYS_90:
        return "90_dias"
    return "sem_previsao"
