"""One lead event into the fake Kommo, with the ids kept in a real Redis: created once, found
again after a crash, updated, never duplicated; Kommo's errors as retry or dead letter."""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
from redis import asyncio as aioredis

from crm.delivery import DeliveryError
from crm.events import LeadEvent, LeadEventType
from crm.kommo_links import KommoLinks
from crm.kommo_mapping import parse_mapping
from crm.kommo_settings import KommoSettings
from crm.kommo_sync import KommoSync, task_deadline
from sdr.schedule_rules import BusinessHours
from tests.fake_kommo import FIRST_STAGE, IN_SERVICE_STAGE, LOST, PIPELINE_ID, QUALIFIED_STAGE, WON, FakeKommo

PHONE = "5511987654321"
HOURS = BusinessHours.parse("09:00-18:00", "America/Sao_Paulo")
MONDAY_10H = 1_764_594_000.0  # 2025-12-01 10:00 in São Paulo
MAPPING = parse_mapping({
    "stages": {"events": {"lead.opted_out": LOST}, "classes": {"HOT": QUALIFIED_STAGE, "WARM": FIRST_STAGE},
               "in_service": [IN_SERVICE_STAGE]},
    "lead_fields": {"monthly_bill_brl": 1001, "lead_class": 1011},
    "responsible_user_ids": [10004026, 10004027],
})
SLOTS = {"customer_name": "Maria Silva", "monthly_bill_brl": 450.0, "lead_class": "HOT", "lead_status": "qualificado"}


def event(kind: LeadEventType, anchor: str = "1", phone: str = PHONE, **slots: Any) -> LeadEvent:
    return LeadEvent.create(kind, phone, {**SLOTS, **slots}, anchor=anchor, occurred_at=MONDAY_10H,
                            summary="Quer instalar já; conta de R$ 450.")


@pytest.fixture(scope="module")
def module_kommo() -> Iterator[FakeKommo]:
    with FakeKommo() as fake:
        yield fake


@pytest.fixture()
def kommo(module_kommo: FakeKommo) -> Iterator[FakeKommo]:
    module_kommo.come_back()
    module_kommo.reset()
    yield module_kommo
    module_kommo.come_back()


Linked = List[Tuple[str, Optional[int], Optional[int]]]


@pytest.fixture()
def run(kommo: FakeKommo, redis_port: int, prefix: str) -> Callable[..., Any]:
    """run(async fn(sync, links, linked)) with a KommoSync on the fake and a real Redis."""

    def runner(body: Callable[..., Awaitable[Any]], token: Optional[str] = None) -> Any:
        async def main() -> Any:
            client = aioredis.Redis(host="127.0.0.1", port=redis_port, decode_responses=True)
            linked: Linked = []

            async def on_linked(conversation: str, lead_id: Optional[int], contact_id: Optional[int]) -> None:
                linked.append((conversation, lead_id, contact_id))

            settings = KommoSettings(base_url=kommo.url, access_token=token or kommo.token, pipeline_id=PIPELINE_ID)
            links = KommoLinks(client, prefix)
            sync = KommoSync(settings, MAPPING, links, client, hours=HOURS, on_linked=on_linked,
                             clock=lambda: MONDAY_10H, timeout_seconds=2.0)
            try:
                return await body(sync, links, linked)
            finally:
                await client.close()

        return asyncio.run(main())

    return runner


def counts(kommo: FakeKommo) -> Dict[str, int]:
    return {"contacts": len(kommo.contacts), "leads": len(kommo.leads), "notes": len(kommo.notes),
            "tasks": len(kommo.tasks)}


def test_a_new_lead_is_created_with_its_contact_in_one_call_and_its_ids_kept(run, kommo):
    async def body(sync, links, linked):
        await sync(event(LeadEventType.QUALIFIED))
        await sync(event(LeadEventType.HOT))
        return await links.of_conversation(PHONE), linked

    link, linked = run(body)
    [lead], [contact] = kommo.leads, kommo.contacts
    assert (link.lead_id, link.contact_id) == (lead["id"], contact["id"])
    assert linked == [(PHONE, lead["id"], contact["id"])]  # the slots are told once
    assert len(kommo.requests_to("POST", "/api/v4/leads/complex")) == 1
    assert lead["status_id"] == QUALIFIED_STAGE and lead["pipeline_id"] == PIPELINE_ID
    assert lead["responsible_user_id"] in (10004026, 10004027)
    assert counts(kommo) == {"contacts": 1, "leads": 1, "notes": 2, "tasks": 1}  # a task for HOT only
    [task] = kommo.tasks
    assert task["complete_till"] == MONDAY_10H + 60 * 60 and task["entity_id"] == lead["id"]


def test_the_same_event_delivered_again_writes_nothing_twice(run, kommo):
    async def body(sync, links, linked):
        for _ in range(3):
            await sync(event(LeadEventType.HOT))

    run(body)
    assert counts(kommo) == {"contacts": 1, "leads": 1, "notes": 1, "tasks": 1}


def test_after_a_crash_that_lost_the_ids_the_lead_is_found_by_phone_not_created_again(run, kommo, redis_port, prefix):
    async def body(sync, links, linked):
        await sync(event(LeadEventType.QUALIFIED))
        await links.redis.delete(links.key("conversation", PHONE))  # as if the server died before keeping them
        await sync(event(LeadEventType.HANDOFF, anchor="2", lead_status="atendimento_humano"))
        return await links.of_conversation(PHONE)

    link = run(body)
    assert counts(kommo)["leads"] == 1 and counts(kommo)["contacts"] == 1
    assert link.lead_id == kommo.leads[0]["id"]
    assert len(kommo.requests_to("POST", "/api/v4/leads/complex")) == 1


def test_a_contact_the_team_already_has_gets_a_new_lead_only_if_its_leads_are_closed(run, kommo):
    open_contact, open_lead = kommo.add_contact("Maria (antiga)", "+55 11 98765-4321", lead_status_id=FIRST_STAGE)
    closed_contact, _ = kommo.add_contact("João", "(21) 91234-5678", lead_status_id=WON)

    async def body(sync, links, linked):
        await sync(event(LeadEventType.QUALIFIED))
        await sync(event(LeadEventType.QUALIFIED, phone="5521912345678"))
        return await links.of_conversation(PHONE), await links.of_conversation("5521912345678")

    maria, joao = run(body)
    assert (maria.lead_id, maria.contact_id) == (open_lead, open_contact)
    assert kommo.lead(open_lead)["status_id"] == QUALIFIED_STAGE  # updated, moved on
    assert joao.contact_id == closed_contact and joao.lead_id not in (None, open_lead)
    assert kommo.lead(joao.lead_id)["contact_ids"] == [closed_contact]  # a new deal for the same person
    assert kommo.requests_to("POST", "/api/v4/leads/complex") == []


def test_a_lead_the_team_moved_to_a_stage_of_its_own_stays_there(run, kommo):
    async def body(sync, links, linked):
        await sync(event(LeadEventType.QUALIFIED, lead_class="WARM"))
        lead_id = (await links.of_conversation(PHONE)).lead_id
        kommo.move_lead(lead_id, IN_SERVICE_STAGE)
        await sync(event(LeadEventType.HOT, anchor="2"))
        return lead_id

    lead_id = run(body)
    assert kommo.lead(lead_id)["status_id"] == IN_SERVICE_STAGE


def test_an_opt_out_updates_a_lead_kommo_has_and_creates_none(run, kommo):
    async def body(sync, links, linked):
        await sync(event(LeadEventType.OPTED_OUT, phone="5531900001111", lead_status="descadastrado"))
        await sync(event(LeadEventType.QUALIFIED))
        await sync(event(LeadEventType.OPTED_OUT, anchor="2", lead_status="descadastrado", opted_out=True))

    run(body)
    assert counts(kommo) == {"contacts": 1, "leads": 1, "notes": 2, "tasks": 0}
    assert kommo.leads[0]["status_id"] == LOST and "LGPD" in kommo.notes[1]["params"]["text"]


@pytest.mark.parametrize("inject, retryable", [
    (lambda kommo: kommo.go_down(), True),
    (lambda kommo: kommo.go_down(refuse=True), True),
    (lambda kommo: kommo.fail_next(1, 500), True),
    (lambda kommo: kommo.rate_limit_next(1, retry_after=30), True),
])
def test_kommo_trouble_is_retried(run, kommo, inject, retryable):
    inject(kommo)

    async def body(sync, links, linked):
        with pytest.raises(DeliveryError) as caught:
            await sync(event(LeadEventType.QUALIFIED))
        return caught.value

    error = run(body)
    assert error.retryable is retryable and PHONE not in str(error)
    if "429" in str(error):
        assert error.retry_after == 30


def test_a_refused_token_is_retried_and_an_invalid_mapping_goes_to_the_dead_letter(run, kommo):
    async def refused(sync, links, linked):
        with pytest.raises(DeliveryError) as caught:
            await sync(event(LeadEventType.QUALIFIED))
        return caught.value

    error = run(refused, token="revoked-token")
    assert error.retryable and "401" in str(error) and "revoked" not in str(error)

    async def invalid(sync, links, linked):
        sync.mapping = parse_mapping({"lead_fields": {"monthly_bill_brl": 999999}})
        with pytest.raises(DeliveryError) as caught:
            await sync(event(LeadEventType.QUALIFIED))
        return caught.value

    error = run(invalid)
    assert not error.retryable and "400" in str(error)
    assert kommo.leads == []


@pytest.mark.parametrize("local, expected", [
    ("2025-12-01 10:00", "2025-12-01 11:00"),   # Monday morning: an hour later
    ("2025-12-01 17:30", "2025-12-02 10:00"),   # an hour later is after closing: next opening + 1 h
    ("2025-12-01 22:00", "2025-12-02 10:00"),   # at night: the next opening + 1 h
    ("2025-12-02 07:00", "2025-12-02 10:00"),   # before opening
])
def test_a_task_is_due_within_business_hours(local, expected):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("America/Sao_Paulo")
    at = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=tz).timestamp()
    due = datetime.fromtimestamp(task_deadline(at, 60, HOURS), tz).strftime("%Y-%m-%d %H:%M")
    assert due == expected


def test_a_booked_meeting_is_a_kommo_meeting_task_at_its_time_once(run, kommo):
    async def body(sync, links, linked):
        await sync(event(LeadEventType.QUALIFIED))
        booked = event(LeadEventType.MEETING_BOOKED, anchor="2", meeting_at="2025-12-03T15:00:00-03:00",
                       meeting_kind="visita", meeting_address="Rua das Flores, 123")
        await sync(booked)
        await sync(booked)  # redelivered

    run(body)
    [task] = kommo.tasks
    assert task["task_type_id"] == 2 and task["complete_till"] == MONDAY_10H + 2 * 86400 + 5 * 3600
    assert task["text"].startswith("Visita técnica com Maria Silva — Rua das Flores, 123")
    assert any("Reunião agendada" in note["params"]["text"] for note in kommo.notes)
