"""The Google Calendar client against the fake Google over HTTP: a real signed JWT for the token,
freeBusy, events insert / get / patch / delete / list, and each family of errors."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

import pytest

from meetings.google_calendar import (
    CALENDAR_SCOPE,
    CalendarAuthError,
    CalendarError,
    CalendarNotFound,
    CalendarRateLimited,
    CalendarUnavailable,
    GoogleCalendarClient,
    ServiceAccount,
    event_id_for,
    parse_time,
    rfc3339,
)
from tests.fake_google_calendar import FakeGoogleCalendar, TestKey, write_service_account_key

ANA, BRUNO, NOBODY = "ana@solarprime.com.br", "bruno@solarprime.com.br", "nobody@solarprime.com.br"
MONDAY_9H = parse_time("2026-12-07T09:00:00-03:00")
HOUR = 3600.0


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
    module_fake.page_size = 250
    module_fake.add_calendar(ANA)
    module_fake.add_calendar(BRUNO)
    yield module_fake
    module_fake.come_back()


def run(fake: FakeGoogleCalendar, key: TestKey, body: Callable[[GoogleCalendarClient], Awaitable[Any]],
        **options: Any) -> Any:
    account = options.pop("account", None) or ServiceAccount.from_file(key.path)

    async def main() -> Any:
        async with GoogleCalendarClient(account, base_url=fake.url, token_url=options.pop("token_url", fake.token_url),
                                        timeout_seconds=5.0, **options) as client:
            return await body(client)
    return asyncio.run(main())


def meeting(start: float, summary: str = "Visita técnica — Maria") -> dict[str, Any]:
    return {"summary": summary, "start": {"dateTime": rfc3339(start), "timeZone": "America/Sao_Paulo"},
            "end": {"dateTime": rfc3339(start + 45 * 60), "timeZone": "America/Sao_Paulo"},
            "extendedProperties": {"private": {"lead": "lead-1"}}}


def test_the_token_comes_from_a_signed_jwt_and_is_reused(fake: FakeGoogleCalendar, key: TestKey) -> None:
    async def body(client: GoogleCalendarClient) -> Any:
        await client.free_busy([ANA], MONDAY_9H, MONDAY_9H + HOUR)
        await client.free_busy([ANA], MONDAY_9H, MONDAY_9H + HOUR)
    run(fake, key, body)
    [claims] = fake.assertions
    assert claims["iss"] == key.client_email and claims["aud"] == fake.token_url
    assert claims["scope"] == CALENDAR_SCOPE and claims["exp"] - claims["iat"] == 3600
    [token_request] = fake.requests_to("POST", "/token")
    assert token_request.body["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    calls = fake.requests_to("POST", "/calendar/v3/freeBusy")
    assert len(calls) == 2 and {c.headers["authorization"] for c in calls} == {"Bearer ya29.fake-1"}


def test_a_key_google_does_not_know_is_an_auth_error(fake: FakeGoogleCalendar, tmp_path: Path) -> None:
    stranger = write_service_account_key(tmp_path, "stranger@other.iam.gserviceaccount.com")
    with pytest.raises(CalendarAuthError) as caught:
        run(fake, stranger, lambda client: client.free_busy([ANA], MONDAY_9H, MONDAY_9H + HOUR))
    assert caught.value.status == 400 and caught.value.reason == "invalid_grant"
    assert "Invalid JWT Signature" in str(caught.value) and not caught.value.retryable
    assert "PRIVATE" not in str(caught.value) and "PRIVATE" not in repr(ServiceAccount.from_file(stranger.path))


def test_a_wrong_audience_is_refused(fake: FakeGoogleCalendar, key: TestKey) -> None:
    # The client signs for the URL it posts to; a proxy in between changes it, Google refuses.
    account = ServiceAccount.from_file(key.path)
    assertion = account.assertion("https://oauth2.googleapis.com/token", [CALENDAR_SCOPE], parse_time(
        "2026-01-01T00:00:00Z"))
    assert assertion.count(".") == 2
    with pytest.raises(CalendarAuthError, match="audience"):
        run(fake, key, lambda client: client.free_busy([ANA], MONDAY_9H, MONDAY_9H + HOUR),
            token_url=fake.token_url + "?via=proxy")


def test_an_unreadable_key_file_is_an_auth_error(tmp_path: Path) -> None:
    bad = tmp_path / "key.json"
    bad.write_text('{"type": "authorized_user"}')
    with pytest.raises(CalendarAuthError):
        ServiceAccount.from_file(bad)
    with pytest.raises(CalendarAuthError):
        ServiceAccount.from_file(tmp_path / "missing.json")


def test_free_busy_reads_events_and_busy_periods_and_reports_unshared_calendars(
    fake: FakeGoogleCalendar, key: TestKey,
) -> None:
    fake.add_busy(ANA, MONDAY_9H + HOUR, MONDAY_9H + 2 * HOUR)
    fake.add_busy(ANA, MONDAY_9H - 2 * HOUR, MONDAY_9H + 0.5 * HOUR)  # clipped to the query

    async def body(client: GoogleCalendarClient) -> Any:
        await client.insert_event(BRUNO, meeting(MONDAY_9H + 3 * HOUR), "booking-1")
        return await client.free_busy([ANA, BRUNO, NOBODY], MONDAY_9H, MONDAY_9H + 8 * HOUR)
    answer = run(fake, key, body)
    assert answer.busy[ANA] == ((MONDAY_9H, MONDAY_9H + 0.5 * HOUR), (MONDAY_9H + HOUR, MONDAY_9H + 2 * HOUR))
    assert answer.busy[BRUNO] == ((MONDAY_9H + 3 * HOUR, MONDAY_9H + 3.75 * HOUR),)
    assert answer.errors == {NOBODY: "notFound"} and NOBODY not in answer.busy
    [query] = fake.requests_to("POST", "/calendar/v3/freeBusy")
    assert query.body["timeMin"] == "2026-12-07T12:00:00Z" and query.body["items"][0] == {"id": ANA}


def test_insert_is_idempotent_per_request_id(fake: FakeGoogleCalendar, key: TestKey) -> None:
    async def body(client: GoogleCalendarClient) -> Any:
        first = await client.insert_event(ANA, meeting(MONDAY_9H), "lead-1/booking-1")
        again = await client.insert_event(ANA, meeting(MONDAY_9H), "lead-1/booking-1")
        return first, again
    first, again = run(fake, key, body)
    assert first["id"] == again["id"] == event_id_for("lead-1/booking-1")
    assert first["status"] == "confirmed" and first["summary"] == "Visita técnica — Maria"
    assert [e["id"] for e in fake.events(ANA)] == [first["id"]]
    inserts = fake.requests_to("POST", f"/calendar/v3/calendars/{ANA}/events")
    assert [r.status for r in inserts] == [200, 409] and inserts[0].query["sendUpdates"] == "none"


def test_conference_data_asks_for_version_1(fake: FakeGoogleCalendar, key: TestKey) -> None:
    video = {**meeting(MONDAY_9H), "conferenceData": {"createRequest": {
        "requestId": "booking-2", "conferenceSolutionKey": {"type": "hangoutsMeet"}}}}
    run(fake, key, lambda client: client.insert_event(ANA, video, "booking-2"))
    [insert] = fake.requests_to("POST", f"/calendar/v3/calendars/{ANA}/events")
    assert insert.query["conferenceDataVersion"] == "1"


def test_patch_delete_and_what_comes_after(fake: FakeGoogleCalendar, key: TestKey) -> None:
    async def body(client: GoogleCalendarClient) -> Any:
        event = await client.insert_event(ANA, meeting(MONDAY_9H), "booking-3")
        moved = await client.patch_event(ANA, event["id"], {"start": meeting(MONDAY_9H + HOUR)["start"],
                                                             "end": meeting(MONDAY_9H + HOUR)["end"]})
        deleted, again = await client.delete_event(ANA, event["id"]), await client.delete_event(ANA, event["id"])
        cancelled = await client.get_event(ANA, event["id"])
        with pytest.raises(CalendarNotFound) as gone:
            await client.patch_event(ANA, event["id"], {"summary": "x"})
        with pytest.raises(CalendarNotFound) as missing:
            await client.get_event(ANA, "nosuchevent1")
        return moved, deleted, again, cancelled, gone.value, missing.value
    moved, deleted, again, cancelled, gone, missing = run(fake, key, body)
    assert parse_time(moved["start"]["dateTime"]) == MONDAY_9H + HOUR and moved["summary"] == "Visita técnica — Maria"
    assert (deleted, again) == (True, False) and cancelled["status"] == "cancelled"
    assert gone.deleted and gone.reason == "deleted" and not gone.retryable
    assert missing.status == 404 and not missing.deleted and missing.reason == "notFound"


def test_list_events_pages_and_syncs(fake: FakeGoogleCalendar, key: TestKey) -> None:
    fake.page_size = 2

    async def body(client: GoogleCalendarClient) -> Any:
        ids = [(await client.insert_event(ANA, meeting(MONDAY_9H + n * HOUR), f"b-{n}"))["id"] for n in range(3)]
        full = await client.list_events(ANA)
        await client.delete_event(ANA, ids[0])
        await client.patch_event(ANA, ids[1], {"summary": "Remarcada"})
        changes = await client.list_events(ANA, sync_token=full.next_sync_token)
        nothing = await client.list_events(ANA, sync_token=changes.next_sync_token)
        recent = await client.list_events(ANA, updated_min=MONDAY_9H - 400 * 24 * HOUR)
        return ids, full, changes, nothing, recent
    ids, full, changes, nothing, recent = run(fake, key, body)
    assert [e["id"] for e in full.events] == ids and full.next_sync_token
    assert len(fake.requests_to("GET", f"/calendar/v3/calendars/{ANA}/events")[0].query) >= 3  # showDeleted…
    assert [(e["id"], e["status"]) for e in changes.events] == [(ids[0], "cancelled"), (ids[1], "confirmed")]
    assert changes.events[1]["summary"] == "Remarcada"
    assert nothing.events == () and nothing.next_sync_token
    assert {e["id"] for e in recent.events} == set(ids)


def test_an_expired_sync_token_is_410_full_sync_required(fake: FakeGoogleCalendar, key: TestKey) -> None:
    async def body(client: GoogleCalendarClient) -> Any:
        token = (await client.list_events(ANA)).next_sync_token
        fake.expire_sync_tokens()
        with pytest.raises(CalendarNotFound) as expired:
            await client.list_events(ANA, sync_token=token)
        return expired.value
    expired = run(fake, key, body)
    assert expired.deleted and expired.reason == "fullSyncRequired"
    with pytest.raises(ValueError):
        run(fake, key, lambda client: client.list_events(ANA, sync_token="t", updated_min=1.0))


def test_a_revoked_token_is_replaced_once(fake: FakeGoogleCalendar, key: TestKey) -> None:
    async def body(client: GoogleCalendarClient) -> Any:
        await client.free_busy([ANA], MONDAY_9H, MONDAY_9H + HOUR)
        fake.revoke_tokens()
        return await client.free_busy([ANA], MONDAY_9H, MONDAY_9H + HOUR)
    assert run(fake, key, body).busy == {ANA: ()}
    assert len(fake.requests_to("POST", "/token")) == 2
    assert [r.status for r in fake.requests_to("POST", "/calendar/v3/freeBusy")] == [200, 401, 200]


@pytest.mark.parametrize("status, reason, family, retryable", [
    (429, "rateLimitExceeded", CalendarRateLimited, True),
    (403, "rateLimitExceeded", CalendarRateLimited, True),
    (403, "userRateLimitExceeded", CalendarRateLimited, True),
    (500, "backendError", CalendarUnavailable, True),
    (503, "backendError", CalendarUnavailable, True),
    (403, "forbidden", CalendarAuthError, False),
    (403, "accessNotConfigured", CalendarAuthError, False),
    (404, "notFound", CalendarNotFound, False),
    (410, "deleted", CalendarNotFound, False),
    (400, "timeRangeEmpty", CalendarError, False),
])
def test_google_errors_fall_into_families(
    fake: FakeGoogleCalendar, key: TestKey, status: int, reason: str, family: type, retryable: bool,
) -> None:
    fake.fail_next(1, status, reason)
    with pytest.raises(CalendarError) as caught:
        run(fake, key, lambda client: client.insert_event(ANA, meeting(MONDAY_9H), "booking-err"))
    error = caught.value
    assert type(error) is family and error.retryable is retryable
    assert (error.status, error.reason) == (status, reason)
    if status == 429:
        assert isinstance(error, CalendarRateLimited) and error.retry_after == 7.0
    assert fake.events(ANA) == []


def test_a_401_that_stays_is_an_auth_error(fake: FakeGoogleCalendar, key: TestKey) -> None:
    fake.fail_next(2, 401, "authError")
    with pytest.raises(CalendarAuthError) as caught:
        run(fake, key, lambda client: client.free_busy([ANA], MONDAY_9H, MONDAY_9H + HOUR))
    assert caught.value.status == 401 and caught.value.reason == "authError"


def test_token_endpoint_failures(fake: FakeGoogleCalendar, key: TestKey) -> None:
    fake.fail_token_next(1, 503, "temporarily_unavailable")
    with pytest.raises(CalendarUnavailable):
        run(fake, key, lambda client: client.free_busy([ANA], MONDAY_9H, MONDAY_9H + HOUR))
    fake.fail_token_next(1, 401, "unauthorized_client")
    with pytest.raises(CalendarAuthError):
        run(fake, key, lambda client: client.free_busy([ANA], MONDAY_9H, MONDAY_9H + HOUR))


def test_google_unreachable_is_retry_later(fake: FakeGoogleCalendar, key: TestKey) -> None:
    fake.go_down()
    with pytest.raises(CalendarUnavailable) as caught:
        run(fake, key, lambda client: client.free_busy([ANA], MONDAY_9H, MONDAY_9H + HOUR))
    assert caught.value.status is None and caught.value.retryable
