"""Slot filling: every user message is read for lead facts; the form asks for what is missing."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction, ValidationAction
from rasa_sdk.types import DomainDict

from actions.faq import answer_faq
from sdr.dialogue import (
    ANSWER_LIKE_INTENTS,
    ANSWER_RESPONSES,
    QUALIFICATION_FORM,
    REQUESTED_SLOT,
    latest_intent,
    slots_set_since_last_user_message,
    user_text,
)
from sdr.faq import FAQ_INTENT
from sdr.formatting import format_brl
from sdr.lead_facts import extract_lead_facts
from sdr.parsing import parse_bill_variation
from sdr.parsing.yes_no import is_unsure
from sdr.vocabulary import MAX_MONTHLY_BILL_BRL, MAX_MONTHLY_KWH, LeadSource
from whatsapp.turn_metadata import TurnMetadata

INTEREST_INTENT = "express_interest"
# Plausible monthly bills; outside this range the lead most likely mistyped.
MIN_MONTHLY_BILL_BRL = 30.0
MIN_MONTHLY_KWH = 30.0


def _asked_slot(tracker: Tracker) -> Optional[str]:
    if tracker.active_loop_name != QUALIFICATION_FORM:
        return None
    return tracker.get_slot(REQUESTED_SLOT)


def lead_source_updates(tracker: Tracker) -> Dict[str, Any]:
    """Where the lead came from, read once, from the first message (the channel's metadata):
    a click-to-WhatsApp ad names its campaign; anything else is organic. Never overwritten."""
    if tracker.get_slot("lead_source") is not None:
        return {}
    referral = TurnMetadata.of(tracker.latest_message).referral
    if referral is None:
        return {"lead_source": LeadSource.ORGANIC.value}
    return {"lead_source": LeadSource.CTWA_AD.value,
            "lead_campaign": referral.get("title") or referral.get("source_id")}


class ValidateSlotMappings(ValidationAction):
    """Runs after every user message (Rasa's `action_extract_slots`)."""

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        # A bare answer ("Maria", "450") only counts when the message is an
        # answer; "pare" or "quanto custa?" are never a name or a city.
        is_answer = latest_intent(tracker.latest_message) in ANSWER_LIKE_INTENTS
        updates = extract_lead_facts(
            user_text(tracker.latest_message),
            requested_slot=_asked_slot(tracker) if is_answer else None,
            current=tracker.current_slot_values(),
        )
        updates.update(lead_source_updates(tracker))
        return [SlotSet(slot, value) for slot, value in updates.items()]

    def validate_customer_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        dispatcher.utter_message(response="utter_nice_to_meet_you", customer_name=value)
        return {"customer_name": value}

    def validate_monthly_bill_brl(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        bill = _in_range(value, MIN_MONTHLY_BILL_BRL, MAX_MONTHLY_BILL_BRL, dispatcher)
        variation = parse_bill_variation(user_text(tracker.latest_message))
        if bill is not None and variation is not None and variation.usual == bill:
            # "280 mas no verão vai pra 500": what was filled, and that the rest was heard.
            dispatcher.utter_message(response="utter_bill_variation_noted", usual=format_brl(variation.usual),
                                     other=format_brl(variation.other), when=variation.when)
        return {"monthly_bill_brl": bill}

    def validate_monthly_kwh(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        return {"monthly_kwh": _in_range(value, MIN_MONTHLY_KWH, MAX_MONTHLY_KWH, dispatcher)}


def _in_range(
    value: Any, low: float, high: float, dispatcher: CollectingDispatcher
) -> Optional[float]:
    if value is None:
        return None
    if value < low:
        dispatcher.utter_message(response="utter_bill_too_low")
        return None
    if value > high:
        dispatcher.utter_message(response="utter_bill_too_high")
        return None
    return float(value)


class ValidateQualificationForm(FormValidationAction):
    """Decides what the form asks next; the facts themselves come from ValidateSlotMappings."""

    def name(self) -> str:
        return "validate_qualification_form"

    async def required_slots(
        self,
        domain_slots: List[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[str]:
        # A consumption in kWh answers the bill question as well as a value in R$.
        if tracker.get_slot("monthly_kwh") is not None and tracker.get_slot("monthly_bill_brl") is None:
            return ["monthly_kwh" if slot == "monthly_bill_brl" else slot for slot in domain_slots]
        return domain_slots

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        return []  # ValidateSlotMappings already read this message

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        facts = slots_set_since_last_user_message(tracker.events)
        intent = latest_intent(tracker.latest_message)
        requested = tracker.get_slot(REQUESTED_SLOT)

        if facts:
            # Re-state what this message filled so the form counts it even when
            # it answered a question other than the one asked (e.g. kWh).
            restated = [SlotSet(slot, value) for slot, value in facts.items()]
            # A message that answers and asks ("moro na zona rural, vcs instalam em sítio?"): the
            # question is answered too, before the form's next question.
            if intent in ANSWER_RESPONSES:
                dispatcher.utter_message(response=ANSWER_RESPONSES[intent])
            elif intent == FAQ_INTENT:
                await answer_faq(dispatcher, tracker, domain)
            return restated + events
        if requested and intent == INTEREST_INTENT:
            # "quero um orçamento" in answer to "como posso te chamar?": acknowledged, then asked again.
            dispatcher.utter_message(response="utter_interest_in_form")
            return [SlotSet(requested, None)] + events
        if requested and (intent in ANSWER_LIKE_INTENTS or is_unsure(user_text(tracker.latest_message))):
            # "não lembro direito" answers the question (with nothing): asked again with an example,
            # whatever question the classifier took it for.
            dispatcher.utter_message(response=f"utter_reask_{requested}")
            return [SlotSet(requested, None)] + events
        # Nothing read and not an answer: Rasa rejects the form, and the rules
        # answer the question; the form then asks again.
        return events
