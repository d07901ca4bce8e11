"""Turns that change who talks to the lead: handoff to a person, opt-out, fallback."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, ReminderCancelled, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.lead_events import publish_lead_event
from actions.transcription import please_type_message
from crm.events import LeadEventType
from sdr.dialogue import FALLBACK_INTENT
from sdr.vocabulary import LeadStatus
from whatsapp.turn_metadata import TurnMetadata

# Consecutive messages the assistant did not understand before a person takes over.
FALLBACKS_BEFORE_HANDOFF = 2


def consecutive_fallbacks(events: List[Mapping[str, Any]]) -> int:
    """How many of the latest user messages in a row fell back (nlu_fallback)."""
    count = 0
    for event in reversed(events):
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent") or {}
        if intent.get("name") != FALLBACK_INTENT:
            break
        count += 1
    return count


async def hand_off(tracker: Tracker) -> List[Dict[str, Any]]:
    """The lead goes to a person: the team hears of it (CRM, webhooks); the assistant pauses."""
    status = LeadStatus.HUMAN.value
    await publish_lead_event(LeadEventType.HANDOFF, tracker, {**tracker.current_slot_values(), "lead_status": status})
    # ConversationPaused makes Rasa log the lead's messages without answering
    # them until a person gives the conversation back.
    return [SlotSet("lead_status", status), ActiveLoop(None), ConversationPaused()]


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_handoff")
        return await hand_off(tracker)


class ActionFallback(Action):
    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if consecutive_fallbacks(tracker.events) >= FALLBACKS_BEFORE_HANDOFF:
            dispatcher.utter_message(response="utter_handoff")
            return await hand_off(tracker)
        dispatcher.utter_message(response="utter_default")
        return []


class ActionOptOut(Action):
    """LGPD opt-out: confirm once, remember it, cancel everything proactive."""

    def name(self) -> str:
        return "action_opt_out"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if tracker.get_slot("opted_out") is not True:
            dispatcher.utter_message(response="utter_opt_out_confirmed")
            await publish_lead_event(LeadEventType.OPTED_OUT, tracker, {
                **tracker.current_slot_values(), "opted_out": True, "lead_status": LeadStatus.OPTED_OUT.value,
            })
        return [
            SlotSet("opted_out", True),
            SlotSet("lead_status", LeadStatus.OPTED_OUT.value),
            ActiveLoop(None),
            ReminderCancelled(),
        ]


class ActionOfferSimulation(Action):
    """After answering a question: invite an unqualified lead to the simulation."""

    def name(self) -> str:
        return "action_offer_simulation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if tracker.get_slot("lead_class") is None and not tracker.get_slot("opted_out"):
            dispatcher.utter_message(response="utter_offer_simulation")
        return []


class ActionAskToType(Action):
    """A voice note the assistant could not hear: ask, politely, for text."""

    def name(self) -> str:
        return "action_ask_to_type"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        reason = TurnMetadata.of(tracker.latest_message).transcript_unavailable
        dispatcher.utter_message(text=please_type_message(reason))
        return []
