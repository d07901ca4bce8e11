"""The lead's slots as the simulation's inputs: one mapping for every place that shows the
simulation (the WhatsApp message, the review UI's lead panel, the weekly report's totals)."""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Optional

from sdr.simulation.simulator import Simulation, SimulationRequest, simulate
from sdr.simulation.sizing import SimulationError
from sdr.simulation.tables import SimulationData
from sdr.vocabulary import UFS

__all__ = ["request_from_slots", "simulate_slots"]


def _figure(value: Any) -> Optional[float]:
    """A slot's figure, or None when it is missing, zero or not a number (a slot read from a
    stored tracker may hold anything)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number and not math.isnan(number) else None


def _text(value: Any) -> Optional[str]:
    return (value.strip() or None) if isinstance(value, str) else None


def request_from_slots(slots: Mapping[str, Any]) -> Optional[SimulationRequest]:
    """What the lead told us, or None when a figure the simulation needs is missing (no guessing)."""
    state = slots.get("state")
    kwh, bill = _figure(slots.get("monthly_kwh")), _figure(slots.get("monthly_bill_brl"))
    if not isinstance(state, str) or state not in UFS or not (kwh or bill):
        return None
    return SimulationRequest(
        state=state,
        monthly_kwh=kwh,
        monthly_bill_brl=bill,
        city=_text(slots.get("city")),
        utility=_text(slots.get("utility")),
    )


def simulate_slots(slots: Mapping[str, Any], data: Optional[SimulationData] = None) -> Optional[Simulation]:
    """The lead's simulation, or None when its figures are missing or cannot be simulated (out of
    range, at or below the minimum charge). A broken parameters file still raises (ValueError)."""
    request = request_from_slots(slots)
    if request is None:
        return None
    try:
        return simulate(request, data)
    except SimulationError:
        return None
