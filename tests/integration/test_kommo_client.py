"""The Kommo client against the fake Kommo over HTTP, and the rate limiter against a real Redis."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Iterator

import httpx
import pytest

from crm.kommo_client import (
    KommoAuthError,
    KommoClient,
    KommoError,
    KommoRateLimited,
    KommoUnavailable,
)
from crm.kommo_mapping import parse_mapping
from crm.kommo_payloads import complex_lead_body, lead_update_body, new_lead_body, task_body
from crm.kommo_webhooks import LeadStageEvent, parse_lead_events
from crm.rate_limit import RedisRateLimiter
from tests.fake_kommo import FIRST_STAGE, LEAD_FIELDS, MEETING_STAGE, PIPELINE_ID, FakeKommo
from tests.fake_server import BackgroundServer

PHONE = "5511987654321"
MAPPING = parse_mapping({
    "stages": {"events": {"meeting.booked": MEETING_STAGE}},
    "lead_fields": {"monthly_bill_brl": 1001, "is_owner": 1007, "meeting_at": 1014},
    "tags": ["assistente-whatsapp"],
})
LEAD = {"customer_name": "Maria Silva", "phone": PHONE, "monthly_bill_brl": 450.0, "is_owner": True}


@pytest.fixture(scope="module")
def module_fake() -> Iterator[FakeKommo]:
    with FakeKommo() as fake:
        yield fake


@pytest.fixture
def fake(module_fake: FakeKommo) -> Iterator[FakeKommo]:
    module_fake.come_back()
    module_fake.reset()
    module_fake.page_size = 50
    yield module_fake
    module_fake.come_back()


def run(fake: FakeKommo, body: Callable[[KommoClient], Awaitable[Any]], **options: Any) -> Any:
    async def main() -> Any:
        async with KommoClient(fake.url, options.pop("token", fake.token), **options) as client:
            return await body(client)
    return asyncio.run(main())


def test_reads_the_account_the_pipeline_the_fields_and_the_users(fake: FakeKommo) -> None:
    async def body(client: KommoClient) -> Any:
        return (await client.account(), await client.pipeline(PIPELINE_ID), await client.pipeline(1),
                await client.contact_custom_fields(), await client.users())
    account, pipeline, absent, contact_fields, users = run(fake, body)
    assert account["subdomain"] == "solarprime"
    assert pipeline.id == PIPELINE_ID and pipeline.stage(142) and pipeline.stage(FIRST_STAGE).name == "Contato inicial"
    assert absent is None
    phone, email = contact_fields[:2]
    assert (phone.id, phone.type, phone.code, email.code) == (2001, "multitext", "PHONE", "EMAIL")
    assert users == {10004026: "Ana Vendas", 10004027: "Bruno Vendas"}
    assert {r.headers["authorization"] for r in fake.requests} == {f"Bearer {fake.token}"}


def test_custom_fields_follow_the_pages(fake: FakeKommo) -> None:
    fake.page_size = 5
    fields = run(fake, lambda client: client.lead_custom_fields())
    assert [f.id for f in fields] == [f[0] for f in LEAD_FIELDS]
    pages = fake.requests_to("GET", "/api/v4/leads/custom_fields")
    assert [r.query.get("page", "1") for r in pages] == ["1", "2", "3", "4"]


def test_a_search_that_finds_nothing_is_204_and_an_empty_list(fake: FakeKommo) -> None:
    assert run(fake, lambda client: client.find_contacts_by_phone(PHONE)) == []
    [search] = fake.requests_to("GET", "/api/v4/contacts")
    assert search.query == {"query": PHONE, "with": "leads"} and search.status == 204


def test_a_contact_is_found_by_its_digits_with_its_leads(fake: FakeKommo) -> None:
    contact_id, lead_id = fake.add_contact("Maria", "+55 (11) 98765-4321")
    fake.add_contact("Outra", "+55 21 91234-5678")
    [found] = run(fake, lambda client: client.find_contacts_by_phone("+55 11 98765-4321"))
    assert (found.id, found.name, found.lead_ids) == (contact_id, "Maria", (lead_id,))
    assert found.has_phone(PHONE) and found.has_phone("11987654321") and not found.has_phone("5521912345678")
    assert PHONE not in repr(found)


def test_creates_a_lead_with_its_contact_then_updates_notes_and_tasks(fake: FakeKommo) -> None:
    async def body(client: KommoClient) -> Any:
        lead_id, contact_id = await client.create_lead_with_contact(
            complex_lead_body(LEAD, MAPPING, pipeline_id=PIPELINE_ID, event="lead.qualified", request_id="ev-1"))
        await client.update_lead(lead_update_body(lead_id, {"meeting_at": "2025-03-12T14:00:00-03:00"}, MAPPING,
                                                  event="meeting.booked"))
        await client.update_contact({"id": contact_id, "name": "Maria S."})
        note_id = await client.add_lead_note(lead_id, "Resumo: quer instalar.")
        task_id = await client.add_task(task_body(lead_id, LEAD, MAPPING, complete_till=1_900_000_000))
        return lead_id, contact_id, note_id, task_id, await client.get_lead(lead_id), await client.get_lead(1)
    lead_id, contact_id, note_id, task_id, lead, missing = run(fake, body)
    assert lead["status_id"] == MEETING_STAGE and lead["_embedded"]["contacts"][0]["id"] == contact_id
    assert {v["field_id"]: v["values"][0]["value"] for v in lead["custom_fields_values"]} == {
        1001: 450, 1007: True, 1014: 1741798800}
    assert [t["name"] for t in lead["_embedded"]["tags"]] == ["assistente-whatsapp"]
    assert missing is None
    [contact] = fake.contacts
    assert contact["name"] == "Maria S." and contact["custom_fields_values"][0]["values"][0]["value"] == f"+{PHONE}"
    assert fake.notes[0]["id"] == note_id and fake.notes[0]["params"]["text"] == "Resumo: quer instalar."
    assert fake.tasks[0]["id"] == task_id and fake.tasks[0]["complete_till"] == 1_900_000_000
    [complex_call] = fake.requests_to("POST", "/api/v4/leads/complex")
    assert isinstance(complex_call.json, list) and complex_call.json[0]["request_id"] == "ev-1"
    assert isinstance(fake.requests_to("PATCH", "/api/v4/leads")[0].json, list)


def test_a_new_lead_for_a_contact_kommo_already_has(fake: FakeKommo) -> None:
    contact_id, _ = fake.add_contact("Maria", PHONE, lead_status_id=None)
    lead_id = run(fake, lambda client: client.create_lead(
        new_lead_body(LEAD, MAPPING, contact_id=contact_id, pipeline_id=PIPELINE_ID, event="lead.qualified")))
    assert fake.lead(lead_id)["contact_ids"] == [contact_id]


def test_a_refused_token_is_an_auth_error(fake: FakeKommo) -> None:
    with pytest.raises(KommoAuthError) as raised:
        run(fake, lambda client: client.account(), token="wrong-token")
    error = raised.value
    assert (error.status, error.title, error.detail) == (401, "Unauthorized", "Invalid user name or password")
    assert not error.retryable and "wrong-token" not in str(error)


@pytest.mark.parametrize("status", [402, 403])
def test_an_unpaid_or_blocked_account_is_an_auth_error(fake: FakeKommo, status: int) -> None:
    fake.fail_next(1, status)
    with pytest.raises(KommoAuthError):
        run(fake, lambda client: client.account())


def test_an_unknown_field_or_stage_is_a_validation_error(fake: FakeKommo) -> None:
    bad = {"name": "x", "custom_fields_values": [{"field_id": 999, "values": [{"value": 1}]}]}
    with pytest.raises(KommoError) as raised:
        run(fake, lambda client: client.create_lead(bad))
    error = raised.value
    assert type(error) is KommoError and error.status == 400 and not error.retryable
    assert error.validation_errors[0]["errors"][0]["path"] == "custom_fields_values.0.field_id"
    assert "custom_fields_values.0.field_id" in str(error)
    with pytest.raises(KommoError, match="status_id"):
        run(fake, lambda client: client.create_lead({"name": "x", "status_id": 12345}))
    assert fake.leads == []


def test_too_many_requests_says_when_to_come_back(fake: FakeKommo) -> None:
    fake.rate_limit_next(1, retry_after=3)
    with pytest.raises(KommoRateLimited) as raised:
        run(fake, lambda client: client.account())
    assert raised.value.retryable and raised.value.retry_after == 3.0
    fake.rate_limit_next(1)  # no header: the body's retry_after
    with pytest.raises(KommoRateLimited) as raised:
        run(fake, lambda client: client.account())
    assert raised.value.retry_after == 300.0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_unavailable(fake: FakeKommo, status: int) -> None:
    fake.fail_next(1, status)
    with pytest.raises(KommoUnavailable) as raised:
        run(fake, lambda client: client.account())
    assert raised.value.status == status and raised.value.retryable


def test_down_and_refusing_connections_are_unavailable(fake: FakeKommo) -> None:
    fake.go_down()
    with pytest.raises(KommoUnavailable, match="503"):
        run(fake, lambda client: client.account())
    fake.come_back()
    fake.go_down(refuse=True)
    with pytest.raises(KommoUnavailable) as raised:
        run(fake, lambda client: client.account())
    assert raised.value.status is None and "ConnectError" in str(raised.value)
    fake.come_back()
    assert run(fake, lambda client: client.account())["id"]


def test_a_timeout_or_a_body_that_is_not_json_is_unavailable() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def html(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>maintenance</html>")

    async def call(handler: Callable[[httpx.Request], httpx.Response]) -> Any:
        async with KommoClient("https://acme.kommo.com", "t", transport=httpx.MockTransport(handler)) as client:
            return await client.account()
    for handler, text in ((timeout, "ReadTimeout"), (html, "not JSON")):
        with pytest.raises(KommoUnavailable, match=text):
            asyncio.run(call(handler))


def test_next_links_are_followed_on_the_account_host_only() -> None:
    seen: list[str] = []

    def pages(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        page = 2 if "page=2" in str(request.url) else 1
        links: dict[str, Any] = {"next": {"href": "https://elsewhere.example/api/v4/users?page=2"}} if page == 1 else {}
        return httpx.Response(200, json={"_links": links, "_embedded": {"users": [{"id": page, "name": f"U{page}"}]}})

    async def call() -> Any:
        async with KommoClient("https://acme.kommo.com", "t", transport=httpx.MockTransport(pages)) as client:
            return await client.users()
    assert asyncio.run(call()) == {1: "U1", 2: "U2"}
    assert seen == ["https://acme.kommo.com/api/v4/users?limit=50", "https://acme.kommo.com/api/v4/users?page=2"]


def test_every_request_waits_for_the_throttle_first(fake: FakeKommo) -> None:
    fake.page_size = 5
    calls: list[int] = []

    async def throttle() -> None:
        calls.append(len(fake.requests))  # requests the fake had seen when asked

    run(fake, lambda client: client.lead_custom_fields(), throttle=throttle)
    assert calls == [0, 1, 2, 3] and len(fake.requests) == 4

    async def broken() -> None:
        raise ConnectionError("the limiter's Redis is down")
    with pytest.raises(KommoUnavailable, match="throttle failed"):
        run(fake, lambda client: client.account(), throttle=broken)
    assert len(fake.requests) == 4  # nothing went out unthrottled


def test_neither_the_token_nor_a_phone_reaches_the_logs(fake: FakeKommo, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="crm")
    fake.add_contact("Maria", PHONE)
    client_repr = run(fake, lambda client: asyncio.sleep(0, repr(client)))
    run(fake, lambda client: client.find_contacts_by_phone(PHONE))
    assert fake.token not in client_repr
    assert caplog.text and PHONE not in caplog.text and fake.token not in caplog.text


def test_the_fake_posts_webhooks_as_kommo_does(fake: FakeKommo) -> None:
    received: list[tuple[str, bytes]] = []

    class Receiver(BackgroundServer):
        def build_app(self) -> Any:
            from aiohttp import web

            async def hook(request: web.Request) -> web.Response:
                received.append((request.content_type, await request.read()))
                return web.Response(text="ok")
            app = web.Application()
            app.router.add_post("/webhooks/kommo/secret", hook)
            return app

    with Receiver() as receiver:
        answer = fake.post_webhook(f"{receiver.url}/webhooks/kommo/secret", [
            {"kind": "status", "id": 7, "status_id": 142, "pipeline_id": PIPELINE_ID, "old_status_id": FIRST_STAGE}])
    assert answer.status_code == 200
    [(content_type, body)] = received
    assert content_type == "application/x-www-form-urlencoded"
    assert b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=7" in body
    assert parse_lead_events(body) == [LeadStageEvent("status", 7, 142, PIPELINE_ID, FIRST_STAGE)]


# --------------------------------------------------------------------------- rate limiter


@pytest.fixture
def redis_run(two_servers: Callable[..., Any]) -> Callable[[Callable[..., Awaitable[Any]]], Any]:
    """run(async fn(client, other_client)): two processes' clients (bytes) on one Redis."""
    return lambda body: two_servers(body, decode_responses=False)


def test_no_second_ever_holds_more_than_the_budget_across_processes(redis_run, prefix: str, raw) -> None:
    per_second = 4

    async def body(one: Any, two: Any) -> list[float]:
        limiters = [RedisRateLimiter(one, f"{prefix}:kommo", per_second),
                    RedisRateLimiter(two, f"{prefix}:kommo", per_second)]

        async def take(limiter: RedisRateLimiter) -> float:
            await limiter.acquire()
            seconds, micros = await one.time()
            return int(seconds) + int(micros) / 1e6
        return await asyncio.gather(*(take(limiters[n % 2]) for n in range(10)))
    times = sorted(redis_run(body))
    # Any window of one second, wherever it starts (a fixed per-second counter fails this).
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert len(times) == 10 and busiest <= per_second
    assert times[-1] - times[0] >= 2.0  # 10 calls at 4 per second need more than two seconds
    assert 0 < raw.ttl(f"{prefix}:kommo") <= 2  # the window goes away by itself


def test_a_full_window_waits_until_its_oldest_call_leaves_it(redis_run, prefix: str, raw) -> None:
    key = f"{prefix}:full"
    seconds, micros = raw.time()
    now_us = int(seconds) * 1_000_000 + int(micros)
    raw.zadd(key, {"a": now_us - 600_000, "b": now_us - 100_000})  # two calls in the last second
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    async def body(client: Any, _: Any) -> None:
        await RedisRateLimiter(client, key, 2, sleep=sleep).acquire()
    redis_run(body)
    assert waits and 0.55 < waits[0] <= 0.65  # the oldest (0.6 s ago) leaves the 1.25 s window in ~0.65 s
    assert raw.zcard(key) == 2  # "a" dropped out, this call counted


def test_the_limiter_refuses_a_nonsense_budget() -> None:
    class NoRedis:
        def register_script(self, script: str) -> None:
            return None
    with pytest.raises(ValueError):
        RedisRateLimiter(NoRedis(), "k", 0)
    assert "per_second=7" in repr(RedisRateLimiter(NoRedis(), "k"))
