"""Scores a lead at the end of the qualification form and tells it what comes next."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.scoring import LeadAssessment, assess_lead, scoring_slots

CLASS_RESPONSES = {
    "HOT": "utter_qualified_hot",
    "WARM": "utter_qualified_warm",
    "COLD": "utter_qualified_cold",
    "UNQUALIFIED": "utter_disqualified",
}
MONTHS_PER_YEAR = 12


def format_brl(value: float) -> str:
    """R$ in Brazilian notation: 1234.5 -> "R$ 1.234,50"."""
    text = f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"R$ {text}"


def savings_message(assessment: LeadAssessment) -> Optional[str]:
    if not assessment.estimated_savings_brl or not assessment.effective_bill_brl:
        return None
    monthly = assessment.estimated_savings_brl
    return (
        f"Com uma conta de {format_brl(assessment.effective_bill_brl)}, a economia estimada "
        f"é de até {format_brl(monthly)} por mês ({format_brl(monthly * MONTHS_PER_YEAR)} por ano) 💰"
    )


def closing_response(assessment: LeadAssessment) -> str:
    if assessment.offer_subscription:
        return "utter_offer_subscription"
    return CLASS_RESPONSES[assessment.lead_class]


class ActionQualifyLead(Action):
    def name(self) -> Text:
        return "action_qualify_lead"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        slots: Dict[str, Any] = tracker.current_slot_values()
        assessment = assess_lead(slots)
        savings = savings_message(assessment)
        if savings:
            dispatcher.utter_message(text=savings)
        dispatcher.utter_message(
            response=closing_response(assessment),
            customer_name=slots.get("customer_name") or "",
        )
        return [SlotSet(slot, value) for slot, value in scoring_slots(assessment).items()]
