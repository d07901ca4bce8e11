"""Reading the lead's answer to "which time?" and "video or visit?", and the times as the lead reads them."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from actions.meeting_booking import read_kind
from meetings.choice import read_choice
from meetings.settings import CalendarSettings
from meetings.wording import options_text, when_text
from sdr.env import ConfigError

SP = ZoneInfo("America/Sao_Paulo")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=SP).timestamp()  # a Wednesday
OFFERED = [datetime(2026, 12, 3, 14, 0, tzinfo=SP).timestamp(),  # Thursday 14h
           datetime(2026, 12, 4, 10, 0, tzinfo=SP).timestamp(),  # Friday 10h
           datetime(2026, 12, 7, 16, 30, tzinfo=SP).timestamp()]  # Monday 16h30
KINDS = ("video", "visita")


@pytest.mark.parametrize("text, option", [
    ("2", 1), ("2.", 1), (" 3 ", 2), ("opção 1", 0), ("opcao 3", 2), ("quero o 2", 1), ("pode ser a 1", 0),
    ("a primeira", 0), ("o terceiro", 2), ("2️⃣", 1), ("sexta às 10h", 1), ("quinta 14h", 0),
    ("segunda 16:30", 2), ("segunda às 16h30", 2),
])
def test_an_offered_option(text: str, option: int) -> None:
    choice = read_choice(text, OFFERED, NOW, SP)
    assert (choice.option, choice.when) == (option, None)


@pytest.mark.parametrize("text", ["4", "0", "1 ou 2", "sim", "tanto faz", "", "R$ 280", "não sei"])
def test_not_an_option(text: str) -> None:
    assert not read_choice(text, OFFERED, NOW, SP).read


def test_a_time_not_offered_is_a_wanted_time() -> None:
    choice = read_choice("amanhã às 15h", OFFERED, NOW, SP)
    assert choice.option is None and choice.when is not None and choice.when.exact
    assert choice.when.start == datetime(2026, 12, 3, 15, 0, tzinfo=SP).timestamp()


def test_a_day_is_a_span_not_an_option() -> None:
    choice = read_choice("dia 2", OFFERED, NOW, SP)  # a day, never option 2
    assert choice.option is None and choice.when is not None and not choice.when.exact
    span = read_choice("sexta de manhã", OFFERED, NOW, SP).when
    assert span is not None and not span.exact
    assert span.start <= OFFERED[1] < span.end


@pytest.mark.parametrize("text, kind", [
    ("video", "video"), ("vídeo", "video"), ("videochamada", "video"), ("pode ser online", "video"),
    ("1", "video"), ("visita", "visita"), ("prefiro a visita técnica", "visita"), ("presencial", "visita"),
    ("2", "visita"), ("VISITA", "visita"),
])
def test_the_kind(text: str, kind: str) -> None:
    assert read_kind(text, KINDS) == kind


@pytest.mark.parametrize("text", ["tanto faz", "video ou visita", "3", "sim"])
def test_no_kind(text: str) -> None:
    assert read_kind(text, KINDS) is None


def test_times_read_as_a_brazilian_writes_them() -> None:
    assert when_text(OFFERED[0], SP) == "quinta-feira, 03/12, às 14h"
    assert when_text(OFFERED[2], SP) == "segunda-feira, 07/12, às 16h30"
    assert options_text(OFFERED, SP).splitlines() == [
        "1️⃣ quinta-feira, 03/12, às 14h", "2️⃣ sexta-feira, 04/12, às 10h", "3️⃣ segunda-feira, 07/12, às 16h30"]


def test_consultants_first_names(tmp_path) -> None:
    key = tmp_path / "key.json"
    key.write_text("{}")
    settings = CalendarSettings.from_env({
        "GOOGLE_CALENDAR_CREDENTIALS": str(key), "GOOGLE_CALENDAR_IDS": "ana.souza@x.com,b7@x.com,carla@x.com",
        "MEETING_CONSULTANTS": "carla@x.com=Carla Dias", "MEETING_REMINDERS": "2h,1d"})
    assert [settings.consultant_name(c) for c in settings.calendar_ids] == ["Ana", "nosso consultor", "Carla"]
    assert settings.reminders_s == (86400.0, 7200.0)
    with pytest.raises(ConfigError, match="MEETING_CONSULTANTS"):
        CalendarSettings.from_env({"GOOGLE_CALENDAR_CREDENTIALS": str(key), "GOOGLE_CALENDAR_IDS": "a@x.com",
                                   "MEETING_CONSULTANTS": "b@x.com=Bia"})
