"""The solar simulation for a lead: on WhatsApp at the end of qualification, and as a command.

    python -m actions.simulation --kwh 500 --city "Belo Horizonte" --json
    python -m actions.simulation --bill 450 --state BA --connection trifasico --png simulacao.png

Prints the simulation (JSON with --json, else the WhatsApp text); exit status 2 with an
explanation on stderr for bad input. The arithmetic is in sdr/simulation/.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional

from actions.bill_text.utilities import find_utility
from actions.simulation_text import caption, first_name, simulation_message
from sdr.parsing import parse_location
from sdr.simulation import (
    CONNECTIONS,
    Simulation,
    SimulationError,
    SimulationRequest,
    load_data,
    request_from_slots,
    simulate,
)
from sdr.vocabulary import UFS

if TYPE_CHECKING:  # the command line runs without loading Rasa SDK
    from rasa_sdk.executor import CollectingDispatcher

__all__ = ["image_message", "main", "request_from_slots", "send_simulation"]

logger = logging.getLogger(__name__)

SEND_MEDIA_ENDPOINT = "/message/sendMedia/{instance}"
FILE_NAME = "simulacao.png"
EXIT_BAD_INPUT = 2


def image_message(png: bytes, text: str) -> Dict[str, Any]:
    """The custom JSON the Evolution channel posts as is (it fills in "number")."""
    return {"evolution": {"endpoint": SEND_MEDIA_ENDPOINT, "body": {
        "mediatype": "image",
        "mimetype": "image/png",
        "media": base64.b64encode(png).decode("ascii"),
        "fileName": FILE_NAME,
        "caption": text,
    }}}


def _render(sim: Simulation, name: Optional[str]) -> bytes:
    from actions.simulation_chart import render_chart  # matplotlib: loaded on first use

    return render_chart(sim, name)


async def send_simulation(dispatcher: CollectingDispatcher, slots: Mapping[str, Any]) -> bool:
    """Sends the simulation's text and chart; False (nothing sent) when it cannot be simulated."""
    request = request_from_slots(slots)
    if request is None:
        return False
    try:
        sim = simulate(request)
    except SimulationError as error:
        logger.info("simulation.skipped reason=%s", error)
        return False
    name = first_name(slots.get("customer_name"))
    dispatcher.utter_message(text=simulation_message(sim, name))
    try:
        png = await asyncio.to_thread(_render, sim, name)
    except Exception:  # the text went out; a chart that fails must not stop the conversation
        logger.exception("simulation.chart_failed")
        return True
    dispatcher.utter_message(json_message=image_message(png, caption(name)))
    logger.info("simulation.sent kwp=%.2f tariff=%s", sim.sizing.kwp, sim.tariff.source)
    return True


# ----------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m actions.simulation",
        description="Solar simulation for a lead: size, price, payback, savings (an estimate).",
    )
    figure = parser.add_mutually_exclusive_group(required=True)
    figure.add_argument("--kwh", type=float, help="monthly consumption in kWh")
    figure.add_argument("--bill", type=float, help="monthly bill in R$ (taxes included)")
    parser.add_argument("--city", help="the city (its state comes from the gazetteer)")
    parser.add_argument("--state", type=str.upper, help="the UF, needed when the city is unknown")
    parser.add_argument("--connection", choices=CONNECTIONS, help="default: parameters.yml default_connection")
    parser.add_argument("--utility", help="the distribuidora (default: the state capital's)")
    parser.add_argument("--start-year", type=int, help="calendar year of the first year (default: this year)")
    parser.add_argument("--name", help="the lead's name, for the text and the chart")
    parser.add_argument("--png", type=Path, help="also write the chart to this file")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the WhatsApp text")
    return parser


def _state(city: Optional[str], state: Optional[str]) -> str:
    if state is not None and state not in UFS:
        raise SimulationError(f"unknown state {state!r}: expected a UF such as MG or SP")
    found = parse_location(city, requested=True).state if city else None
    if state and found and found != state:
        raise SimulationError(f"{city} is in {found}, not in {state}")
    if state or found:
        return str(state or found)
    if city:
        raise SimulationError(f"cannot tell the state of {city!r} (unknown, or in several states): give --state UF")
    raise SimulationError("give --city NAME or --state UF")


def _utility(text: Optional[str], state: str) -> Optional[str]:
    if not text:
        return None
    known = find_utility(text, state) or getattr(load_data().tariffs.find(text), "utility", None)
    if known is None:
        raise SimulationError(f"unknown distribuidora {text!r} (names: actions/bill_text/distribuidoras.yml)")
    return str(known)


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        state = _state(args.city, args.state)
        sim = simulate(SimulationRequest(
            state=state, monthly_kwh=args.kwh, monthly_bill_brl=args.bill, city=args.city,
            utility=_utility(args.utility, state), connection=args.connection, start_year=args.start_year,
        ))
    except SimulationError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    name = first_name(args.name)
    if args.png:
        args.png.write_bytes(_render(sim, name))
    if args.json:
        print(json.dumps(sim.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(simulation_message(sim, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
