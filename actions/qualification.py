"""Scores a lead at the end of the qualification form and tells it what comes next."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.gemini_qualifier import conversation_from_events, qualify
from actions.lead_events import publish_lead_event
from actions.meeting_session import calendar_settings
from actions.sales_team import notify_sales
from actions.simulation import send_simulation
from crm.events import LeadEventType
from observability import metrics
from sdr.dialogue import LEAD_FACT_SLOTS
from sdr.formatting import format_brl
from sdr.scoring import LeadAssessment, assess_lead
from sdr.vocabulary import LeadClass, LeadStatus

logger = logging.getLogger(__name__)

CLASS_RESPONSES = {
    LeadClass.HOT.value: "utter_qualified_hot",
    LeadClass.WARM.value: "utter_qualified_warm",
    LeadClass.COLD.value: "utter_qualified_cold",
    LeadClass.UNQUALIFIED.value: "utter_disqualified",
}
MONTHS_PER_YEAR = 12


def savings_message(assessment: LeadAssessment) -> Optional[str]:
    if not assessment.estimated_savings_brl or not assessment.effective_bill_brl:
        return None
    monthly = assessment.estimated_savings_brl
    return (
        f"Com uma conta de {format_brl(assessment.effective_bill_brl)}, a economia estimada "
        f"é de até {format_brl(monthly)} por mês ({format_brl(monthly * MONTHS_PER_YEAR)} por ano) 💰"
    )


# With booking on, these classes are offered a meeting right away (meeting_form).
BOOKING_RESPONSES = {
    LeadClass.HOT.value: "utter_qualified_hot_book",
    LeadClass.WARM.value: "utter_qualified_warm_book",
}


def closing_response(lead_class: str, lead_status: str, booking: bool = False) -> str:
    if lead_status == LeadStatus.SUBSCRIPTION:
        return "utter_offer_subscription"
    if booking and lead_class in BOOKING_RESPONSES:
        return BOOKING_RESPONSES[lead_class]
    return CLASS_RESPONSES[lead_class]


class ActionQualifyLead(Action):
    """Gemini reads the conversation when it is configured; otherwise, or when it
    fails, the rules of lead_scoring.yml give the same output."""

    def name(self) -> str:
        return "action_qualify_lead"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        slots: Dict[str, Any] = tracker.current_slot_values()
        confirmed = {slot for slot in LEAD_FACT_SLOTS if slots.get(slot) is not None}
        qualification = await qualify(conversation_from_events(tracker.events), slots, confirmed=confirmed)
        updates = qualification.slot_updates()
        metrics.LEADS.labels(lead_class=qualification.lead_class).inc()
        logger.info("lead.scored class=%s status=%s", qualification.lead_class, qualification.lead_status)
        lead = {**slots, **updates}
        if qualification.lead_status != LeadStatus.SUBSCRIPTION and not await send_simulation(dispatcher, lead):
            savings = savings_message(assess_lead(lead))  # no simulation without the state and the bill
            if savings:
                dispatcher.utter_message(text=savings)
        booking = calendar_settings() is not None and not slots.get("meeting_status")
        response = closing_response(qualification.lead_class, qualification.lead_status, booking)
        dispatcher.utter_message(response=response, customer_name=slots.get("customer_name") or "")
        hot = qualification.lead_class == LeadClass.HOT and qualification.lead_status != LeadStatus.SUBSCRIPTION
        if hot:
            await notify_sales(slots.get("customer_name"), tracker.sender_id, qualification.summary,
                               source=slots.get("lead_source"), campaign=slots.get("lead_campaign"))
        # Into the CRM and the webhooks, in this order: the lead exists before it is marked hot.
        for event_type in (LeadEventType.QUALIFIED, LeadEventType.HOT) if hot else (LeadEventType.QUALIFIED,):
            await publish_lead_event(event_type, tracker, lead, summary=qualification.summary)
        events: List[EventType] = [SlotSet(slot, value) for slot, value in updates.items()]
        if response in BOOKING_RESPONSES.values():
            events.append(FollowupAction("meeting_form"))  # offer the times now
        return events
