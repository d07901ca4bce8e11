"""meetings.slots: free meeting times from busy intervals, and the few offered to a lead (pure)."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from meetings.slots import SlotRules, free_calendars, free_slots, nearest_free, offer, search_window
from sdr.schedule_rules import BusinessHours

SP = ZoneInfo("America/Sao_Paulo")
HOURS = BusinessHours.parse("09:00-18:00", "America/Sao_Paulo")
RULES = SlotRules(hours=HOURS, meeting_s=45 * 60, buffer_s=15 * 60, days_ahead=5)
ANA, BRUNO = "ana@solarprime.com.br", "bruno@solarprime.com.br"
FREE = {ANA: [], BRUNO: []}


def at(text: str, tz: ZoneInfo = SP) -> float:
    """'2026-12-07 09:00' in São Paulo (or tz) → Unix seconds."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=tz).timestamp()


def local(instant: float, tz: ZoneInfo = SP) -> str:
    return datetime.fromtimestamp(instant, tz).strftime("%a %d %H:%M")


FRIDAY_5PM = at("2026-12-04 17:00")  # Friday; Monday is 2026-12-07


def test_slots_lie_in_business_hours_on_the_grid_and_skip_the_weekend() -> None:
    slots = free_slots(FREE, FRIDAY_5PM, RULES)
    days = sorted({local(s.start)[:6] for s in slots})
    assert days == ["Fri 11", "Mon 07", "Thu 10", "Tue 08", "Wed 09"]  # 5 business days, no Sat/Sun
    monday = [local(s.start)[-5:] for s in slots if local(s.start).startswith("Mon")]
    assert monday[0] == "09:00" and monday[-1] == "17:00" and "17:30" not in monday  # 17:30 + 45 min > 18:00
    assert all(m.endswith((":00", ":30")) for m in monday) and len(monday) == 17
    assert all(s.end - s.start == 45 * 60 and s.calendars == (ANA, BRUNO) for s in slots)


def test_today_only_from_two_hours_on() -> None:
    thursday = free_slots(FREE, at("2026-12-03 10:10"), RULES)
    assert local(thursday[0].start) == "Thu 03 12:30"  # 12:10 rounded up to the grid
    late = free_slots(FREE, at("2026-12-03 15:20"), RULES)
    assert local(late[0].start) == "Fri 04 09:00"  # 17:20 + 45 min would end after 18:00
    assert local(free_slots(FREE, at("2026-12-05 11:00"), RULES)[0].start) == "Mon 07 09:00"  # Saturday


def test_busy_intervals_block_with_the_buffer_on_both_sides() -> None:
    busy = {ANA: [(at("2026-12-07 10:00"), at("2026-12-07 11:00"))]}
    monday = [local(s.start)[-5:] for s in free_slots(busy, FRIDAY_5PM, RULES) if local(s.start).startswith("Mon")]
    # 09:00-09:45 ends exactly at the buffer's edge; 11:00 starts inside the buffer after.
    assert monday[:3] == ["09:00", "11:30", "12:00"]
    assert free_calendars(at("2026-12-07 09:30"), busy, RULES) == ()
    assert free_calendars(at("2026-12-07 11:15"), busy, RULES) == (ANA,)


def test_each_slot_knows_which_calendars_are_free() -> None:
    busy = {ANA: [(at("2026-12-07 08:00"), at("2026-12-07 12:00"))], BRUNO: [(at("2026-12-07 14:00"),
                                                                               at("2026-12-07 15:00"))]}
    by_time = {local(s.start)[-5:]: s.calendars for s in free_slots(busy, FRIDAY_5PM, RULES)
               if local(s.start).startswith("Mon")}
    assert by_time["09:00"] == (BRUNO,) and by_time["12:30"] == (ANA, BRUNO) and by_time["14:00"] == (ANA,)
    everyone_busy = {ANA: [(at("2026-12-07 00:00"), at("2026-12-12 00:00"))]}
    assert free_slots(everyone_busy, FRIDAY_5PM, RULES) == []


def test_offers_spread_over_days_and_morning_and_afternoon() -> None:
    assert [local(s.start) for s in offer(FREE, FRIDAY_5PM, RULES)] == ["Mon 07 09:00", "Tue 08 12:00",
                                                                       "Wed 09 09:00"]


def test_offers_on_a_single_free_day_keep_apart() -> None:
    busy = {ANA: [(at("2026-12-08 00:00"), at("2026-12-12 00:00"))]}  # only Monday free
    assert [local(s.start) for s in offer(busy, FRIDAY_5PM, RULES)] == ["Mon 07 09:00", "Mon 07 12:00",
                                                                       "Mon 07 14:00"]
    assert len(offer(busy, FRIDAY_5PM, RULES, count=1)) == 1
    assert offer({ANA: [(0.0, at("2027-01-01 00:00"))]}, FRIDAY_5PM, RULES) == []


def test_nearest_free_alternatives_to_a_busy_time() -> None:
    busy = {ANA: [(at("2026-12-08 09:30"), at("2026-12-08 11:00"))]}
    wanted = at("2026-12-08 10:00")
    assert [local(s.start) for s in nearest_free(wanted, busy, FRIDAY_5PM, RULES)] == [
        "Tue 08 11:30", "Tue 08 12:00", "Tue 08 12:30"]
    saturday = nearest_free(at("2026-12-12 10:00"), FREE, FRIDAY_5PM, RULES, count=2)
    assert [local(s.start) for s in saturday] == ["Fri 11 16:30", "Fri 11 17:00"]
    # a time asked for in the past or within the notice gives the soonest possible ones
    assert local(nearest_free(FRIDAY_5PM, FREE, FRIDAY_5PM, RULES, count=1)[0].start) == "Mon 07 09:00"


def test_weekdays_are_configurable() -> None:
    with_saturday = SlotRules(hours=HOURS, days_ahead=1, weekdays=frozenset(range(6)))
    assert {local(s.start)[:6] for s in free_slots(FREE, FRIDAY_5PM, with_saturday)} == {"Sat 05"}
    with pytest.raises(ValueError):
        SlotRules(hours=HOURS, weekdays=frozenset({7}))


def test_search_window_covers_every_day_offered() -> None:
    start, end = search_window(FRIDAY_5PM, RULES)
    assert start == FRIDAY_5PM and local(end) == "Fri 11 18:00"


def test_sao_paulo_has_no_daylight_saving_any_more() -> None:
    # Brazil's DST used to start in early November; since 2019 São Paulo stays at -03:00.
    slots = free_slots(FREE, at("2026-10-30 17:00"), RULES)
    firsts = {}
    for slot in slots:
        firsts.setdefault(datetime.fromtimestamp(slot.start, SP).date(), slot)
    assert all(local(s.start)[-5:] == "09:00" for s in firsts.values())
    assert {datetime.fromtimestamp(s.start, SP).utcoffset().total_seconds() for s in slots} == {-3 * 3600}


def test_a_zone_with_daylight_saving_keeps_the_wall_clock() -> None:
    new_york = ZoneInfo("America/New_York")  # DST ends on Sunday 2026-11-01
    rules = SlotRules(hours=BusinessHours.parse("09:00-18:00", "America/New_York"), days_ahead=1)
    friday, monday = at("2026-10-30 09:00", new_york), at("2026-11-02 09:00", new_york)
    slots = free_slots({ANA: []}, at("2026-10-30 06:00", new_york), rules)
    assert (slots[0].start, local(slots[0].start, new_york)) == (friday, "Fri 30 09:00")
    assert [s.start for s in slots if s.start >= monday][0] == monday
    assert monday - friday == 3 * 86400 + 3600


def test_windows_across_midnight_and_all_day() -> None:
    night = SlotRules(hours=BusinessHours.parse("22:00-02:00", "America/Sao_Paulo"), days_ahead=1)
    times = [local(s.start) for s in free_slots(FREE, FRIDAY_5PM, night)]
    assert times[:5] == ["Fri 04 22:00", "Fri 04 22:30", "Fri 04 23:00", "Fri 04 23:30", "Sat 05 00:00"]
    assert "Sat 05 01:30" not in times and "Mon 07 22:00" in times
    all_day = SlotRules(hours=BusinessHours.parse("00:00-00:00", "America/Sao_Paulo"), days_ahead=1,
                        min_notice_s=0)
    monday = [local(s.start)[-5:] for s in free_slots(FREE, at("2026-12-07 00:00"), all_day)
              if local(s.start).startswith("Mon")]
    assert monday[0] == "00:00" and monday[-1] == "23:00"
    assert date(2026, 12, 7).weekday() == 0
