"""The monthly electricity bill in a message, in R$ and/or kWh.

Customers quote their bill every way a phone keyboard allows: "R$ 450", "450 conto",
"uns 2 mil", "entre 300 e 400", "380 kWh", "minha conta vem quatrocentos e cinquenta".
Other numbers look just like it (a phone, a CEP, "apto 302", "dia 15", "6 placas"),
so a figure only counts with a unit, a cue, or as a bare answer to the bill question.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Optional

from sdr.parsing.numbers import THOUSAND_WORDS, parse_digits, parse_spelled, spelled_below_thousand
from sdr.parsing.tables import str_map, word_set
from sdr.text import fold
from sdr.vocabulary import MAX_MONTHLY_BILL_BRL

__all__ = [
    "BILL_FILLER_WORDS",
    "BRL_UNIT_WORDS",
    "BillFigure",
    "BillVariation",
    "KWH_CUE_WORDS",
    "KWH_UNIT_WORDS",
    "MIN_UNITLESS_BILL",
    "MONEY_CUE_WORDS",
    "NOT_MONEY_AFTER",
    "NOT_MONEY_BEFORE",
    "RANGE_WORDS",
    "VARIATION_PHRASES",
    "parse_bill",
    "parse_bill_variation",
]

_BILLS = "bills.yml"

BRL_UNIT_WORDS: frozenset[str] = word_set(_BILLS, "brl_unit_words")
KWH_UNIT_WORDS: frozenset[str] = word_set(_BILLS, "kwh_unit_words")
# Words shortly before a unit-less number that make it a monthly bill in R$.
MONEY_CUE_WORDS: frozenset[str] = word_set(_BILLS, "money_cue_words")
# ... or a monthly consumption in kWh.
KWH_CUE_WORDS: frozenset[str] = word_set(_BILLS, "kwh_cue_words")
# A number right after these is a date, an address or a count, never a bill.
NOT_MONEY_BEFORE: frozenset[str] = word_set(_BILLS, "not_money_before")
NOT_MONEY_AFTER: frozenset[str] = word_set(_BILLS, "not_money_after")
# Words that may surround a bare number without making it something else.
BILL_FILLER_WORDS: frozenset[str] = word_set(_BILLS, "bill_filler_words")
MIN_UNITLESS_BILL = 10.0  # "2" or "dois" without a unit is a count, not a monthly bill
RANGE_WORDS: frozenset[str] = word_set(_BILLS, "range_words")
VARIATION_PHRASES: dict[str, str] = str_map(_BILLS, "variation_phrases")


@dataclass(frozen=True)
class BillFigure:
    brl: Optional[float] = None  # R$ per month
    kwh: Optional[float] = None  # kWh per month


@dataclass(frozen=True)
class BillVariation:
    """ "280 mas no verão vai pra 500": usual 280, other 500, when "no verão"."""

    usual: float  # R$, an ordinary month: the bill
    other: float  # R$, what it reaches at times
    when: str  # the variation as the assistant repeats it


@dataclass(frozen=True)
class _Tok:
    kind: str  # "num" | "word" | "sym"
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class _Quantity:
    value: float
    first: int  # token index of the first token
    end: int  # token index after the last token
    scaled: bool  # carried its own "mil"/"k"


@dataclass(frozen=True)
class _Candidate:
    value: float
    slot: Optional[str]  # "brl" | "kwh" | None (unit-less)
    strength: int  # 2 unit, 1 cue, 0 bare
    first: int
    end: int


# Phone numbers and CEPs look like money to a naive reader; they are blanked first.
_NOT_MONEY_RE = re.compile(
    r"(?:\(?\b\d{2}\)?\s*)?\b9?\d{4}-\d{4}\b"  # phone with hyphen
    r"|\b\d{5}-\d{3}\b"  # CEP
    r"|\d{8,}"  # any long run: phone, CEP, document number
)
_BILL_TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+|\S")


def parse_bill(text: str, *, bare_number_ok: bool) -> BillFigure:
    """Monthly electricity bill in R$ and/or kWh.

    A number counts when it carries a unit ("R$ 450", "450 reais", "380 kWh"),
    follows a cue ("minha conta vem 450"), or - only with `bare_number_ok` -
    is the whole answer ("450", "uns 2 mil").
    """
    tokens = _bill_tokens(text)
    candidates = _bill_candidates(tokens)
    brl = _best(c for c in candidates if c.slot == "brl")
    kwh = _best(c for c in candidates if c.slot == "kwh")
    if brl is None and kwh is None and bare_number_ok:
        brl = _bare_bill(tokens, candidates)
    return BillFigure(brl=brl, kwh=kwh)


def parse_bill_variation(text: str) -> Optional[BillVariation]:
    """An ordinary month's bill and, after a season or "às vezes", a different one; else None."""
    tokens = _bill_tokens(text)
    marks = [i for i, t in enumerate(tokens) if t.kind == "word" and t.text in VARIATION_PHRASES]
    if not marks:
        return None
    mark = marks[0]
    money = [c for c in _bill_candidates(tokens) if c.slot != "kwh"]
    before = [c for c in money if c.end <= mark]
    after = [c for c in money if c.first > mark]
    # The ordinary month needs a cue or a unit ("conta é 280"); the other may be bare ("vai pra 500").
    if not before or not after or before[-1].slot is None or before[-1].value == after[0].value:
        return None
    return BillVariation(before[-1].value, after[0].value, VARIATION_PHRASES[tokens[mark].text])


def _bill_tokens(text: str) -> list[_Tok]:
    folded = _NOT_MONEY_RE.sub(lambda m: " " * len(m.group()), fold(text))
    tokens = []
    for m in _BILL_TOKEN_RE.finditer(folded):
        raw = m.group()
        kind = "num" if raw[0].isdigit() else "word" if raw[0].isalpha() else "sym"
        tokens.append(_Tok(kind, raw, m.start(), m.end()))
    return tokens


def _best(candidates: Iterable[_Candidate]) -> Optional[float]:
    ranked = sorted(candidates, key=lambda c: (-c.strength, c.first))
    return ranked[0].value if ranked else None


def _bill_candidates(tokens: Sequence[_Tok]) -> list[_Candidate]:
    found = []
    i = 0
    while i < len(tokens):
        quantity = _quantity_at(tokens, i)
        if quantity is None:
            i += 1
            continue
        quantity = _extend_to_range(tokens, quantity)
        candidate = _classify(tokens, quantity)
        if candidate is not None:
            found.append(candidate)
        i = quantity.end
    return found


def _quantity_at(tokens: Sequence[_Tok], i: int) -> Optional[_Quantity]:
    tok = tokens[i]
    if tok.kind == "num":
        return _digit_quantity(tokens, i)
    if tok.kind == "word":
        words = _word_run(tokens, i)
        spelled = parse_spelled(words, 0)
        if spelled is None:
            return None
        value, used = spelled
        if used == 1 and words[0] in ("um", "uma"):
            return None  # an article, not a number: "pago um absurdo"
        return _Quantity(float(value), i, i + used, scaled="mil" in words[:used])
    return None


def _word_run(tokens: Sequence[_Tok], i: int) -> list[str]:
    """Consecutive word tokens from i (a spelled number never spans punctuation)."""
    run = []
    for tok in tokens[i:]:
        if tok.kind != "word":
            break
        run.append(tok.text)
    return run


def _digit_quantity(tokens: Sequence[_Tok], i: int) -> Optional[_Quantity]:
    value = parse_digits(tokens[i].text)
    if value is None:
        return None
    end = i + 1
    scaled = end < len(tokens) and tokens[end].text in THOUSAND_WORDS
    if scaled:
        value *= 1000
        end += 1
        if end + 1 < len(tokens) and tokens[end].text == "e":  # "2 mil e 500", "2 mil e quinhentos"
            tail = _digit_or_spelled_below_thousand(tokens, end + 1)
            if tail is not None:
                value += tail[0]
                end = tail[1]
    return _Quantity(value, i, end, scaled)


def _digit_or_spelled_below_thousand(tokens: Sequence[_Tok], i: int) -> Optional[tuple[float, int]]:
    tok = tokens[i]
    if tok.kind == "num":
        value = parse_digits(tok.text)
        return (value, i + 1) if value is not None and value < 1000 else None
    group = spelled_below_thousand(_word_run(tokens, i), 0)
    return (float(group[0]), i + group[1]) if group else None


def _extend_to_range(tokens: Sequence[_Tok], low: _Quantity) -> _Quantity:
    """ "entre 300 e 400", "300 a 400", "2 a 3 mil" -> the midpoint."""
    j = low.end
    if j + 1 >= len(tokens):
        return low
    joiner = tokens[j].text
    after_entre = low.first > 0 and tokens[low.first - 1].text == "entre"
    if not (joiner in RANGE_WORDS or joiner in ("-", "~") or (joiner == "e" and after_entre)):
        return low
    high = _quantity_at(tokens, j + 1)
    if high is None:
        return low
    low_value = low.value
    if high.scaled and not low.scaled and low_value * 1000 <= high.value:
        low_value *= 1000  # "2 a 3 mil" shares the "mil"
    if low_value >= high.value:
        return low
    return _Quantity((low_value + high.value) / 2, low.first, high.end, high.scaled)


def _classify(tokens: Sequence[_Tok], q: _Quantity) -> Optional[_Candidate]:
    value = round(q.value, 2)
    if not 0 < value <= MAX_MONTHLY_BILL_BRL:
        return None
    after = tokens[q.end].text if q.end < len(tokens) else ""
    before = tokens[q.first - 1].text if q.first > 0 else ""
    if after in KWH_UNIT_WORDS:
        return _Candidate(value, "kwh", 2, q.first, q.end)
    if after in BRL_UNIT_WORDS or _has_currency_sign(tokens, q.first):
        return _Candidate(value, "brl", 2, q.first, q.end)
    if before in NOT_MONEY_BEFORE or after in NOT_MONEY_AFTER or after == "%":
        return None
    if value < MIN_UNITLESS_BILL:
        return None
    cue = _nearest_cue(tokens, q.first)
    return _Candidate(value, cue, 1 if cue else 0, q.first, q.end)


def _has_currency_sign(tokens: Sequence[_Tok], first: int) -> bool:
    previous = [t.text for t in tokens[max(0, first - 2):first]]
    return previous[-1:] == ["$"] or previous[-1:] == ["rs"] or previous == ["r", "$"]


def _nearest_cue(tokens: Sequence[_Tok], first: int, window: int = 5) -> Optional[str]:
    words = [t.text for t in tokens[max(0, first - window):first] if t.kind == "word"]
    for word in reversed(words):
        if word in MONEY_CUE_WORDS:
            return "brl"
        if word in KWH_CUE_WORDS:
            return "kwh"
    return None


def _bare_bill(tokens: Sequence[_Tok], candidates: Sequence[_Candidate]) -> Optional[float]:
    """The answer is just a number with filler words around it: "uns 450", "2k", "mil e duzentos"."""
    bare = [c for c in candidates if c.slot is None]
    if len(bare) != 1:
        return None
    only = bare[0]
    others = [t for k, t in enumerate(tokens) if not only.first <= k < only.end]
    if any(t.kind == "num" for t in others):
        return None
    if all(t.kind == "sym" or t.text in BILL_FILLER_WORDS for t in others):
        return only.value
    return None
