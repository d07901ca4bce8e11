"""Kommo's form-encoded lead webhooks read into stage events; anything else refused with a reason."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest

from crm.kommo_webhooks import KommoWebhookError, LeadStageEvent, parse_lead_events, parse_webhook

# As Kommo sends it: brackets percent-encoded.
ACCOUNT = ("account%5Bsubdomain%5D=solarprime&account%5Bid%5D=31257294"
           "&account%5B_links%5D%5Bself%5D=https%3A%2F%2Fsolarprime.kommo.com")


def form(*pairs: tuple[str, object]) -> str:
    return urlencode([(key, str(value)) for key, value in pairs])


def test_a_stage_change_as_kommo_sends_it() -> None:
    body = ACCOUNT + "&" + form(
        ("leads[status][0][id]", 27754599), ("leads[status][0][status_id]", 142),
        ("leads[status][0][pipeline_id]", 7173574), ("leads[status][0][old_status_id]", 59936198),
        ("leads[status][0][old_pipeline_id]", 7173574),
    )
    hook = parse_webhook(body.encode())
    assert (hook.subdomain, hook.account_id) == ("solarprime", 31257294)
    assert hook.events == (LeadStageEvent("status", 27754599, 142, 7173574, 59936198),)


def test_several_items_and_kinds_in_one_body() -> None:
    body = form(
        ("leads[status][1][id]", 2), ("leads[status][1][status_id]", 20),
        ("leads[status][0][id]", 1), ("leads[status][0][status_id]", 10),
        ("leads[add][0][id]", 3), ("leads[add][0][status_id]", 30), ("leads[add][0][pipeline_id]", 7),
        ("leads[delete][0][id]", 4), ("leads[delete][0][status_id]", 40), ("leads[delete][0][pipeline_id]", 7),
    )
    assert parse_lead_events(body) == [
        LeadStageEvent("status", 1, 10), LeadStageEvent("status", 2, 20),
        LeadStageEvent("add", 3, 30, 7), LeadStageEvent("delete", 4, 40, 7),
    ]


def test_an_update_keeps_the_stage_fields_and_ignores_the_rest() -> None:
    body = form(
        ("account[subdomain]", "solarprime"),
        ("leads[update][0][id]", 5685933), ("leads[update][0][name]", "Maria Silva — energia solar"),
        ("leads[update][0][status_id]", 43315792), ("leads[update][0][old_status_id]", 43315795),
        ("leads[update][0][price]", 450), ("leads[update][0][pipeline_id]", 4740529),
        ("leads[update][0][custom_fields][0][id]", 629233),
        ("leads[update][0][custom_fields][0][values][0][value]", 1234),
        ("leads[update][0][tags][0][name]", "assistente-whatsapp"),
        ("contacts[update][0][id]", 99),
    )
    assert parse_lead_events(body) == [LeadStageEvent("update", 5685933, 43315792, 4740529, 43315795)]


def test_items_without_an_index_are_told_apart_by_repeated_fields() -> None:
    body = form(
        ("leads[status][][id]", 1), ("leads[status][][status_id]", 10),
        ("leads[status][][id]", 2), ("leads[status][][status_id]", 20),
        ("leads[update][id]", 3), ("leads[update][id]", 4), ("leads[update][status_id]", 40),
    )
    assert parse_lead_events(body) == [
        LeadStageEvent("status", 1, 10), LeadStageEvent("status", 2, 20),
        LeadStageEvent("update", 3), LeadStageEvent("update", 4, 40),
    ]


def test_other_lead_events_are_fine_but_bring_nothing() -> None:
    hook = parse_webhook(form(("account[id]", 1), ("leads[responsible][0][id]", 5), ("leads[restore][0][id]", 6)))
    assert hook.events == () and hook.account_id == 1 and hook.subdomain is None


def test_empty_optional_fields_are_none() -> None:
    body = form(("leads[add][0][id]", 3), ("leads[add][0][status_id]", ""))
    assert parse_lead_events(body) == [LeadStageEvent("add", 3)]


@pytest.mark.parametrize("body, reason", [
    (b"", "empty body"),
    ("   ", "empty body"),
    (b"\xff\xfe", "not UTF-8"),
    ('{"leads": {"status": [{"id": 1}]}}', "JSON"),
    ("hello", "no leads"),
    (form(("account[subdomain]", "solarprime"), ("contacts[add][0][id]", 5)), "no leads"),
    (form(("leads[status][0][id]", "abc")), "leads[status][id] is not a whole number"),
    (form(("leads[status][0][id]", 0)), "not a lead id"),
    (form(("leads[status][0][status_id]", 5)), "without an id"),
    (form(("leads[status][0][id]", 5), ("leads[status][0][status_id]", "x1")), "[status_id] is not a whole number"),
    (form(("account[id]", "acme"), ("leads[status][0][id]", 5)), "account[id] is not a whole number"),
    ("&".join(f"leads[status][{n}][id]={n + 1}" for n in range(6000)), "fields"),
])
def test_a_body_that_is_not_a_lead_event_is_refused_with_a_reason(body: object, reason: str) -> None:
    with pytest.raises(KommoWebhookError) as raised:
        parse_webhook(body)  # type: ignore[arg-type]
    assert reason in str(raised.value)
    assert isinstance(raised.value, ValueError)
