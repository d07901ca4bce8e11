"""Booking against the fake Google (real HTTP, a signed JWT) and the session's Redis: offer, book,
two leads racing for one time, the calendar down and the retry, move, cancel, and an event
deleted or moved in the calendar."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

import pytest
from redis import asyncio as aioredis

from meetings.booking import Booker, BookingRequest, Outcome, event_body
from meetings.google_calendar import GoogleCalendarClient, ServiceAccount, parse_time
from meetings.settings import CalendarSettings
from meetings.store import MeetingRecord, MeetingStore
from sdr.vocabulary import MeetingNotice, MeetingStatus
from tests.fake_google_calendar import FakeGoogleCalendar, TestKey, write_service_account_key

ANA, BRUNO = "ana.souza@solarprime.com.br", "bruno@solarprime.com.br"
MONDAY_8H = parse_time("2026-12-07T08:00:00-03:00")  # now, in these tests
TUESDAY_10H = parse_time("2026-12-08T10:00:00-03:00")
HOUR = 3600.0
LEAD, OTHER = "5511987654321", "5521998765432"


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> TestKey:
    return write_service_account_key(tmp_path_factory.mktemp("google-key"))


@pytest.fixture(scope="module")
def module_fake(key: TestKey) -> Iterator[FakeGoogleCalendar]:
    with FakeGoogleCalendar() as fake:
        fake.trust(key)
        yield fake


@pytest.fixture
def fake(module_fake: FakeGoogleCalendar) -> Iterator[FakeGoogleCalendar]:
    module_fake.come_back()
    module_fake.reset()
    module_fake.add_calendar(ANA)
    module_fake.add_calendar(BRUNO)
    yield module_fake
    module_fake.come_back()


def settings_for(fake: FakeGoogleCalendar, key: TestKey, **extra: str) -> CalendarSettings:
    return CalendarSettings.from_env({
        "GOOGLE_CALENDAR_CREDENTIALS": str(key.path), "GOOGLE_CALENDAR_IDS": f"{ANA},{BRUNO}",
        "GOOGLE_CALENDAR_BASE_URL": fake.url, "GOOGLE_OAUTH_TOKEN_URL": fake.token_url,
        "REVIEW_PUBLIC_URL": "https://painel.solarprime.com.br", **extra,
    })


def run(fake: FakeGoogleCalendar, key: TestKey, redis_port: int, prefix: str,
        body: Callable[[Booker], Awaitable[Any]], **extra: str) -> Any:
    settings = settings_for(fake, key, **extra)

    async def main() -> Any:
        redis = aioredis.Redis(port=redis_port, decode_responses=True)
        try:
            async with GoogleCalendarClient(ServiceAccount.from_file(Path(key.path)), base_url=fake.url,
                                            token_url=fake.token_url, timeout_seconds=2.0) as client:
                return await body(Booker(settings, client, MeetingStore(redis, prefix), "/conversations/c0"))
        finally:
            await redis.close()

    return asyncio.run(main())


def request(conversation: str = LEAD, kind: str = "visita") -> BookingRequest:
    return BookingRequest(conversation, kind, address="Rua das Flores, 123, Centro", lead_name="Maria",
                          summary="Lead: conta de R$ 450,00/mês, Campinas/SP", phone="+55 11 98765-4321")


def all_events(fake: FakeGoogleCalendar) -> list[dict[str, Any]]:
    return [e for calendar in (ANA, BRUNO) for e in fake.events(calendar) if e.get("status") != "cancelled"]


def test_three_offers_on_different_days_and_the_booked_event_says_who_where_and_how_to_reach(
        fake: FakeGoogleCalendar, key: TestKey, redis_port: int, prefix: str) -> None:
    async def body(booker: Booker) -> Any:
        offered = await booker.offer(MONDAY_8H)
        result = await booker.book(request(), offered[1].start, MONDAY_8H)
        return offered, result, await booker.store.get(LEAD), await booker.store.reminders(LEAD)

    offered, result, record, reminders = run(fake, key, redis_port, prefix, body)
    assert len(offered) == 3 and len({int(slot.start // 86400) for slot in offered}) >= 2
    assert result.outcome is Outcome.BOOKED and record == result.record
    assert record.status == MeetingStatus.BOOKED.value and record.start == offered[1].start
    [event] = all_events(fake)
    assert event["id"] == record.event_id
    assert event["location"] == "Rua das Flores, 123, Centro"
    assert "+55 11 98765-4321" in event["description"]
    assert "https://painel.solarprime.com.br/conversations/c0" in event["description"]
    assert parse_time(event["start"]["dateTime"]) == record.start
    assert parse_time(event["end"]["dateTime"]) - record.start == 45 * 60
    assert reminders == [(MeetingNotice.REMINDER_DAY.value, record.start - 24 * HOUR),
                         (MeetingNotice.REMINDER_HOURS.value, record.start - 2 * HOUR)]


def test_two_leads_racing_for_one_time_one_gets_it_and_the_other_the_nearest(
        fake: FakeGoogleCalendar, key: TestKey, redis_port: int, prefix: str) -> None:
    fake.add_busy(BRUNO, TUESDAY_10H - 4 * HOUR, TUESDAY_10H + 4 * HOUR)  # only Ana is free then

    async def body(booker: Booker) -> Any:
        return await asyncio.gather(*(booker.book(request(lead), TUESDAY_10H, MONDAY_8H)
                                      for lead in (LEAD, OTHER, "5531977776666")))

    results = run(fake, key, redis_port, prefix, body)
    outcomes = sorted(result.outcome.value for result in results)
    assert outcomes == ["booked", "taken", "taken"]
    assert len(all_events(fake)) == 1
    for result in results:
        if result.outcome is Outcome.TAKEN:
            assert result.alternatives and TUESDAY_10H not in [slot.start for slot in result.alternatives]


def test_round_robin_gives_the_next_lead_the_other_consultant(
        fake: FakeGoogleCalendar, key: TestKey, redis_port: int, prefix: str) -> None:
    async def body(booker: Booker) -> Any:
        first = await booker.book(request(LEAD), TUESDAY_10H, MONDAY_8H)
        second = await booker.book(request(OTHER), TUESDAY_10H, MONDAY_8H)
        return first, second

    first, second = run(fake, key, redis_port, prefix, body)
    assert {first.record.calendar_id, second.record.calendar_id} == {ANA, BRUNO}


def test_a_time_busy_in_the_calendar_is_not_booked(
        fake: FakeGoogleCalendar, key: TestKey, redis_port: int, prefix: str) -> None:
    for calendar in (ANA, BRUNO):
        fake.add_busy(calendar, TUESDAY_10H + 30 * 60, TUESDAY_10H + 90 * 60)  # inside the buffer

    result = run(fake, key, redis_port, prefix, lambda booker: booker.book(request(), TUESDAY_10H, MONDAY_8H))
    assert result.outcome is Outcome.TAKEN and all_events(fake) == []
    assert len(result.alternatives) == 3


def test_calendar_down_the_request_waits_and_the_retry_books_it_once(
        fake: FakeGoogleCalendar, key: TestKey, redis_port: int, prefix: str) -> None:
    async def body(booker: Booker) -> Any:
        await booker.client.access_token()
        fake.go_down()
        pending = await booker.book(request(), TUESDAY_10H, MONDAY_8H)
        waiting = await booker.store.pending()
        nothing_yet = await booker.retry_pending(LEAD, MONDAY_8H + 60)  # still down
        fake.come_back()
        due = await booker.store.claim_due_pending(MONDAY_8H + 400, 60, 10)
        notice = await booker.retry_pending(due[0], MONDAY_8H + 400)
        again = await booker.retry_pending(LEAD, MONDAY_8H + 500)
        return pending, waiting, nothing_yet, notice, again, await booker.store.pending()

    pending, waiting, nothing_yet, notice, again, left = run(fake, key, redis_port, prefix, body)
    assert pending.outcome is Outcome.PENDING and pending.record.status == MeetingStatus.PENDING.value
    assert [conversation for conversation, _ in waiting] == [LEAD]
    assert nothing_yet is None
    assert notice is not None and notice[0] is MeetingNotice.CONFIRMED
    assert notice[1].status == MeetingStatus.BOOKED.value and notice[1].start == TUESDAY_10H
    assert again is None and left == []
    assert len(all_events(fake)) == 1


def test_a_lost_insert_is_found_not_made_twice(
        fake: FakeGoogleCalendar, key: TestKey, redis_port: int, prefix: str) -> None:
    """The insert reached Google but its answer was lost (the request stayed pending): the retry
    finds the event by the id derived from the request instead of creating a second one."""
    async def body(booker: Booker) -> Any:
        record = MeetingRecord(LEAD, ANA, TUESDAY_10H, TUESDAY_10H + 2700, "visita", MeetingStatus.PENDING.value,
                               request_id=f"{LEAD}|lost")
        await booker.client.insert_event(ANA, event_body(request(), record.start, record.end, booker.settings),
                                         record.request_id)
        await booker.store.save(record)
        await booker.store.queue_pending(LEAD, MONDAY_8H)
        return await booker.retry_pending(LEAD, MONDAY_8H + 60)

    notice = run(fake, key, redis_port, prefix, body)
    assert notice[0] is MeetingNotice.CONFIRMED and notice[1].event_id
    assert len(all_events(fake)) == 1


def test_move_keeps_the_consultant_and_the_event_and_cancel_deletes_it(
        fake: FakeGoogleCalendar, key: TestKey, redis_port: int, prefix: str) -> None:
    async def body(booker: Booker) -> Any:
        booked = (await booker.book(request(), TUESDAY_10H, MONDAY_8H)).record
        moved = (await booker.book(request(), TUESDAY_10H + 24 * HOUR, MONDAY_8H, previous=booked)).record
        reminders = await booker.store.reminders(LEAD)
        cancelled = await booker.cancel(moved)
        return booked, moved, reminders, cancelled, await booker.store.reminders(LEAD)

    booked, moved, reminders, cancelled, after = run(fake, key, redis_port, prefix, body)
    assert moved.status == MeetingStatus.RESCHEDULED.value
    assert (moved.calendar_id, moved.event_id) == (booked.calendar_id, booked.event_id)
    assert [time for _, time in reminders] == [moved.start - 24 * HOUR, moved.start - 2 * HOUR]
    assert cancelled.status == MeetingStatus.CANCELLED.value and after == []
    assert all_events(fake) == []


def test_an_event_deleted_or_moved_in_the_calendar_is_noticed(
        fake: FakeGoogleCalendar, key: TestKey, redis_port: int, prefix: str) -> None:
    async def body(booker: Booker) -> Any:
        first = (await booker.book(request(LEAD), TUESDAY_10H, MONDAY_8H)).record
        second = (await booker.book(request(OTHER), TUESDAY_10H + 3 * HOUR, MONDAY_8H)).record
        unchanged = await booker.check_in_calendar(first, MONDAY_8H + 60)
        await booker.client.delete_event(first.calendar_id, first.event_id)
        new_start = "2026-12-09T15:00:00-03:00"
        await booker.client.patch_event(second.calendar_id, second.event_id, {
            "start": {"dateTime": new_start}, "end": {"dateTime": "2026-12-09T15:45:00-03:00"}})
        deleted = await booker.check_in_calendar(first, MONDAY_8H + 120)
        moved = await booker.check_in_calendar(second, MONDAY_8H + 120)
        return unchanged, deleted, moved, await booker.store.reminders(OTHER), await booker.store.watched(10)

    unchanged, deleted, moved, reminders, watched = run(fake, key, redis_port, prefix, body)
    assert unchanged is None
    assert deleted[0] is MeetingNotice.CANCELLED_IN_CALENDAR
    assert deleted[1].status == MeetingStatus.CANCELLED.value
    assert moved[0] is MeetingNotice.MOVED_IN_CALENDAR
    assert moved[1].start == parse_time("2026-12-09T15:00:00-03:00")
    assert moved[1].status == MeetingStatus.RESCHEDULED.value
    assert reminders[-1][1] == moved[1].start - 2 * HOUR
    assert watched == [OTHER]


def test_the_event_body_of_a_video_call_has_no_location() -> None:
    settings = CalendarSettings()
    body = event_body(BookingRequest(LEAD, "video", lead_name="João"), TUESDAY_10H, TUESDAY_10H + 2700, settings)
    assert "location" not in body
    assert body["summary"] == "Energia solar: videochamada com João"
    assert body["start"] == {"dateTime": "2026-12-08T10:00:00-03:00", "timeZone": "America/Sao_Paulo"}
