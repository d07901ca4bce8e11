"""Offline tests of the custom actions on tracker fixtures."""
import asyncio

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import (
    ActionFallback,
    ActionHandoff,
    ActionOfferSimulation,
    ActionOptOut,
    consecutive_fallbacks,
)
from actions.qualification import ActionQualifyLead
from actions.slot_extraction import ValidateQualificationForm, ValidateSlotMappings
from sdr.formatting import format_brl
from tests.unit.trackers import DOMAIN, make_tracker, user_event


def run(action, tracker, domain=None):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain or DOMAIN))
    return dispatcher.messages, events


def slot_events(events):
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


@pytest.mark.parametrize(
    "value, text", [(0, "R$ 0,00"), (450, "R$ 450,00"), (1234.5, "R$ 1.234,50"), (1_000_000, "R$ 1.000.000,00")]
)
def test_format_brl(value, text):
    assert format_brl(value) == text


def test_qualify_lead_sets_score_class_status_and_tells_a_hot_lead_a_consultant_will_write():
    tracker = make_tracker({
        "customer_name": "Ana", "monthly_bill_brl": 600.0, "is_owner": True,
        "is_decision_maker": True, "timeline": "30_dias", "property_type": "comercial",
    })
    messages, events = run(ActionQualifyLead(), tracker)
    assert slot_events(events) == {
        "lead_score": 28 + 20 + 20 + 12 + 10, "lead_class": "HOT", "lead_status": "qualificado"
    }
    assert "R$ 510,00" in messages[0]["text"]
    assert messages[1]["response"] == "utter_qualified_hot"
    assert messages[1]["customer_name"] == "Ana"


def test_qualify_lead_offers_subscription_to_a_tenant():
    tracker = make_tracker({"customer_name": "Rui", "monthly_bill_brl": 600.0, "is_owner": False})
    messages, events = run(ActionQualifyLead(), tracker)
    assert [m["response"] for m in messages] == ["utter_offer_subscription"]
    assert slot_events(events)["lead_status"] == "assinatura"


def test_handoff_pauses_the_conversation():
    messages, events = run(ActionHandoff(), make_tracker())
    assert messages[0]["response"] == "utter_handoff"
    assert slot_events(events) == {"lead_status": "atendimento_humano"}
    assert [e["event"] for e in events][-1] == "pause"


def test_consecutive_fallbacks_count_only_the_latest_run():
    events = [
        user_event("x", "nlu_fallback"), {"event": "bot", "text": "?"},
        user_event("oi", "greet"),
        user_event("y", "nlu_fallback"), {"event": "action", "name": "action_fallback"},
        user_event("z", "nlu_fallback"),
    ]
    assert consecutive_fallbacks(events) == 2
    assert consecutive_fallbacks(events[:3]) == 0
    assert consecutive_fallbacks([]) == 0


def test_first_fallback_asks_to_rephrase_and_the_second_hands_over():
    once = make_tracker(events=[user_event("hm", "greet"), user_event("asd", "nlu_fallback")])
    messages, events = run(ActionFallback(), once)
    assert messages[0]["response"] == "utter_default" and events == []
    twice = make_tracker(events=[user_event("asd", "nlu_fallback"), user_event("qwe", "nlu_fallback")])
    messages, events = run(ActionFallback(), twice)
    assert messages[0]["response"] == "utter_handoff"
    assert slot_events(events)["lead_status"] == "atendimento_humano"


def test_opt_out_confirms_once_and_cancels_everything_proactive():
    messages, events = run(ActionOptOut(), make_tracker())
    assert [m["response"] for m in messages] == ["utter_opt_out_confirmed"]
    assert slot_events(events) == {"opted_out": True, "lead_status": "descadastrado"}
    assert "cancel_reminder" in [e["event"] for e in events]
    messages, _ = run(ActionOptOut(), make_tracker({"opted_out": True}))
    assert messages == []


def test_simulation_is_offered_only_to_leads_not_yet_qualified():
    messages, _ = run(ActionOfferSimulation(), make_tracker())
    assert [m["response"] for m in messages] == ["utter_offer_simulation"]
    messages, _ = run(ActionOfferSimulation(), make_tracker({"lead_class": "WARM"}))
    assert messages == []


def test_slot_mappings_read_an_answer_to_the_asked_question():
    tracker = make_tracker(
        {"requested_slot": "monthly_bill_brl", "customer_name": "Ana"},
        text="uns 450", intent="inform", active_loop="qualification_form",
    )
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateSlotMappings().get_extraction_events(dispatcher, tracker, DOMAIN))
    assert slot_events(events)["monthly_bill_brl"] == 450.0


def test_slot_mappings_ignore_a_bare_number_when_the_message_is_a_question():
    tracker = make_tracker(
        {"requested_slot": "monthly_bill_brl"}, text="450?", intent="ask_price",
        active_loop="qualification_form",
    )
    events = asyncio.run(ValidateSlotMappings().get_extraction_events(CollectingDispatcher(), tracker, DOMAIN))
    assert "monthly_bill_brl" not in slot_events(events)


def test_a_bill_below_the_plausible_minimum_is_refused_politely():
    dispatcher = CollectingDispatcher()
    result = ValidateSlotMappings().validate_monthly_bill_brl(5.0, dispatcher, make_tracker(), DOMAIN)
    assert result == {"monthly_bill_brl": None}
    assert dispatcher.messages[0]["response"] == "utter_bill_too_low"


def form_tracker(text, intent, facts=None, requested="monthly_bill_brl", known=None):
    events = [user_event(text, intent)] + [
        {"event": "slot", "name": name, "value": value} for name, value in (facts or {}).items()
    ]
    return make_tracker(
        {"requested_slot": requested, **(known or {}), **(facts or {})}, text=text, intent=intent,
        events=events, active_loop="qualification_form",
    )


def test_form_reasks_with_an_example_when_an_answer_cannot_be_read():
    messages, events = run(ValidateQualificationForm(), form_tracker("sei la", "nlu_fallback"))
    assert messages[0]["response"] == "utter_reask_monthly_bill_brl"
    assert {"event": "slot", "name": "monthly_bill_brl", "value": None} in [
        {k: e[k] for k in ("event", "name", "value")} for e in events if e["event"] == "slot"
    ]


def test_form_lets_rasa_reject_a_question_so_the_rules_answer_it():
    messages, events = run(ValidateQualificationForm(), form_tracker("quanto custa?", "ask_price"))
    assert messages == []
    assert "monthly_bill_brl" not in slot_events(events)


def test_form_answers_a_question_that_also_carried_an_answer():
    tracker = form_tracker("quanto custa pra uma conta de 500 reais?", "ask_price", {"monthly_bill_brl": 500.0})
    messages, events = run(ValidateQualificationForm(), tracker)
    assert messages[0]["response"] == "utter_price"
    assert slot_events(events)["monthly_bill_brl"] == 500.0


def test_form_accepts_kwh_in_place_of_the_bill():
    tracker = form_tracker("uns 380 kwh", "inform", {"monthly_kwh": 380.0}, known={"customer_name": "Ana"})
    _, events = run(ValidateQualificationForm(), tracker)
    slots = slot_events(events)
    assert slots["monthly_kwh"] == 380.0
    assert slots["requested_slot"] == "city"
