"""The lead's slots as the simulation's inputs (sdr/simulation/slots.py), shared by the WhatsApp
message, the review UI and the weekly report; slots read from a stored tracker may hold anything."""
import pytest

from sdr.simulation import PARAMETERS_FILE_ENV, SimulationRequest, request_from_slots, simulate_slots


@pytest.fixture(autouse=True)
def shipped_parameters(monkeypatch):
    monkeypatch.delenv(PARAMETERS_FILE_ENV, raising=False)


def test_the_slots_become_a_request():
    slots = {"state": "MG", "monthly_bill_brl": "450", "monthly_kwh": 0, "city": " Uberlândia ", "utility": ""}
    assert request_from_slots(slots) == SimulationRequest(state="MG", monthly_bill_brl=450.0, city="Uberlândia")


@pytest.mark.parametrize("slots", [
    {"state": "MG"},
    {"monthly_kwh": 300.0},
    {"state": ["MG"], "monthly_kwh": 300.0},
    {"state": "MG", "monthly_kwh": True},
    {"state": "MG", "monthly_kwh": "trezentos"},
    {"state": "MG", "monthly_kwh": float("nan")},
    {"state": "MG", "monthly_bill_brl": {"value": 450}},
])
def test_odd_slot_values_are_missing_figures(slots):
    assert request_from_slots(slots) is None and simulate_slots(slots) is None


def test_simulate_slots_says_none_for_what_cannot_be_simulated():
    assert simulate_slots({"state": "MG", "monthly_bill_brl": 20.0}) is None  # at the minimum charge
    assert simulate_slots({"state": "MG", "monthly_bill_brl": 10_000_000.0}) is None  # above the ceiling
    sim = simulate_slots({"state": "MG", "monthly_bill_brl": 450.0, "city": 42})
    assert sim is not None and sim.request.city is None and sim.sizing.kwp > 0
