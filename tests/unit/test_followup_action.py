"""action_followup on tracker fixtures: whether, what, and never twice."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.followups import HOW_TO_STOP, ActionFollowUp, followup_text
from tests.unit.trackers import DEFAULT_SLOTS, DOMAIN, user_event


def trigger(stage: int, final: bool = False) -> Dict[str, Any]:
    return {"intent": {"name": "EXTERNAL_followup"}, "text": None,
            "entities": [{"entity": "followup_stage", "value": stage}, {"entity": "followup_final", "value": final}]}


def follow_up_tracker(stage: int, final: bool = False, slots: Optional[Dict[str, Any]] = None,
                      events: Optional[List[Dict[str, Any]]] = None, paused: bool = False,
                      form: Optional[str] = "qualification_form") -> Tracker:
    latest = trigger(stage, final)
    history = events if events is not None else [user_event("oi", "greet")]
    return Tracker(
        sender_id="5511999990000",
        slots={**DEFAULT_SLOTS, "lead_status": "qualificando", **(slots or {})},
        latest_message=latest,
        events=history + [{"event": "user", "text": None, "parse_data": latest}],
        paused=paused, followup_action=None,
        active_loop={"name": form} if form else {},
        latest_action_name="action_listen",
    )


def run(tracker: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionFollowUp().run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, events


def test_first_follow_up_is_personal_and_repeats_the_pending_question():
    messages, events = run(follow_up_tracker(1, slots={
        "customer_name": "Ana Paula", "monthly_bill_brl": 450.0, "requested_slot": "city"}))
    assert messages[0]["text"].startswith("Oi, Ana!")
    assert "R$ 450,00" in messages[0]["text"] and HOW_TO_STOP in messages[0]["text"]
    assert messages[1]["response"] == "utter_ask_city"
    assert events == [{"event": "slot", "timestamp": None, "name": "followup_stage", "value": 1}]


def test_without_a_name_or_bill_it_still_reads_well():
    messages, _ = run(follow_up_tracker(2, slots={"requested_slot": "customer_name"}))
    assert messages[0]["text"].startswith("Oi! Sua simulação")
    assert "R$" not in messages[0]["text"]


def test_the_last_follow_up_says_goodbye_and_marks_the_lead_cold():
    messages, events = run(follow_up_tracker(3, final=True, slots={"customer_name": "Ana", "requested_slot": "city"}))
    assert len(messages) == 1 and "encerrar" in messages[0]["text"]
    assert {"event": "slot", "timestamp": None, "name": "lead_class", "value": "COLD"} in events


@pytest.mark.parametrize("slots, paused", [
    ({"opted_out": True, "lead_status": "descadastrado"}, False),
    ({"lead_status": "atendimento_humano"}, False),
    ({"lead_status": "qualificado", "lead_class": "HOT"}, False),
    ({}, True),
])
def test_never_to_a_lead_who_left_is_with_a_person_or_with_sales(slots, paused):
    assert run(follow_up_tracker(1, slots=slots, paused=paused)) == ([], [])


def test_a_retried_trigger_does_not_send_the_same_stage_twice():
    already = [user_event("oi", "greet"),
               {"event": "user", "text": None, "parse_data": trigger(1)},
               {"event": "slot", "name": "followup_stage", "value": 1.0}]
    assert run(follow_up_tracker(1, events=already)) == ([], [])
    messages, _ = run(follow_up_tracker(2, events=already))
    assert messages  # the next stage goes out


def test_a_trigger_without_a_stage_does_nothing():
    tracker = follow_up_tracker(1)
    tracker.latest_message["entities"] = []
    assert run(tracker) == ([], [])


def test_texts_for_every_stage():
    assert "dúvida" in followup_text(1, False, None, None)
    assert "quase pronta" in followup_text(4, False, "Ana", 300.0)
    assert "encerrar" in followup_text(2, True, None, None)
