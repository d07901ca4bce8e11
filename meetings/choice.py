"""What the lead's answer to "which time?" means: an offered option, a time, a day, or nothing.

Pure: the offered start times and the clock come in, a ``Choice`` comes out.

- "2", "opção 2", "a segunda", "o 3º", "pode ser a 1" → that option (when it was offered);
- a time in words that is one of the offered times ("sexta às 10h") → that option;
- any other exact time ("amanhã às 15h") → that time (the caller checks it is free);
- a day or part of a day ("sexta de manhã", "dia 12") → that span (the caller finds free slots in it);
- anything else → nothing read (the caller asks again).

A date or time is looked for before a bare number, so "dia 2" is a day, not option 2.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional
from zoneinfo import ZoneInfo

from meetings.when import WhenAsked, read_when
from sdr.text import fold

__all__ = ["Choice", "read_choice"]

ORDINALS = {"primeira": 1, "primeiro": 1, "segunda": 2, "segundo": 2, "terceira": 3, "terceiro": 3,
            "quarta": 4, "quarto": 4, "quinta": 5, "quinto": 5}
# "a segunda" is an option only when nothing else in the message reads as a weekday ("segunda de
# manhã", "segunda às 10" are days): read_when runs first.
NUMBER = re.compile(r"(?<![\d/:,.])([1-9])(?:\s*[ºo°ª])?(?![\d/:]|[.,]\d|\s*(?:h|hs|hrs|horas?)\b)")
OPTION_WORDS = re.compile(r"\b(?:op[cç][aã]o|opcao|numero|n[uú]mero|n[ºo°])\s*([1-9])\b")


@dataclass(frozen=True)
class Choice:
    option: Optional[int] = None  # 0-based index into the offered times
    when: Optional[WhenAsked] = None  # a time, or a span, that is not an offered option

    @property
    def read(self) -> bool:
        return self.option is not None or self.when is not None


def _option_number(folded: str, count: int) -> Optional[int]:
    found = OPTION_WORDS.search(folded)
    numbers = [int(found.group(1))] if found else [int(m.group(1)) for m in NUMBER.finditer(folded)]
    if not numbers:
        words = [ORDINALS[w] for w in re.findall(r"[a-z]+", folded) if w in ORDINALS]
        numbers = words
    distinct = set(numbers)
    if len(distinct) != 1:
        return None  # none, or "1 ou 2": not a choice
    number = distinct.pop()
    return number - 1 if 1 <= number <= count else None


def read_choice(text: str, offered: Sequence[float], now: float, tz: ZoneInfo) -> Choice:
    folded = fold(text or "")
    when = read_when(text or "", now, tz)
    if when is not None:
        for index, start in enumerate(offered):
            if when.exact and when.start == start:
                return Choice(option=index)
        return Choice(when=when)
    option = _option_number(folded, len(offered))
    return Choice(option=option) if option is not None else Choice()
