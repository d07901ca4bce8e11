"""meetings.when: the date or time a lead's pt-BR WhatsApp message asks for (pure, no I/O)."""
from __future__ import annotations

import random
from datetime import datetime
from typing import Optional
from zoneinfo import ZoneInfo

import pytest

from meetings.when import AFTERNOON, MORNING, NIGHT, WhenAsked, read_when

SP = ZoneInfo("America/Sao_Paulo")


def at(text: str, tz: ZoneInfo = SP) -> float:
    """'2026-12-02 10:00' in São Paulo (or tz) → Unix seconds."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=tz).timestamp()


def local(instant: float, tz: ZoneInfo = SP) -> str:
    return datetime.fromtimestamp(instant, tz).strftime("%Y-%m-%d %H:%M")


# Wednesday 2 December 2026: Thu 3, Fri 4, Sat 5, Sun 6, Mon 7, Tue 8, Wed 9, Thu 10, Fri 11, Sat 12.
NOW = {"am": at("2026-12-02 10:00"), "pm": at("2026-12-02 19:30")}

# text, now, expected local start, expected local end, exact
CASES = [
    # days
    ("amanhã", "am", "2026-12-03 00:00", "2026-12-04 00:00", False),
    ("amanha", "am", "2026-12-03 00:00", "2026-12-04 00:00", False),
    ("AMANHÃ", "am", "2026-12-03 00:00", "2026-12-04 00:00", False),
    ("amnh", "am", "2026-12-03 00:00", "2026-12-04 00:00", False),
    ("hoje", "am", "2026-12-02 00:00", "2026-12-03 00:00", False),
    ("hj", "am", "2026-12-02 00:00", "2026-12-03 00:00", False),
    ("hoje", "pm", "2026-12-02 00:00", "2026-12-03 00:00", False),
    ("depois de amanhã", "am", "2026-12-04 00:00", "2026-12-05 00:00", False),
    ("dps de amanha", "am", "2026-12-04 00:00", "2026-12-05 00:00", False),
    ("sexta", "am", "2026-12-04 00:00", "2026-12-05 00:00", False),
    ("sexta", "pm", "2026-12-04 00:00", "2026-12-05 00:00", False),
    ("sexta-feira", "am", "2026-12-04 00:00", "2026-12-05 00:00", False),
    ("sexta feira", "am", "2026-12-04 00:00", "2026-12-05 00:00", False),
    ("sext", "am", "2026-12-04 00:00", "2026-12-05 00:00", False),
    ("6ª feira", "am", "2026-12-04 00:00", "2026-12-05 00:00", False),
    ("essa sexta", "am", "2026-12-04 00:00", "2026-12-05 00:00", False),
    ("esta sexta", "am", "2026-12-04 00:00", "2026-12-05 00:00", False),
    ("sexta que vem", "am", "2026-12-04 00:00", "2026-12-05 00:00", False),
    ("próxima sexta", "am", "2026-12-04 00:00", "2026-12-05 00:00", False),
    ("proxima sexta", "am", "2026-12-04 00:00", "2026-12-05 00:00", False),
    ("ok, sexta entao", "am", "2026-12-04 00:00", "2026-12-05 00:00", False),
    ("segunda", "am", "2026-12-07 00:00", "2026-12-08 00:00", False),
    ("seg", "am", "2026-12-07 00:00", "2026-12-08 00:00", False),
    ("2a feira", "am", "2026-12-07 00:00", "2026-12-08 00:00", False),
    ("terça", "am", "2026-12-08 00:00", "2026-12-09 00:00", False),
    ("terca", "am", "2026-12-08 00:00", "2026-12-09 00:00", False),
    ("ter", "am", "2026-12-08 00:00", "2026-12-09 00:00", False),
    ("quarta", "am", "2026-12-02 00:00", "2026-12-03 00:00", False),  # today, still ahead
    ("quarta", "pm", "2026-12-02 00:00", "2026-12-03 00:00", False),
    ("quarta que vem", "am", "2026-12-09 00:00", "2026-12-10 00:00", False),  # never today
    ("quinta", "am", "2026-12-03 00:00", "2026-12-04 00:00", False),
    ("qui", "am", "2026-12-03 00:00", "2026-12-04 00:00", False),
    ("sábado", "am", "2026-12-05 00:00", "2026-12-06 00:00", False),
    ("sabado", "am", "2026-12-05 00:00", "2026-12-06 00:00", False),
    ("domingo", "am", "2026-12-06 00:00", "2026-12-07 00:00", False),
    ("dia 12", "am", "2026-12-12 00:00", "2026-12-13 00:00", False),
    ("pode ser dia 12.", "am", "2026-12-12 00:00", "2026-12-13 00:00", False),
    ("dia 2", "am", "2026-12-02 00:00", "2026-12-03 00:00", False),  # today is not past
    ("dia 1", "am", "2027-01-01 00:00", "2027-01-02 00:00", False),  # past: next month
    ("12/12", "am", "2026-12-12 00:00", "2026-12-13 00:00", False),
    ("12/12/2026", "am", "2026-12-12 00:00", "2026-12-13 00:00", False),
    ("1/12", "am", "2027-12-01 00:00", "2027-12-02 00:00", False),  # past: next year
    ("12 de dezembro", "am", "2026-12-12 00:00", "2026-12-13 00:00", False),
    ("12 de dez", "am", "2026-12-12 00:00", "2026-12-13 00:00", False),
    ("10 de janeiro", "am", "2027-01-10 00:00", "2027-01-11 00:00", False),
    ("sexta dia 11", "am", "2026-12-11 00:00", "2026-12-12 00:00", False),  # the date wins
    ("semana que vem", "am", "2026-12-07 00:00", "2026-12-12 00:00", False),  # Monday..Saturday
    ("proxima semana", "am", "2026-12-07 00:00", "2026-12-12 00:00", False),
    ("quarta da semana que vem", "am", "2026-12-09 00:00", "2026-12-10 00:00", False),
    # clock times alone: today while ahead, else tomorrow
    ("15h", "am", "2026-12-02 15:00", "2026-12-02 15:00", True),
    ("15h", "pm", "2026-12-03 15:00", "2026-12-03 15:00", True),
    ("15 h", "am", "2026-12-02 15:00", "2026-12-02 15:00", True),
    ("15hs", "am", "2026-12-02 15:00", "2026-12-02 15:00", True),
    ("15hrs", "am", "2026-12-02 15:00", "2026-12-02 15:00", True),
    ("às 15h", "am", "2026-12-02 15:00", "2026-12-02 15:00", True),
    ("às 15h", "pm", "2026-12-03 15:00", "2026-12-03 15:00", True),
    ("as 15h", "am", "2026-12-02 15:00", "2026-12-02 15:00", True),
    ("15:30", "am", "2026-12-02 15:30", "2026-12-02 15:30", True),
    ("15h30", "am", "2026-12-02 15:30", "2026-12-02 15:30", True),
    ("às 3 da tarde", "am", "2026-12-02 15:00", "2026-12-02 15:00", True),
    ("3 da tarde", "am", "2026-12-02 15:00", "2026-12-02 15:00", True),
    ("8 da noite", "am", "2026-12-02 20:00", "2026-12-02 20:00", True),
    ("as 8 da noite", "pm", "2026-12-02 20:00", "2026-12-02 20:00", True),
    ("9 da manhã", "am", "2026-12-03 09:00", "2026-12-03 09:00", True),  # 09:00 is past at 10:00
    ("meio-dia", "am", "2026-12-02 12:00", "2026-12-02 12:00", True),
    ("meio dia", "am", "2026-12-02 12:00", "2026-12-02 12:00", True),
    ("meio dia e meia", "am", "2026-12-02 12:30", "2026-12-02 12:30", True),
    ("as 10", "am", "2026-12-02 10:00", "2026-12-02 10:00", True),  # the instant itself is not past
    ("as 9", "am", "2026-12-03 09:00", "2026-12-03 09:00", True),
    ("as 3", "am", "2026-12-02 15:00", "2026-12-02 15:00", True),  # bare 1..7: afternoon
    ("as 7", "pm", "2026-12-03 19:00", "2026-12-03 19:00", True),
    ("10 e meia", "am", "2026-12-02 10:30", "2026-12-02 10:30", True),
    ("as duas da tarde", "am", "2026-12-02 14:00", "2026-12-02 14:00", True),
    # parts of the day alone
    ("de manhã", "am", "2026-12-02 06:00", "2026-12-02 12:00", False),
    ("de manha", "pm", "2026-12-03 06:00", "2026-12-03 12:00", False),
    ("à tarde", "am", "2026-12-02 12:00", "2026-12-02 18:00", False),
    ("a tarde", "pm", "2026-12-03 12:00", "2026-12-03 18:00", False),
    ("à noite", "pm", "2026-12-02 18:00", "2026-12-02 23:00", False),
    ("tarde", "am", "2026-12-02 12:00", "2026-12-02 18:00", False),
    # day and time together
    ("amanhã às 15h", "am", "2026-12-03 15:00", "2026-12-03 15:00", True),
    ("amanhã às 15h", "pm", "2026-12-03 15:00", "2026-12-03 15:00", True),
    ("amanha as 15", "am", "2026-12-03 15:00", "2026-12-03 15:00", True),
    ("amanhã, 15hs", "am", "2026-12-03 15:00", "2026-12-03 15:00", True),
    ("amanha 7h", "am", "2026-12-03 19:00", "2026-12-03 19:00", True),
    ("amanha 07h", "am", "2026-12-03 07:00", "2026-12-03 07:00", True),  # zero-padded: as written
    ("amanhã de manhã às 7", "am", "2026-12-03 07:00", "2026-12-03 07:00", True),
    ("amanhã de manhã", "am", "2026-12-03 06:00", "2026-12-03 12:00", False),
    ("amanha cedo", "am", "2026-12-03 06:00", "2026-12-03 12:00", False),
    ("hoje à noite", "am", "2026-12-02 18:00", "2026-12-02 23:00", False),
    ("sexta de manhã", "am", "2026-12-04 06:00", "2026-12-04 12:00", False),
    ("manhã de sexta", "am", "2026-12-04 06:00", "2026-12-04 12:00", False),
    ("pode ser sexta a tarde?", "am", "2026-12-04 12:00", "2026-12-04 18:00", False),
    ("sexta 10h", "am", "2026-12-04 10:00", "2026-12-04 10:00", True),
    ("sexta às 10:30", "am", "2026-12-04 10:30", "2026-12-04 10:30", True),
    ("sexta a tarde as 3", "am", "2026-12-04 15:00", "2026-12-04 15:00", True),
    ("dia 12 às 10", "am", "2026-12-12 10:00", "2026-12-12 10:00", True),
    ("dia 12 as 10h", "am", "2026-12-12 10:00", "2026-12-12 10:00", True),
    ("12/12 às 14h", "am", "2026-12-12 14:00", "2026-12-12 14:00", True),
    ("dia 12 de dezembro às 10h", "am", "2026-12-12 10:00", "2026-12-12 10:00", True),
    ("segunda de tarde", "am", "2026-12-07 12:00", "2026-12-07 18:00", False),
    ("seg 14h", "am", "2026-12-07 14:00", "2026-12-07 14:00", True),
    ("na ter as 10", "am", "2026-12-08 10:00", "2026-12-08 10:00", True),
    ("terça-feira às 14:30", "am", "2026-12-08 14:30", "2026-12-08 14:30", True),
    ("2a feira às 10", "am", "2026-12-07 10:00", "2026-12-07 10:00", True),
    ("quarta de manhã", "am", "2026-12-02 06:00", "2026-12-02 12:00", False),  # today, not over
    ("quarta de manhã", "pm", "2026-12-09 06:00", "2026-12-09 12:00", False),  # over: next week
    ("quarta 9h", "am", "2026-12-09 09:00", "2026-12-09 09:00", True),
    ("quarta 20h", "pm", "2026-12-02 20:00", "2026-12-02 20:00", True),
    ("quarta 10h", "pm", "2026-12-09 10:00", "2026-12-09 10:00", True),
    ("quinta da semana que vem às 10", "am", "2026-12-10 10:00", "2026-12-10 10:00", True),
    ("semana que vem de manhã", "am", "2026-12-07 06:00", "2026-12-07 12:00", False),  # on its Monday
    ("Bom dia! Pode ser amanhã às 10h30?", "am", "2026-12-03 10:30", "2026-12-03 10:30", True),
    ("hoje não, amanhã às 10", "am", "2026-12-03 10:00", "2026-12-03 10:00", True),
    # ranges and bounds
    ("das 14 às 16", "am", "2026-12-02 14:00", "2026-12-02 16:00", False),
    ("das 14 às 16", "pm", "2026-12-03 14:00", "2026-12-03 16:00", False),
    ("entre 14h e 16h", "am", "2026-12-02 14:00", "2026-12-02 16:00", False),
    ("das 2 as 4", "am", "2026-12-02 14:00", "2026-12-02 16:00", False),
    ("sexta das 7 as 9", "am", "2026-12-04 07:00", "2026-12-04 09:00", False),
    ("depois das 15h", "am", "2026-12-02 15:00", "2026-12-02 23:00", False),
    ("depois das 15h", "pm", "2026-12-02 15:00", "2026-12-02 23:00", False),
    ("a partir das 14h", "am", "2026-12-02 14:00", "2026-12-02 23:00", False),
    ("antes das 11", "am", "2026-12-02 06:00", "2026-12-02 11:00", False),
    ("amanhã antes do meio-dia", "am", "2026-12-03 06:00", "2026-12-03 12:00", False),
]


@pytest.mark.parametrize("text, now, start, end, exact", CASES, ids=[f"{c[0]}@{c[1]}" for c in CASES])
def test_reads_the_interval_asked(text: str, now: str, start: str, end: str, exact: bool) -> None:
    asked = read_when(text, NOW[now], SP)
    assert asked is not None
    assert (local(asked.start), local(asked.end), asked.exact) == (start, end, exact)


NOT_A_TIME = [
    "", "   ", "sim", "Sim!", "ok obrigado", "pode ser", "não sei", "tanto faz", "qualquer um", "qualquer horario",
    # option numbers and counts: a number alone is never a time or a day
    "1", "2", "3", "a 2", "quero a 3", "opção 2", "a segunda", "pode ser a segunda?", "segunda opção",
    "as 2 opções", "as 3 placas", "3 placas", "quero 10 placas", "entre 2 e 3 placas", "de 10 a 20 placas",
    # amounts, consumption, phones
    "R$ 280", "R$280,00", "280 reais", "280 kwh", "conta de 280 reais, 15 placas", "11987654321",
    "(11) 98765-4321", "12-12",
    # impossible values
    "25h", "24h", "às 25:00", "15:75", "dia 32", "dia 0", "31/02", "13/13", "12/12/1999", "amanhã às 12 da noite",
    "amanhã 25h",
    # greetings, durations, verbs, negation
    "boa tarde", "bom dia", "boa noite!", "mais tarde", "em 2h", "daqui a 2 horas", "leva 1 hora",
    "reunião de 2h", "tenho 2 horas livres", "uma hora", "vou ter que ver", "o dom", "hoje não", "amanhã não dá",
]


@pytest.mark.parametrize("text", NOT_A_TIME)
def test_reads_nothing_when_no_date_or_time_is_named(text: str) -> None:
    assert read_when(text, NOW["am"], SP) is None


@pytest.mark.parametrize("text, read", [
    ("Bom dia! Pode ser amanhã às 10h30?", "amanhã às 10h30"),
    ("boa tarde, sexta 10h", "sexta 10h"),
    ("pode ser dia 12, as 10h?", "dia 12, as 10h"),
    ("AMANHÃ ÀS 15H", "AMANHÃ ÀS 15H"),
    ("prefiro a próxima sexta de manhã", "próxima sexta de manhã"),
])
def test_text_is_the_part_of_the_message_read(text: str, read: str) -> None:
    asked = read_when(text, NOW["am"], SP)
    assert asked is not None and asked.text == read


def test_parts_of_the_day_are_the_named_windows() -> None:
    assert (MORNING.start.hour, MORNING.end.hour) == (6, 12)
    assert (AFTERNOON.start.hour, AFTERNOON.end.hour) == (12, 18)
    assert (NIGHT.start.hour, NIGHT.end.hour) == (18, 23)


@pytest.mark.parametrize("name, weekday", [("segunda", 0), ("terça", 1), ("quarta", 2), ("quinta", 3),
                                           ("sexta", 4), ("sábado", 5), ("domingo", 6)])
def test_a_weekday_name_is_the_next_such_day_from_any_day(name: str, weekday: int) -> None:
    for offset in range(7):  # now on Monday 7 .. Sunday 13 December, 10:00
        now = at(f"2026-12-{7 + offset:02d} 10:00")
        asked = read_when(name, now, SP)
        assert asked is not None
        day = datetime.fromtimestamp(asked.start, SP)
        assert day.weekday() == weekday and day.hour == 0
        assert 0 <= (day.date() - datetime.fromtimestamp(now, SP).date()).days == (weekday - offset) % 7


def test_days_are_calendar_days_across_a_daylight_saving_change() -> None:
    new_york = ZoneInfo("America/New_York")  # clocks go back at 02:00 on Sunday 1 November 2026
    asked = read_when("amanhã", at("2026-10-31 10:00", new_york), new_york)
    assert asked is not None
    assert (local(asked.start, new_york), local(asked.end, new_york)) == ("2026-11-01 00:00", "2026-11-02 00:00")
    assert asked.end - asked.start == 25 * 3600
    at_ten = read_when("amanhã às 10h", at("2026-10-31 10:00", new_york), new_york)
    assert at_ten is not None and local(at_ten.start, new_york) == "2026-11-01 10:00"


@pytest.mark.parametrize("text, now, start", [
    ("dia 30", "2026-01-31 10:00", "2026-03-30 00:00"),  # February has no 30th
    ("dia 31", "2026-04-30 10:00", "2026-05-31 00:00"),
    ("29/02", "2026-12-02 10:00", "2028-02-29 00:00"),  # the next leap year
    ("amanhã", "2026-12-31 10:00", "2027-01-01 00:00"),
    ("semana que vem", "2026-12-27 10:00", "2026-12-28 00:00"),  # on a Sunday: tomorrow's week
])
def test_month_and_year_boundaries(text: str, now: str, start: str) -> None:
    asked = read_when(text, at(now), SP)
    assert asked is not None and local(asked.start) == start


WORDS = ("as às a de da do dia 12 3 25 31 02 15h 10:30 h hs : / - e meia meio manhã tarde noite sexta ter seg "
         "próxima que vem semana amanhã hoje depois das entre antes 2026 0 dezembro dez uma duas feira 6ª 1º , "
         "? R$ kwh placas boa não 24h 7").split()
CHARS = "0123456789 /:-hHáàãçeéíóõú#$%.,?!\n\tªºaz\u0130\ufb01\u00bd\u0663"


def random_text(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 8)))
    return "".join(rng.choice(CHARS) for _ in range(rng.randint(0, 25)))


def test_never_raises_and_answers_are_well_formed_on_random_text() -> None:
    rng = random.Random(19)
    for _ in range(2000):
        text = random_text(rng)
        now = at(f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} "
                 f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}")
        asked: Optional[WhenAsked] = read_when(text, now, SP)
        if asked is not None:
            assert asked.end >= asked.start and asked.exact == (asked.start == asked.end), text
            assert asked.text and asked.text in text, text
