"""What a lead's message says about the qualification questions.

Pure: text and conversation state in, slot updates out. Runs on every user
message (through `action_validate_slot_mappings`), so an answer to a later
question given early is kept. Two rules keep it from guessing:
- a bare answer ("450", "Campinas", "sim") only counts for the question the
  form is asking right now;
- a slot that already holds a value is only replaced by an answer to its own
  question, or, for the bill, by a figure with an explicit money cue (leads
  correct their bill: "na verdade vem uns 600 reais").
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Optional, Union

from sdr import parsing
from sdr.vocabulary import LeadStatus

BILL_SLOTS = ("monthly_bill_brl", "monthly_kwh")


def extract_lead_facts(
    text: str, *, requested_slot: Optional[str], current: Mapping[str, Any]
) -> Dict[str, Any]:
    """Slot updates read from `text`; only values that differ from `current`."""
    if not text.strip():
        return {}

    def asked(slot: str) -> bool:
        return requested_slot == slot

    found: Dict[str, Any] = {}

    name = parsing.parse_name(text, requested=asked("customer_name"))
    if name:
        found["customer_name"] = name

    bill = parsing.parse_bill(text, bare_number_ok=requested_slot in BILL_SLOTS)
    variation = parsing.parse_bill_variation(text)
    if variation is not None:  # "280 mas no verão vai pra 500": the ordinary month is the bill
        found["monthly_bill_brl"] = variation.usual
    elif bill.brl is not None:
        found["monthly_bill_brl"] = bill.brl
    if bill.kwh is not None:
        found["monthly_kwh"] = bill.kwh
    # A figure with a money or kWh cue corrects an earlier one; a bare number does not.
    bill_is_explicit = parsing.parse_bill(text, bare_number_ok=False) != parsing.BillFigure()

    location = parsing.parse_location(text, requested=asked("city"))
    if location.city:
        found["city"] = location.city
    state = location.state or (parsing.parse_state(text) if asked("state") else None)
    if state:
        found["state"] = state

    readers: Dict[str, Callable[[], Union[str, bool, None]]] = {
        "property_type": lambda: parsing.parse_property_type(text),
        "is_owner": lambda: parsing.parse_ownership(text, requested=asked("is_owner")),
        "is_decision_maker": lambda: parsing.parse_decision_maker(
            text, requested=asked("is_decision_maker")
        ),
        "timeline": lambda: parsing.parse_timeline(text, requested=asked("timeline")),
    }
    for slot, read in readers.items():
        value = read()
        if value is not None:
            found[slot] = value

    updates: Dict[str, Any] = {}
    for slot, value in found.items():
        replaceable = slot == requested_slot or (slot in BILL_SLOTS and bill_is_explicit)
        if current.get(slot) is None or replaceable:
            updates[slot] = value
    if "city" in updates:
        # The state goes with the city it was read with; an unknown one is asked.
        updates["state"] = found.get("state")

    updates = {slot: value for slot, value in updates.items() if current.get(slot) != value}
    if updates and current.get("lead_status") in (None, LeadStatus.NEW):
        updates["lead_status"] = LeadStatus.QUALIFYING.value
    return updates
