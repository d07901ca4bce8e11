"""A lead sends a photo or PDF of the electricity bill: read it, fill the slots, confirm.

"Vi aqui: conta de outubro, R$ 419,30, 412 kWh, CEMIG. Confere?" — on "não"
the values read from the bill are dropped and the form asks for the bill again.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.bill import DEFAULT_MAX_BYTES, BillError, BillReading, read_bill
from actions.bill_text import BillFacts
from actions.media import MediaUnavailable, fetch_media
from observability import metrics
from sdr.dialogue import QUALIFICATION_FORM
from sdr.formatting import format_brl
from whatsapp.turn_metadata import TurnMetadata

logger = logging.getLogger(__name__)

MONTHS_PT = (
    "janeiro", "fevereiro", "março", "abril", "maio", "junho",
    "julho", "agosto", "setembro", "outubro", "novembro", "dezembro",
)
PROPERTY_TYPES = ("residencial", "comercial", "rural", "industrial")
# Slots a bill reading fills, dropped again when the lead says it read wrong.
BILL_SLOTS = ("monthly_bill_brl", "monthly_kwh", "utility")


def bill_slot_updates(facts: BillFacts, current: Dict[str, Any]) -> Dict[str, Any]:
    """Slots the bill fills: its figures always (they beat a guess), place and
    property type only when the lead has not said them."""
    updates: Dict[str, Any] = {}
    if facts.total_brl is not None:
        updates["monthly_bill_brl"] = facts.total_brl
    if facts.kwh is not None:
        updates["monthly_kwh"] = facts.kwh
    if facts.utility:
        updates["utility"] = facts.utility
    if facts.city and not current.get("city"):
        updates["city"] = facts.city
        updates["state"] = facts.state
    elif facts.state and not current.get("state"):
        updates["state"] = facts.state
    if facts.customer_class in PROPERTY_TYPES and not current.get("property_type"):
        updates["property_type"] = facts.customer_class
    return updates


def confirmation_text(facts: BillFacts) -> str:
    parts = []
    if facts.reference_month:
        month = int(facts.reference_month[5:7])
        parts.append(f"conta de {MONTHS_PT[month - 1]}")
    if facts.total_brl is not None:
        parts.append(format_brl(facts.total_brl))
    if facts.kwh is not None:
        parts.append(f"{facts.kwh:.0f} kWh")
    if facts.utility:
        parts.append(facts.utility)
    return f"Vi aqui: {', '.join(parts)}. Confere?"


def _has_figures(facts: BillFacts) -> bool:
    return facts.total_brl is not None or facts.kwh is not None


class ActionReadBill(Action):
    def name(self) -> str:
        return "action_read_bill"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        reading = await self._read(tracker)
        if reading is None or not reading.is_bill or not _has_figures(reading.facts):
            dispatcher.utter_message(response="utter_not_a_bill")
            # Back to the question the form was asking, if it was asking one.
            if tracker.active_loop_name == QUALIFICATION_FORM:
                return [FollowupAction(QUALIFICATION_FORM)]
            return []
        updates = bill_slot_updates(reading.facts, tracker.current_slot_values())
        dispatcher.utter_message(text=confirmation_text(reading.facts))
        # The form waits while the lead confirms: a "sim" is an answer to this.
        return [SlotSet(slot, value) for slot, value in updates.items()] + [ActiveLoop(None)]

    async def _read(self, tracker: Tracker) -> Optional[BillReading]:
        turn = TurnMetadata.of(tracker.latest_message)
        for message in turn.media(kinds=("image", "document")):
            try:
                data = await fetch_media(message, turn.reply_jid, max_bytes=DEFAULT_MAX_BYTES)
                started = time.perf_counter()
                # OCR is CPU-bound: off the event loop, so other conversations go on.
                reading = await asyncio.to_thread(read_bill, data)
                metrics.OCR_SECONDS.observe(time.perf_counter() - started)
            except (MediaUnavailable, BillError) as error:
                reason = "media_unavailable" if isinstance(error, MediaUnavailable) else "unreadable"
                metrics.OCR_FAILURES.labels(reason=reason).inc()
                logger.info("bill.unreadable reason=%s", error)
                continue
            if reading.is_bill:
                return reading
            metrics.OCR_FAILURES.labels(reason="not_a_bill").inc()
        return None


class ActionRejectBillReading(Action):
    """The lead said the reading is wrong: forget its figures, the form asks again."""

    def name(self) -> str:
        return "action_reject_bill_reading"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_bill_reading_rejected")
        return [SlotSet(slot, None) for slot in BILL_SLOTS]
