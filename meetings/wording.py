"""How a meeting time reads to a Brazilian lead: pure text, no I/O.

"quinta-feira, 03/12, às 14h", "sexta-feira, 04/12, às 10h30"; the offer as numbered lines.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sdr.vocabulary import MEETING_KIND_LABELS

__all__ = ["KIND_LABELS", "WEEKDAYS", "clock_text", "options_text", "when_text"]

WEEKDAYS = ("segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo")
KIND_LABELS = MEETING_KIND_LABELS
NUMBER_EMOJI = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣")


def clock_text(moment: datetime) -> str:
    """14:00 → "14h", 10:30 → "10h30"."""
    return f"{moment.hour}h" if moment.minute == 0 else f"{moment.hour}h{moment.minute:02d}"


def when_text(start: float, tz: ZoneInfo) -> str:
    local = datetime.fromtimestamp(start, tz)
    return f"{WEEKDAYS[local.weekday()]}, {local:%d/%m}, às {clock_text(local)}"


def options_text(starts: Sequence[float], tz: ZoneInfo) -> str:
    """One numbered line per start time (at most nine)."""
    return "\n".join(f"{NUMBER_EMOJI[index]} {when_text(start, tz)}" for index, start in enumerate(starts[:9]))
