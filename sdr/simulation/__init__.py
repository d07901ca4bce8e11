"""A solar simulation for one lead: size, price, payback and savings (pure arithmetic, no I/O
beyond reading the YAML tables beside it).

* ``parameters``: parameters.yml (or SIMULATION_PARAMETERS_FILE), each value with its source or
  a labelled assumption;
* ``tables``: tariffs.yml (ANEEL residential tariffs per distribuidora) and irradiation.yml
  (peak sun hours per state);
* ``sizing``: kWp, modules, area, generation, investment range;
* ``savings``: year-by-year bills under Lei 14.300 (Fio B transition, minimum charge), payback;
* ``simulator``: ``simulate(SimulationRequest) -> Simulation``, and its JSON shape;
* ``slots``: the lead's slots as a ``SimulationRequest`` (``request_from_slots``), and
  ``simulate_slots`` (None when the figures are missing or cannot be simulated).
"""
from __future__ import annotations

from sdr.simulation.parameters import CONNECTIONS, PARAMETERS_FILE_ENV, Parameters, load_parameters
from sdr.simulation.savings import SavingsProjection, YearSavings
from sdr.simulation.simulator import Simulation, SimulationRequest, simulate
from sdr.simulation.sizing import SimulationError, Sizing
from sdr.simulation.slots import request_from_slots, simulate_slots
from sdr.simulation.tables import SimulationData, load_data

__all__ = [
    "CONNECTIONS",
    "PARAMETERS_FILE_ENV",
    "Parameters",
    "SavingsProjection",
    "Simulation",
    "SimulationData",
    "SimulationError",
    "SimulationRequest",
    "Sizing",
    "YearSavings",
    "load_data",
    "load_parameters",
    "request_from_slots",
    "simulate",
    "simulate_slots",
]
