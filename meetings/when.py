"""When a lead asks for a meeting in words: a pure reader of pt-BR dates and times, no I/O.

The lead is offered three numbered slots and may answer "sexta de manhã", "amanhã às 15h",
"dia 12 às 10" instead. ``read_when`` turns such a WhatsApp message into the interval meant
(``WhenAsked``), or None when the message names no date or time ("sim", "2", "pode ser", "R$ 280").

Written here, not with a library: ``dateparser`` is the maintained pt-BR reader, but every release
since 1.2.1 needs pytz>=2024.2 and Rasa 3.6 pins pytz 2022.7.1 (``pip install --dry-run``: no
resolution). 1.2.0, the release before, co-installs and was measured on this project's phrasings: it reads
"15h" and "amanhã às 15h" as 15 *hours from now* (01:00 next day), "25h" as a valid instant, a
bare "2" as the 2nd of the month, "sexta 10h" as 10 December, and does not read "dia 12",
"depois de amanhã", "3 da tarde", "meio dia", "15hs", "10 e meia", "semana que vem" or any part
of the day. It only helps for "12/12" and "12 de dezembro" (two regular expressions here), costs
0.34 s at import and reads /etc/timezone through tzlocal. So: no dependency.

How a message is read (the text is lower-cased and accents dropped, so "amanha", "às"/"as",
"terca" are the same words as "amanhã", "às", "terça"):

- pieces are found strongest first, each masking its characters so a later pattern cannot read
  them again: explicit dates ("12/12", "12/12/2026", "12 de dezembro", "dia 12"), "hoje",
  "amanhã", "depois de amanhã", "semana que vem", weekday names, clock ranges ("das 14 às 16"),
  bounds ("depois das 15h", "antes das 11"), clock times, parts of the day ("de manhã");
- an explicit date wins over a weekday name ("sexta dia 11": the 11th); otherwise the first
  day word said is the day ("amanhã ou sexta": tomorrow); the first clock time is the time;
- a number alone is never a time or a day (the caller reads "1", "2", "3" as option numbers):
  it needs a unit ("15h", "15:30"), "e meia", a part of the day ("3 da tarde"), "dia" before it,
  or "às" before it *and* nothing but a time-ish word after it ("às 3" yes, "as 3 placas" no).
  Hours written as words ("às duas", "dez e meia") follow the same rule;
- a time with no ``da manhã`` whose hour is 1..7 (not zero-padded: "07h" is 07:00) is read in
  the afternoon, 13..19: meetings are sold in business hours (09:00-20:00), nobody books 3 a.m.;
- a part of the day (``MORNING``, ``AFTERNOON``, ``NIGHT``) counts when a preposition comes
  before it ("de tarde", "à noite", "pela manhã"), when it follows a day ("sexta manhã",
  "amanhã cedo"), or when it is the whole message; never after "boa"/"bom" (greetings), so
  "boa tarde" and "mais tarde" are not afternoons. With a clock time it only sets am/pm;
- weekday names ("sexta", "sext", "sex", "sexta-feira", "6ª feira") mean the next such day;
  "essa sexta", "sexta que vem" and "próxima sexta" mean that same next one (in pt-BR use
  "próxima" is as often this coming one as the one after, and the bot confirms the date back);
  today's own name means today when some of what was asked is still ahead, else in 7 days
  ("que vem"/"próxima" on today's name: always in 7 days). "quarta da semana que vem" is the
  Wednesday of next week; "semana que vem" alone is Monday 00:00 to Saturday 00:00 of next week,
  and with a time or part of day it is read on that Monday;
- a time or part of the day with no day is today if still ahead (for a clock time, from the
  instant itself on), else tomorrow; "dia 12" is this month's 12th unless it is past, then next
  month's; "12/12" and "12 de dezembro" are this year's unless past, then next year's; a date
  with its year ("12/12/2026") or "hoje de manhã" is read as said even when past (the caller,
  which knows the free slots, answers that);
- ranges ("das 14 às 16", "entre 14h e 16h", "14-16h") and bounds ("depois das 15h" up to the
  end of ``NIGHT``, "antes das 11" from the start of ``MORNING``) are spans, not exact times;
- short abbreviations that are also words ("ter", "dom", "seg") count only in a day-ish context
  ("na ter", "ter 10h"); "a segunda" alone, or "segunda opção", is the second option, not Monday;
- impossible values ("25h", "dia 32", "31/02", "12 da noite") make the whole answer None, so the
  bot asks again instead of booking something else; durations ("em 2h", "leva 2 horas") are not
  times; a piece with "não" right next to it is ruled out ("hoje não", "não posso sexta").

Not read (None, or read without that part): relative amounts ("daqui a 2 horas", "em 3 dias"),
"agora", "essa semana", "fim de semana", "meia-noite", "madrugada" alone, negation further away
("sexta às 10 não dá" reads Friday), hours in words with no marker ("dez horas"), "15.30" and
"1530", recurring days ("às terças"). Computed with aware datetimes in the zone given, never by
adding 86400 seconds.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Optional, Union
from zoneinfo import ZoneInfo

__all__ = ["AFTERNOON", "MORNING", "NIGHT", "PartOfDay", "WhenAsked", "read_when"]


@dataclass(frozen=True)
class WhenAsked:
    """What the lead asked for: ``[start, end)`` in Unix seconds (``end == start`` when exact)."""

    start: float
    end: float
    exact: bool  # a clock time was named ("às 15h"), not a day or part of a day
    text: str  # the part of the message that was read, for logs and tests


@dataclass(frozen=True)
class PartOfDay:
    """A part of the day on the local clock, ``[start, end)``."""

    start: time
    end: time


MORNING = PartOfDay(time(6, 0), time(12, 0))
AFTERNOON = PartOfDay(time(12, 0), time(18, 0))
NIGHT = PartOfDay(time(18, 0), time(23, 0))
PARTS = {"manha": MORNING, "tarde": AFTERNOON, "noite": NIGHT}
PART_WORDS = {"manha": "manha", "manhazinha": "manha", "cedo": "manha", "cedinho": "manha",
              "tarde": "tarde", "tardinha": "tarde", "noite": "noite", "noitinha": "noite"}
PM_SHIFT_HOURS = range(1, 8)  # a bare "às 3" is 15:00 (see the module docstring)
MIN_YEAR, MAX_YEAR = 2000, 2100  # an explicit year outside is a typo, not a meeting
LEAP_SEARCH_YEARS = 5  # "29/02" without a year: the next year that has one
MONTHS_FOR_DAY = 3  # "dia 31": this month or the next ones that have a 31st
CONTEXT_CHARS = 60  # how far to look for the words around a piece
MASK = "#"  # replaces a piece already read (not a word character, not in any pattern)
FLAGS = re.ASCII | re.VERBOSE

WEEKDAYS = {"segunda": 0, "seg": 0, "terca": 1, "ter": 1, "quarta": 2, "qua": 2, "quinta": 3, "qui": 3,
            "sexta": 4, "sext": 4, "sex": 4, "sabado": 5, "sab": 5, "domingo": 6, "dom": 6}
WEAK_WEEKDAYS = frozenset({"seg", "ter", "qua", "qui", "sex", "sext", "sab", "dom"})  # also words/abbreviations
ORDINAL_WEEKDAYS = frozenset({"segunda", "quarta", "quinta", "sexta"})  # also "second", "fourth"...
MONTHS = {"janeiro": 1, "jan": 1, "fevereiro": 2, "fev": 2, "marco": 3, "mar": 3, "abril": 4, "abr": 4,
          "maio": 5, "mai": 5, "junho": 6, "jun": 6, "julho": 7, "jul": 7, "agosto": 8, "ago": 8,
          "setembro": 9, "set": 9, "outubro": 10, "out": 10, "novembro": 11, "nov": 11,
          "dezembro": 12, "dez": 12}
HOUR_WORDS = {"uma": 1, "duas": 2, "tres": 3, "quatro": 4, "cinco": 5, "seis": 6, "sete": 7,
              "oito": 8, "nove": 9, "dez": 10, "onze": 11, "doze": 12}

# Words that may follow a bare "às 3" for it to be a time ("às 3 amanhã", "as 3?"), not a count
# ("as 3 placas", "as 2 opções").
FOLLOWERS = frozenset("""
    e ou de do da no na nesse neste nessa nesta em dia amanha amanh hoje hj pode podemos posso pra para
    ta to fica ficaria seria serve entao ok blz beleza certo mesmo tambem pf pfv por favor horario hr hrs
    sim tranquilo perfeito combinado ai la ponto certinho que q se tudo bem obrigado obrigada vlw valeu
    me nos com hein semana proxima confirmado fechado tem manha tarde noite ne
    """.split()) | frozenset(WEEKDAYS)
# Words before a number that make it a duration or an amount, not a time ("em 2h", "leva 2 horas").
DURATION_BEFORE = frozenset("""
    em daqui durante por ha faz leva levar levaria levam demora demorar demoraria dura durar mais menos
    quase cada de tenho
    """.split())
NEGATED_VERBS = frozenset({"posso", "consigo", "da", "rola", "vai", "vou", "tenho", "podemos", "funciona", "serve"})
GREETINGS = frozenset({"boa", "bom", "boas", "bons"})
PART_PREPOSITIONS = (r"de|da|a|na|no|pela|pelo|pra|para|nessa|nesta|essa|esta|so|somente|apenas"
                     r"|fim\s+da|fim\s+de|final\s+da|final\s+de")
WEEKDAY_QUALIFIERS = frozenset({"na", "no", "essa", "esta", "nessa", "nesta", "proxima", "prox", "ate", "pra",
                                "para", "dia"})
STRICT_NEXT = frozenset({"proxima", "prox"})
# Before "ter", "dom"...: the word is a verb or a noun there ("vai ter", "o dom").
NOT_A_DAY_BEFORE = frozenset("""
    vai vou vamos pode posso podemos deve devo precisa preciso tem tenho quero queria gostaria sem de a o
    um uma que vao iria ia consigo consegue como seu meu teu
    """.split())
OPTION_WORDS = frozenset({"opcao", "alternativa", "opc", "op", "vez", "horario", "hora", "sugestao", "data",
                          "proposta"})

# --------------------------------------------------------------------------- patterns

_HOUR_WORD = "(?:" + "|".join(sorted(HOUR_WORDS, key=len, reverse=True)) + r")\b"
_UNIT = r"(?:horas|hora|hras|hrs|hr|hs|h)\b"
_START = r"(?<![\w/.,:$])"  # not inside a word, a number, a date or an amount
_CLOCK = rf"""
(?:
    (?P<hm_h>[0-9]{{1,2}})\s*(?::|hrs|hr|hs|h)\s*(?P<hm_m>[0-9]{{2}})(?![0-9])(?:\s*(?:min|hrs|hr|hs|h)\b)?
  | (?P<u_h>[0-9]{{1,2}}|{_HOUR_WORD})\s*{_UNIT}
        (?:\s+e\s+(?:(?P<u_half>meia)\b|(?P<u_m>[0-9]{{1,2}})(?![0-9])(?!\s*(?:h|:))(?:\s*(?:minutos|min)\b)?))?
  | (?P<noon>meio\s*-?\s*dia)\b(?:\s+e\s+(?P<noon_half>meia)\b)?
  | (?P<b_h>[0-9]{{1,2}}(?![0-9])|{_HOUR_WORD})(?:\s+e\s+(?P<b_half>meia)\b)?
)"""
_CLOCK_LITE = re.sub(r"\(\?P<\w+>", "(?:", _CLOCK)  # the same, without names, to be used twice
_PART_SUFFIX = r"(?:\s*(?:da|de|do|pela|a|na)\s+(?P<part>manha|tarde|noite|madrugada)\b)?"

CLOCK_ALONE = re.compile(_CLOCK + r"(?P<part>)", FLAGS)  # parses one side of a range or bound
CLOCK_RE = re.compile(rf"{_START}(?:(?P<prefix>as|a|pelas)\s+)?{_CLOCK}{_PART_SUFFIX}", FLAGS)
RANGE_RE = re.compile(rf"""{_START}(?:(?P<lead>entre|das|dos|de|da)\s+)?(?P<a>{_CLOCK_LITE})
    \s*(?P<sep>-|\b(?:e|as|a|ate|aos|ao)\b)\s*(?:as\s+)?(?P<b>{_CLOCK_LITE}){_PART_SUFFIX}""", FLAGS)
BOUND_RE = re.compile(rf"""{_START}(?P<kind>depois|apos|a\s+partir|antes|ate)\s+(?:(?:das|dos|da|do|as|a|o)\s+)?
    (?P<a>{_CLOCK_LITE}){_PART_SUFFIX}""", FLAGS)
NUMERIC_DATE_RE = re.compile(rf"""{_START}(?:dia\s+)?(?P<d>[0-9]{{1,2}})\s*/\s*(?P<m>[0-9]{{1,2}})
    (?:\s*/\s*(?P<y>[0-9]{{4}}|[0-9]{{2}}))?(?![0-9/])""", FLAGS)
NAMED_DATE_RE = re.compile(rf"""{_START}(?:dia\s+)?(?P<d>[0-9]{{1,2}})o?\s*(?:de\s+|/\s*)?
    (?P<mon>{"|".join(sorted(MONTHS, key=len, reverse=True))})\b\.?(?:\s*(?:de\s+|/\s*)?(?P<y>[0-9]{{4}})(?![0-9]))?""",
                           FLAGS)
DAY_RE = re.compile(r"""(?<!bom\s)(?<!meio\s)(?<!meio-)(?<![\w])dia\s+(?P<d>[0-9]{1,2})o?
    (?![0-9/:]|[.,][0-9]|\s*(?:horas|hora|hrs|hr|hs|h)\b)""", FLAGS)
RELATIVE_RE = re.compile(r"""(?<![\w])(?:(?P<after>(?:depois|dps)\s+d[e']?\s*(?:amanha|amanh|amnh|amanhan))
    |(?P<tomorrow>amanha|amanh|amnh|amanhan|amanhaa)|(?P<today>hoje|hj|hje))\b""", FLAGS)
WEEK_RE = re.compile(r"""(?<![\w])(?:(?:da|na)\s+)?(?:semana\s+que\s+vem|semana\s+q\s+vem|proxima\s+semana
    |prox\s+semana|semana\s+proxima|outra\s+semana)\b""", FLAGS)
WEEKDAY_RE = re.compile(rf"""(?<![\w])(?:(?P<wd>{"|".join(sorted(WEEKDAYS, key=len, reverse=True))})
    |(?<![/.,:$])(?P<n>[2-6])\s*[ao]?(?=\s*-?\s*feira))(?P<feira>\s*-?\s*feira\b|-f\b)?\b\.?
    (?P<after>\s+(?:que\s+vem|q\s+vem|proxima)\b)?""", FLAGS)
PART_RE = re.compile(rf"""(?<![\w])(?:(?P<prep>{PART_PREPOSITIONS})\s+)?
    (?P<part>manhazinha|manha|tardinha|tarde|noitinha|noite|cedinho|cedo)\b""", FLAGS)
TOKEN_RE = re.compile(r"[a-z0-9]+|[^a-z0-9\s]")
TER_CONTEXT_RE = re.compile(r"\s*(?:,\s*)?(?:(?:as|a)\s+)?[0-9]|\s+(?:(?:de|a|pela|na)\s+)?(?:manha|tarde|noite)\b")


# --------------------------------------------------------------------------- pieces


class _Impossible(Exception):
    """A value no calendar has ("25h", "dia 32"): the whole message reads as None."""


@dataclass(frozen=True)
class _Clock:
    hour: int
    minute: int
    pm_default: bool  # hour 1..7 written without a zero: afternoon unless a part says otherwise
    part: Optional[str]  # "manha", "tarde", "noite", "madrugada" right after it
    marked: bool  # a unit, "e meia", noon or a part: a time on its own
    word: Optional[str]  # the hour as a word ("duas")


@dataclass(frozen=True)
class _Day:
    start: int
    end: int
    kind: str  # "date", "relative", "weekday", "week"
    day: Optional[date] = None
    weekday: int = 0
    strict: bool = False  # "próxima sexta" said on a Friday: never today


@dataclass(frozen=True)
class _Time:
    start: int
    end: int
    kind: str  # "at", "range", "after", "before"
    first: _Clock
    last: Optional[_Clock] = None


@dataclass(frozen=True)
class _Part:
    start: int
    end: int
    name: str  # "manha", "tarde" or "noite"


_Piece = Union[_Day, _Time, _Part]


def _normalize(text: str) -> tuple[str, list[int]]:
    """Lower case without accents, and for each character the index of the original one."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for piece in unicodedata.normalize("NFKD", char.lower()):
            if not unicodedata.combining(piece):
                chars.append(" " if piece.isspace() else piece)
                origin.append(index)
    return "".join(chars), origin


def _tokens_before(norm: str, pos: int) -> list[str]:
    """The words and punctuation just before ``pos``, nearest first."""
    return TOKEN_RE.findall(norm[max(0, pos - CONTEXT_CHARS):pos])[::-1]


def _token_after(norm: str, pos: int) -> str:
    found = TOKEN_RE.search(norm, pos, pos + CONTEXT_CHARS)
    return found.group() if found else ""


def _ends_like_a_time(norm: str, end: int) -> bool:
    after = _token_after(norm, end)
    return after == "" or after in FOLLOWERS or (not after[0].isalnum() and after not in "%$")


def _clock(match: re.Match[str]) -> _Clock:
    """The numbers of a CLOCK match (not checked: see ``_checked``)."""
    group = match.group
    part = group("part") or None
    if group("noon"):
        return _Clock(12, 30 if group("noon_half") else 0, False, part, True, None)
    if group("hm_h"):
        raw, minute, marked = group("hm_h"), int(group("hm_m")), True
    elif group("u_h"):
        raw, marked = group("u_h"), True
        minute = 30 if group("u_half") else int(group("u_m") or 0)
    else:
        raw, marked = group("b_h"), bool(group("b_half") or part)
        minute = 30 if group("b_half") else 0
    word = raw if raw in HOUR_WORDS else None
    hour = HOUR_WORDS[raw] if word else int(raw)
    return _Clock(hour, minute, not raw.startswith("0") and hour in PM_SHIFT_HOURS, part, marked, word)


def _checked(clock: _Clock) -> _Clock:
    if clock.hour > 23 or clock.minute > 59:
        raise _Impossible
    return clock


def _side(text: str, part: Optional[str]) -> _Clock:
    """One side of a range or bound, with the part of the day said after the whole of it."""
    match = CLOCK_ALONE.fullmatch(text.strip())
    if match is None:  # cannot happen: the side was matched by the same pattern
        raise _Impossible
    clock = _clock(match)
    return _Clock(clock.hour, clock.minute, clock.pm_default, part or None, clock.marked or bool(part), clock.word)


def _hour24(clock: _Clock, part_said: Optional[str]) -> int:
    part = clock.part or part_said
    hour = clock.hour
    if part in ("tarde", "noite"):
        if part == "noite" and hour == 12:
            raise _Impossible  # "12 da noite": midnight of which day?
        return hour + 12 if 1 <= hour <= 11 else hour
    if part == "manha":
        return hour
    if part == "madrugada":
        if hour > 6:
            raise _Impossible
        return hour
    return hour + 12 if clock.pm_default else hour


def _date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise _Impossible from None


def _explicit_date(day: int, month: int, year: Optional[str], today: date) -> date:
    """"12/12", "12 de dezembro": this year's unless past (then the next year that has it)."""
    if year is not None:
        full = int(year) + (2000 if len(year) == 2 else 0)
        if not MIN_YEAR <= full <= MAX_YEAR:
            raise _Impossible
        return _date(full, month, day)
    for candidate_year in range(today.year, today.year + LEAP_SEARCH_YEARS):
        try:
            candidate = date(candidate_year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise _Impossible


def _day_of_month(day: int, today: date) -> date:
    """"dia 12": this month's unless past, then the next month that has that day."""
    for ahead in range(MONTHS_FOR_DAY):
        year, month = divmod(today.month - 1 + ahead, 12)
        try:
            candidate = date(today.year + year, month + 1, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise _Impossible


# --------------------------------------------------------------------------- finding the pieces


class _Reader:
    """Finds the pieces of one message, strongest first; each masks what it read."""

    def __init__(self, norm: str, today: date) -> None:
        self.norm = norm
        self.work = list(norm)
        self.today = today
        self.days: list[_Day] = []
        self.times: list[_Time] = []
        self.parts: list[_Part] = []

    def _matches(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        return list(pattern.finditer("".join(self.work)))

    def _mask(self, start: int, end: int) -> None:
        self.work[start:end] = MASK * (end - start)

    def read(self) -> _Reader:
        self._dates()
        self._day_words()
        self._weekdays()
        self._clocks()
        self._parts()
        return self

    def _dates(self) -> None:
        for match in self._matches(NUMERIC_DATE_RE):
            found = _explicit_date(int(match["d"]), int(match["m"]), match["y"], self.today)
            self._add_day(_Day(match.start(), match.end(), "date", found))
        for match in self._matches(NAMED_DATE_RE):
            found = _explicit_date(int(match["d"]), MONTHS[match["mon"]], match["y"], self.today)
            self._add_day(_Day(match.start(), match.end(), "date", found))
        for match in self._matches(DAY_RE):
            day = int(match["d"])
            if not 1 <= day <= 31:
                raise _Impossible
            self._add_day(_Day(match.start(), match.end(), "date", _day_of_month(day, self.today)))

    def _day_words(self) -> None:
        for match in self._matches(RELATIVE_RE):
            offset = 2 if match["after"] else 1 if match["tomorrow"] else 0
            self._add_day(_Day(match.start(), match.end(), "relative", self.today + timedelta(days=offset)))
        for match in self._matches(WEEK_RE):
            self._add_day(_Day(match.start(), match.end(), "week"))

    def _weekdays(self) -> None:
        for match in self._matches(WEEKDAY_RE):
            name = match["wd"]
            before = _tokens_before(self.norm, match.start())
            previous = before[0] if before else ""
            if name and not match["feira"] and not self._is_weekday(name, before, match):
                continue
            start = match.start()
            if previous in WEEKDAY_QUALIFIERS - {"na", "no", "ate", "pra", "para", "dia"}:
                start = self.norm.rindex(previous, 0, start)  # "essa sexta", "próxima sexta": read too
            weekday = WEEKDAYS[name] if name else int(match["n"]) - 2
            strict = previous in STRICT_NEXT or bool(match["after"])
            self._add_day(_Day(start, match.end(), "weekday", weekday=weekday, strict=strict))

    def _is_weekday(self, name: str, before: list[str], match: re.Match[str]) -> bool:
        previous = before[0] if before else ""
        after = _token_after(self.norm, match.end())
        if name in ORDINAL_WEEKDAYS and (after in OPTION_WORDS or previous in ("a", "o") and (
                len(before) < 2 or before[1] not in ("ate", "pra", "para"))):
            return False  # "a segunda", "sexta opção": an ordinal
        if name not in WEAK_WEEKDAYS:
            return True
        if previous.isdigit() or previous in NOT_A_DAY_BEFORE:
            return False  # "30 seg", "vai ter", "o dom"
        if name != "ter" or previous in WEEKDAY_QUALIFIERS:
            return True
        # "ter" is mostly the verb: Tuesday only before a time or part of the day, or alone.
        rest = self.norm[match.end():match.end() + CONTEXT_CHARS]
        return bool(TER_CONTEXT_RE.match(rest)) or not (self.norm[:match.start()] + rest).strip(" ?!.,")

    def _negated(self, start: int, end: int) -> bool:
        """"hoje não", "não posso sexta": a piece said only to rule it out."""
        before = _tokens_before(self.norm, start)
        return _token_after(self.norm, end) in ("nao", "n") or bool(before) and (
            before[0] == "nao" or len(before) > 1 and before[1] == "nao" and before[0] in NEGATED_VERBS)

    def _add_day(self, day: _Day) -> None:
        if not self._negated(day.start, day.end):
            self.days.append(day)
        self._mask(day.start, day.end)

    def _add_time(self, found: _Time) -> None:
        if not self._negated(found.start, found.end):
            self.times.append(found)
        self._mask(found.start, found.end)

    def _clocks(self) -> None:
        for match in self._matches(RANGE_RE):
            lead, sep = match["lead"], match["sep"]
            first, last = _side(match["a"], match["part"]), _side(match["b"], match["part"])
            if lead == "entre" and sep != "e" or lead and lead != "entre" and sep == "e":
                continue  # "entre 14 e 16", "das 14 às 16"
            if not lead and (sep not in ("-", "ate") or not (first.marked or last.marked)):
                continue  # "14-16h" yes, "12-12" no
            if last.marked or _ends_like_a_time(self.norm, match.end()):
                self._add_time(_Time(match.start(), match.end(), "range", _checked(first), _checked(last)))
        for match in self._matches(BOUND_RE):
            clock = _side(match["a"], match["part"])
            if clock.marked or _ends_like_a_time(self.norm, match.end()):
                kind = "before" if match["kind"] in ("antes", "ate") else "after"
                self._add_time(_Time(match.start(), match.end(), kind, _checked(clock)))
        for match in self._matches(CLOCK_RE):
            clock, prefix = _clock(match), match["prefix"]
            if clock.word and not (prefix or clock.part or match["b_half"] or match["u_half"]):
                continue  # "dez horas de sol", "uma hora livre"
            if not clock.marked and not (prefix in ("as", "pelas") or prefix == "a" and clock.word == "uma"):
                continue  # a number alone: an option, an amount
            if not clock.marked and not _ends_like_a_time(self.norm, match.end()):
                continue  # "as 3 placas"
            before = _tokens_before(self.norm, match.start())
            if prefix not in ("as", "pelas") and before and (before[0] in DURATION_BEFORE or len(before) > 1 and (
                    before[0] in ("a", "uns", "umas") and before[1] in DURATION_BEFORE)):
                continue  # "em 2h", "daqui a 2 horas", "leva 1h"
            self._add_time(_Time(match.start(), match.end(), "at", _checked(clock)))

    def _parts(self) -> None:
        bare_message = re.sub(r"[^a-z0-9]+", "", self.norm)
        for match in self._matches(PART_RE):
            before = _tokens_before(self.norm, match.start())
            word = match["part"]
            if before and before[0] in GREETINGS:
                continue  # "boa tarde"
            early = word.startswith("ced")  # "amanhã cedo", never "cedo" alone
            if (not match["prep"] or early) and not self._next_to_a_day(match.start(), match.end()) and (
                    early or bare_message != word):
                continue  # "mais tarde", "chego tarde"
            if not self._negated(match.start(), match.end()):
                self.parts.append(_Part(match.start(), match.end(), PART_WORDS[word]))
            self._mask(match.start(), match.end())

    def _next_to_a_day(self, start: int, end: int) -> bool:
        """"sexta manhã", "amanhã cedo", "manhã de sexta"."""
        return any(day.end <= start and re.fullmatch(r"[\s,-]*", self.norm[day.end:start]) or
                   day.start >= end and re.fullmatch(r"\s*,?\s*(?:(?:de|da|do|na|no)\s+)?", self.norm[end:day.start])
                   for day in self.days if day.kind != "week")


# --------------------------------------------------------------------------- resolving


@dataclass(frozen=True)
class _Asked:
    start: datetime
    end: datetime
    exact: bool

    def ahead_of(self, now: float) -> bool:
        return self.start.timestamp() >= now if self.exact else self.end.timestamp() > now


def _at(day: date, hour: int, minute: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour, minute), tz)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tz)


def _on(day: date, found: Optional[_Time], part: Optional[str], tz: ZoneInfo) -> _Asked:
    """What was asked on ``day``: the clock time, range or bound, else the part of the day, else all of it."""
    if found is not None:
        first = _at(day, _hour24(found.first, part), found.first.minute, tz)
        if found.kind == "at":
            return _Asked(first, first, True)
        if found.kind == "range" and found.last is not None:
            last = _at(day, _hour24(found.last, part), found.last.minute, tz)
            if found.first.pm_default and part is None and found.first.part is None and first >= last:
                first = _at(day, found.first.hour, found.first.minute, tz)  # "das 7 às 9": morning
            if last <= first:
                raise _Impossible
            return _Asked(first, last, False)
        if found.kind == "after":
            night_end = datetime.combine(day, NIGHT.end, tz)
            return _Asked(first, night_end if first < night_end else _midnight(day + timedelta(days=1), tz), False)
        morning = datetime.combine(day, MORNING.start, tz)
        if first <= _midnight(day, tz):
            raise _Impossible  # nothing is before 00:00
        return _Asked(morning if morning < first else _midnight(day, tz), first, False)
    if part is not None:
        return _Asked(datetime.combine(day, PARTS[part].start, tz), datetime.combine(day, PARTS[part].end, tz), False)
    return _Asked(_midnight(day, tz), _midnight(day + timedelta(days=1), tz), False)


def _resolve(reader: _Reader, now: float, tz: ZoneInfo) -> Optional[tuple[_Asked, list[_Piece]]]:
    today = reader.today
    found = min(reader.times, key=lambda piece: piece.start, default=None)
    part_piece = min(reader.parts, key=lambda piece: piece.start, default=None)
    part = part_piece.name if part_piece else None
    used: list[_Piece] = [piece for piece in (found, part_piece) if piece is not None]
    week = next((day for day in reader.days if day.kind == "week"), None)
    dates = sorted((day for day in reader.days if day.kind == "date"), key=lambda day: day.start)
    others = sorted((day for day in reader.days if day.kind in ("relative", "weekday")), key=lambda day: day.start)
    chosen = (dates + others)[0] if dates or others else None
    next_monday = today + timedelta(days=7 - today.weekday())

    if chosen is None:
        if week is not None:  # "semana que vem": the week, or its Monday at the time asked
            used.append(week)
            if found is None and part is None:
                return _Asked(_midnight(next_monday, tz), _midnight(next_monday + timedelta(days=5), tz), False), used
            return _on(next_monday, found, part, tz), used
        if not used:
            return None
        asked = _on(today, found, part, tz)  # a time alone: today if still ahead, else tomorrow
        return (asked if asked.ahead_of(now) else _on(today + timedelta(days=1), found, part, tz)), used
    used.append(chosen)
    if chosen.day is not None:
        return _on(chosen.day, found, part, tz), used
    if week is not None:  # "quarta da semana que vem"
        used.append(week)
        return _on(next_monday + timedelta(days=chosen.weekday), found, part, tz), used
    ahead = (chosen.weekday - today.weekday()) % 7
    if ahead == 0:  # today's own name: today while what was asked is still ahead
        asked = _on(today, found, part, tz)
        if not chosen.strict and asked.ahead_of(now):
            return asked, used
        ahead = 7
    return _on(today + timedelta(days=ahead), found, part, tz), used


def read_when(text: str, now: float, tz: ZoneInfo) -> Optional[WhenAsked]:
    """The date or time a lead's message asks for, or None when it names none (or an impossible one)."""
    norm, origin = _normalize(text)
    today = datetime.fromtimestamp(now, tz).date()
    try:
        resolved = _resolve(_Reader(norm, today).read(), now, tz)
    except _Impossible:
        return None
    if resolved is None:
        return None
    asked, used = resolved
    first, last = min(piece.start for piece in used), max(piece.end for piece in used)
    read = text[origin[first]:origin[last - 1] + 1].strip()
    return WhenAsked(asked.start.timestamp(), asked.end.timestamp(), asked.exact, read)
