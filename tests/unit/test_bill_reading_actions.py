"""Offline tests of the bill-reading and voice-note actions' own logic."""
import asyncio

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.bill_reading import ActionRejectBillReading, bill_slot_updates, confirmation_text
from actions.bill_text import BillFacts
from actions.conversation import ActionAskToType
from actions.sales_team import format_phone, hot_lead_message
from tests.unit.trackers import DOMAIN, make_tracker

FACTS = BillFacts(
    total_brl=419.3, kwh=412.0, utility="CEMIG", reference_month="2025-10", due_date="2025-11-17",
    customer_class="residencial", connection_type="bifasico", city="Uberlândia", state="MG",
    holder_name="Maria Souza",
)


def test_the_confirmation_says_what_was_read():
    assert confirmation_text(FACTS) == "Vi aqui: conta de outubro, R$ 419,30, 412 kWh, CEMIG. Confere?"
    assert confirmation_text(BillFacts(total_brl=1234.5)) == "Vi aqui: R$ 1.234,50. Confere?"


def test_the_bill_fills_figures_and_only_the_answers_the_lead_has_not_given():
    fresh = bill_slot_updates(FACTS, {})
    assert fresh == {
        "monthly_bill_brl": 419.3, "monthly_kwh": 412.0, "utility": "CEMIG",
        "city": "Uberlândia", "state": "MG", "property_type": "residencial",
    }
    known = bill_slot_updates(FACTS, {"city": "Campinas", "state": "SP", "property_type": "comercial",
                                      "monthly_bill_brl": 380.0})
    assert known == {"monthly_bill_brl": 419.3, "monthly_kwh": 412.0, "utility": "CEMIG"}


def test_a_public_lighting_class_is_not_a_property_type():
    assert "property_type" not in bill_slot_updates(BillFacts(customer_class="iluminacao_publica"), {})


def test_rejecting_the_reading_forgets_its_figures():
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionRejectBillReading().run(dispatcher, make_tracker(), DOMAIN))
    assert {e["name"]: e["value"] for e in events} == {"monthly_bill_brl": None, "monthly_kwh": None, "utility": None}
    assert dispatcher.messages[0]["response"] == "utter_bill_reading_rejected"


@pytest.mark.parametrize(
    "reason, words", [("too_long", "longo"), ("server_error", "por escrito"), (None, "por escrito")]
)
def test_a_voice_note_that_could_not_be_heard_gets_a_polite_request_to_type(reason, words):
    tracker = make_tracker(intent="voice_note_unreadable")
    tracker.latest_message["metadata"] = {
        "evolution": {"messages": [{"kind": "audio", "transcript_unavailable": reason}]}
    }
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionAskToType().run(dispatcher, tracker, DOMAIN))
    assert words in dispatcher.messages[0]["text"]


@pytest.mark.parametrize(
    "sender, shown",
    [("5511987654321", "+55 11 98765-4321"), ("553133334444", "+55 31 3333-4444"), ("14155550100", "+14155550100")],
)
def test_the_sales_team_sees_a_plain_phone_number(sender, shown):
    assert format_phone(sender) == shown


def test_the_hot_lead_message_has_the_summary_and_no_link():
    text = hot_lead_message("Maria", "5511987654321", "Conta de R$ 1.249,51, casa própria, decide, quer já.")
    assert text.splitlines() == [
        "🔥 Lead quente: Maria", "Conta de R$ 1.249,51, casa própria, decide, quer já.", "Contato: +55 11 98765-4321",
    ]
    assert "http" not in text and "wa.me" not in text
