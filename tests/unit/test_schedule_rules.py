"""Follow-up cadence, business hours and the weekly slot: pure time arithmetic."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from connectors.followups import ProactiveSettings
from sdr.schedule_rules import (
    BusinessHours,
    ScheduleConfigError,
    WeeklySlot,
    parse_delays,
    parse_duration,
)
from whatsapp.settings import load_settings

SP = ZoneInfo("America/Sao_Paulo")


def at(text: str, tz: ZoneInfo = SP) -> float:
    """'2026-11-25 21:30' in São Paulo → Unix time."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=tz).timestamp()


@pytest.mark.parametrize("text, seconds", [
    ("5s", 5), ("30m", 1800), ("24h", 86400), ("3d", 259200), (" 1.5h ", 5400), ("10S", 10),
])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "30", "m30", "30 minutos", "-5s", "0s", "1w"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ScheduleConfigError):
        parse_duration(text)


def test_delays_list():
    assert parse_delays("30m,24h,72h") == (1800, 86400, 259200)
    assert parse_delays("5s, 10s ,15s") == (5, 10, 15)
    assert parse_delays("") == ()


def test_delays_must_grow_because_each_counts_from_the_lead_message():
    with pytest.raises(ScheduleConfigError, match="must grow"):
        ProactiveSettings.from_channel(load_settings({}, {"EVOLUTION_API_KEY": "k", "FOLLOWUP_DELAYS": "24h,30m"}))


def test_settings_come_from_the_contract_variables():
    settings = ProactiveSettings.from_channel(load_settings({}, {
        "FOLLOWUP_DELAYS": "5s,10s,15s", "BUSINESS_HOURS": "08:30-18:00", "TZ_NAME": "America/Manaus",
        "WEEKLY_REPORT_TO": "5511900001111", "WEEKLY_REPORT_AT": "fri 17:30", "MEDIA_RETENTION_HOURS": "12",
    }))
    assert settings.delays == (5, 10, 15)
    assert settings.hours.tz == ZoneInfo("America/Manaus")
    assert (settings.weekly_slot.weekday, settings.weekly_slot.at.hour, settings.weekly_slot.at.minute) == (4, 17, 30)
    assert settings.report_to == "5511900001111"
    assert settings.media_retention_seconds == 12 * 3600


def test_defaults_are_the_contract_defaults():
    settings = ProactiveSettings.from_channel(load_settings({}, {}))
    assert settings.delays == (1800, 86400, 259200)
    assert settings.hours == BusinessHours.parse("09:00-20:00", "America/Sao_Paulo")
    assert settings.weekly_slot == WeeklySlot.parse("mon 09:00", "America/Sao_Paulo")
    assert settings.report_to is None


@pytest.mark.parametrize("hours, tz", [("9-20", "America/Sao_Paulo"), ("09:00-25:00", "America/Sao_Paulo"),
                                       ("09:00", "America/Sao_Paulo"), ("09:00-20:00", "Mars/Olympus")])
def test_bad_business_hours_are_refused(hours, tz):
    with pytest.raises(ScheduleConfigError):
        BusinessHours.parse(hours, tz)


def test_inside_business_hours_is_now():
    hours = BusinessHours.parse("09:00-20:00", "America/Sao_Paulo")
    assert hours.is_open(at("2026-11-25 09:00"))
    assert hours.next_opening(at("2026-11-25 14:10")) == at("2026-11-25 14:10")
    assert not hours.is_open(at("2026-11-25 20:00"))  # closing time is outside


def test_after_closing_waits_for_tomorrow_morning():
    hours = BusinessHours.parse("09:00-20:00", "America/Sao_Paulo")
    assert hours.next_opening(at("2026-11-25 21:30")) == at("2026-11-26 09:00")
    assert hours.next_opening(at("2026-11-26 03:00")) == at("2026-11-26 09:00")


def test_business_hours_are_local_time_not_utc():
    hours = BusinessHours.parse("09:00-20:00", "America/Sao_Paulo")
    # 21:30 UTC is 18:30 in São Paulo (UTC-3): open.
    assert hours.is_open(at("2026-11-25 21:30", ZoneInfo("UTC")))


def test_window_across_midnight_and_all_day():
    night = BusinessHours.parse("22:00-06:00", "America/Sao_Paulo")
    assert night.is_open(at("2026-11-25 23:00")) and night.is_open(at("2026-11-26 05:59"))
    assert night.next_opening(at("2026-11-26 12:00")) == at("2026-11-26 22:00")
    always = BusinessHours.parse("00:00-00:00", "America/Sao_Paulo")
    assert always.is_open(at("2026-11-26 03:00"))


def test_weekly_slot_latest_occurrence():
    slot = WeeklySlot.parse("mon 09:00", "America/Sao_Paulo")
    # 2026-11-25 is a Wednesday; the latest Monday 09:00 is the 23rd.
    assert slot.latest_at_or_before(at("2026-11-25 10:00")) == at("2026-11-23 09:00")
    assert slot.latest_at_or_before(at("2026-11-23 09:00")) == at("2026-11-23 09:00")
    assert slot.latest_at_or_before(at("2026-11-23 08:59")) == at("2026-11-16 09:00")
    assert slot.label(at("2026-11-23 09:00")) == "2026-11-23"


def test_weekly_slot_accepts_portuguese_day_names():
    assert WeeklySlot.parse("seg 09:00", "America/Sao_Paulo").weekday == 0
    with pytest.raises(ScheduleConfigError):
        WeeklySlot.parse("monday", "America/Sao_Paulo")


def test_each_next_step_counts_from_the_lead_and_keeps_its_gap_after_a_deferral():
    from connectors.followup_store import PlannedFollowUp
    from connectors.followups import ProactiveScheduler

    settings = ProactiveSettings.from_channel(load_settings({}, {}))  # 30m, 24h, 72h
    scheduler = ProactiveScheduler(settings, None, None, None, agent=lambda: None, output_channel=lambda: None)
    first = PlannedFollowUp("5511987654321", stage=1, quiet_since=0.0, token="t")
    # Sent on time (30 min after the lead): the second is 24 h after the lead's message.
    assert scheduler._next_due(first, now=1800.0) == 86400.0
    # Sent late (deferred to the morning, 20 h after the lead): still 23.5 h apart.
    assert scheduler._next_due(first, now=72000.0) == 72000.0 + 86400 - 1800
    second = PlannedFollowUp("5511987654321", stage=2, quiet_since=0.0, token="t")
    assert scheduler._next_due(second, now=86400.0) == 259200.0
