"""A message that answers the bill question and says more ("minha conta é 280 mas no verão vai pra
500"): the ordinary month fills the slot, the variation is acknowledged (issue 20, item 4)."""
from __future__ import annotations

from typing import Optional, Tuple

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.slot_extraction import ValidateSlotMappings
from sdr.lead_facts import extract_lead_facts
from sdr.parsing import parse_bill_variation
from tests.unit.trackers import DOMAIN, make_tracker


@pytest.mark.parametrize("text, expected", [
    ("minha conta é 280 mas no verão vai pra 500", (280.0, 500.0, "no verão")),
    ("minha conta é 280 mas no verao vai pra uns 500 reais", (280.0, 500.0, "no verão")),  # the unit is not the bill
    ("R$ 400, no calor chega a 600", (400.0, 600.0, "no calor")),
    ("pago uns 350 reais, no inverno baixa pra 250", (350.0, 250.0, "no inverno")),
    ("minha conta vem 450", None),
    ("a conta é 300 reais no verao", None),  # one figure: nothing to acknowledge
    ("uns 300, no inverno cai pra 200", None),  # no cue for the first: not sure which is the bill
    ("conta de 300 no verao 300", None),
    ("no verão tenho 6 placas e pago 300", None),  # the season comes before the only bill
])
def test_the_variation_is_read(text: str, expected: Optional[Tuple[float, float, str]]) -> None:
    found = parse_bill_variation(text)
    assert (None if found is None else (found.usual, found.other, found.when)) == expected


def test_the_ordinary_month_fills_the_bill_even_when_the_other_has_the_unit() -> None:
    updates = extract_lead_facts("minha conta é 280 mas no verão vai pra uns 500 reais",
                                 requested_slot="monthly_bill_brl", current={})
    assert updates["monthly_bill_brl"] == 280.0


def test_the_form_acknowledges_the_variation_when_it_keeps_the_bill() -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text="minha conta é 280 mas no verão vai pra 500", active_loop="qualification_form")
    result = ValidateSlotMappings().validate_monthly_bill_brl(280.0, dispatcher, tracker, DOMAIN)
    assert result == {"monthly_bill_brl": 280.0}
    assert dispatcher.messages[0]["response"] == "utter_bill_variation_noted"
    assert (dispatcher.messages[0]["usual"], dispatcher.messages[0]["other"], dispatcher.messages[0]["when"]) == (
        "R$ 280,00", "R$ 500,00", "no verão")
    # A plain bill: nothing extra said.
    plain = CollectingDispatcher()
    ValidateSlotMappings().validate_monthly_bill_brl(450.0, plain, make_tracker(text="uns 450"), DOMAIN)
    assert plain.messages == []
