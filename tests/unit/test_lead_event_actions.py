"""Which lead events the actions publish, on tracker fixtures (the outbox itself: integration)."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest
from rasa_sdk.executor import CollectingDispatcher

import actions.conversation
import actions.qualification
from actions.conversation import ActionFallback, ActionHandoff, ActionOptOut
from actions.lead_events import turn_anchor
from actions.qualification import ActionQualifyLead
from crm.events import LeadEventType
from tests.unit.trackers import DOMAIN, make_tracker, user_event

HOT = {"customer_name": "Ana", "monthly_bill_brl": 600.0, "is_owner": True, "is_decision_maker": True,
       "timeline": "30_dias", "property_type": "comercial", "city": "Campinas", "state": "SP"}


@pytest.fixture()
def published(monkeypatch) -> List[Dict[str, Any]]:
    sent: List[Dict[str, Any]] = []

    async def record(event_type, tracker, slots, *, summary=""):
        sent.append({"type": event_type, "slots": dict(slots), "summary": summary, "sender": tracker.sender_id})
        return True

    monkeypatch.setattr(actions.qualification, "publish_lead_event", record)
    monkeypatch.setattr(actions.conversation, "publish_lead_event", record)
    return sent


def run(action, tracker):
    asyncio.run(action.run(CollectingDispatcher(), tracker, DOMAIN))


def test_a_hot_lead_is_published_qualified_then_hot_with_its_new_score(published):
    run(ActionQualifyLead(), make_tracker(HOT))
    assert [p["type"] for p in published] == [LeadEventType.QUALIFIED, LeadEventType.HOT]
    assert all(p["slots"]["lead_class"] == "HOT" and p["slots"]["lead_status"] == "qualificado"
               and p["slots"]["customer_name"] == "Ana" and p["summary"] for p in published)


@pytest.mark.parametrize("slots, lead_class", [
    ({**HOT, "timeline": "sem_previsao", "is_decision_maker": False, "monthly_bill_brl": 320.0}, "WARM"),
    ({"customer_name": "Rui", "monthly_bill_brl": 600.0, "is_owner": False}, None),  # a tenant: subscription
])
def test_other_leads_are_published_qualified_only(published, slots, lead_class):
    run(ActionQualifyLead(), make_tracker(slots))
    assert [p["type"] for p in published] == [LeadEventType.QUALIFIED]
    if lead_class:
        assert published[0]["slots"]["lead_class"] == lead_class


def test_a_handoff_is_published_with_the_status_it_sets(published):
    run(ActionHandoff(), make_tracker(HOT))
    [event] = published
    assert event["type"] == LeadEventType.HANDOFF and event["slots"]["lead_status"] == "atendimento_humano"


def test_only_the_fallback_that_hands_over_is_published(published):
    run(ActionFallback(), make_tracker(events=[user_event("hm", "greet"), user_event("asd", "nlu_fallback")]))
    assert published == []
    run(ActionFallback(), make_tracker(events=[user_event("a", "nlu_fallback"), user_event("b", "nlu_fallback")]))
    assert [p["type"] for p in published] == [LeadEventType.HANDOFF]


def test_an_opt_out_is_published_once(published):
    run(ActionOptOut(), make_tracker())
    run(ActionOptOut(), make_tracker({"opted_out": True}))
    [event] = published
    assert event["type"] == LeadEventType.OPTED_OUT
    assert event["slots"]["opted_out"] is True and event["slots"]["lead_status"] == "descadastrado"


def test_the_turn_anchor_is_the_latest_user_message_and_stable_across_retries():
    events = [{"event": "user", "timestamp": 10.5}, {"event": "bot", "timestamp": 11.0},
              {"event": "user", "timestamp": 12.25}, {"event": "action", "timestamp": 12.3}]
    assert turn_anchor(events) == turn_anchor(list(events)) == "12.25"
    assert turn_anchor([]) == turn_anchor(None) == "no-user-message"
