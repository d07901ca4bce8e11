"""The simulation on WhatsApp: action_qualify_lead's text and chart, and the chart itself."""
import asyncio
import base64
import json
from pathlib import Path

import httpx
import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import simulation
from actions.qualification import ActionQualifyLead
from actions.simulation import SEND_MEDIA_ENDPOINT, image_message, request_from_slots
from actions.simulation_chart import PNG_SIGNATURE, render_chart
from sdr.simulation import PARAMETERS_FILE_ENV, SimulationRequest, simulate
from tests.unit.trackers import DOMAIN, make_tracker
from whatsapp.client import EvolutionClient

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
HOT_LEAD = {
    "customer_name": "Carlos Souza", "monthly_bill_brl": 600.0, "city": "Uberlândia", "state": "MG",
    "is_owner": True, "is_decision_maker": True, "timeline": "imediato", "property_type": "residencial",
}


@pytest.fixture(autouse=True)
def shipped_parameters(monkeypatch):
    monkeypatch.delenv(PARAMETERS_FILE_ENV, raising=False)


def run(slots):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionQualifyLead().run(dispatcher, make_tracker(slots), DOMAIN))
    return dispatcher.messages, events


def test_a_qualified_lead_gets_the_simulation_text_and_the_chart():
    messages, _ = run(HOT_LEAD)
    text, image, closing = messages
    assert "Sua simulação solar, Carlos" in text["text"]
    assert "kWp" in text["text"] and "Retorno do investimento" in text["text"] and "Em 25 anos" in text["text"]
    assert "estimativa" in text["text"] and "consultor confirma" in text["text"]
    assert "CEMIG" in text["text"] and "Uberlândia/MG" in text["text"]
    assert "economia estimada é de até" not in text["text"]  # the plain estimate is replaced
    custom = image["custom"]["evolution"]
    assert custom["endpoint"] == "/message/sendMedia/{instance}"
    body = custom["body"]
    assert (body["mediatype"], body["mimetype"], body["fileName"]) == ("image", "image/png", "simulacao.png")
    assert "Carlos" in body["caption"] and "number" not in body  # the channel fills in the number
    assert base64.b64decode(body["media"]).startswith(PNG_SIGNATURE)
    assert closing["response"] == "utter_qualified_hot"


def test_kwh_and_state_are_enough():
    messages, _ = run({"customer_name": "Ana", "monthly_kwh": 400.0, "state": "BA", "is_owner": True})
    assert "Sua simulação solar, Ana" in messages[0]["text"] and "o sol de BA" in messages[0]["text"]
    assert messages[1]["custom"]["evolution"]["body"]["mediatype"] == "image"


@pytest.mark.parametrize("missing", ["state", "monthly_bill_brl"])
def test_without_the_state_or_the_bill_there_is_no_simulation(missing):
    slots = {k: v for k, v in HOT_LEAD.items() if k != missing}
    messages, _ = run(slots)
    assert not any(m.get("custom") for m in messages)
    assert not any("simulação solar" in (m.get("text") or "") for m in messages)
    if missing == "state":  # the plain estimate, as before
        assert "a economia estimada é de até R$ 510,00" in messages[0]["text"]


def test_a_tenant_gets_the_subscription_offer_and_no_simulation():
    messages, _ = run({**HOT_LEAD, "is_owner": False})
    assert [m["response"] for m in messages] == ["utter_offer_subscription"]


def test_figures_out_of_range_fall_back_to_the_plain_estimate():
    messages, _ = run({**HOT_LEAD, "monthly_bill_brl": 50_000.0})  # above the simulation's limit
    assert "a economia estimada é de até" in messages[0]["text"]
    assert not any(m.get("custom") for m in messages)


def test_a_chart_that_fails_still_leaves_the_text(monkeypatch):
    def broken(*_args):
        raise RuntimeError("no fonts")

    monkeypatch.setattr(simulation, "_render", broken)
    messages, _ = run(HOT_LEAD)
    assert "Sua simulação solar" in messages[0]["text"]
    assert messages[1]["response"] == "utter_qualified_hot"


def test_request_from_slots_never_guesses():
    assert request_from_slots({"state": "MG"}) is None
    assert request_from_slots({"monthly_kwh": 300.0}) is None
    assert request_from_slots({"state": "Minas", "monthly_kwh": 300.0}) is None
    assert request_from_slots({"state": "MG", "monthly_kwh": 300.0, "utility": "CEMIG"}) == SimulationRequest(
        state="MG", monthly_kwh=300.0, utility="CEMIG")


def test_the_chart_renders_and_a_sample_is_kept():
    # How fast it renders is `make bench`'s to measure (a timed test fails on a busy machine).
    sim = simulate(SimulationRequest(state="MG", city="Belo Horizonte", monthly_kwh=500, start_year=2026))
    png = render_chart(sim, "Carlos")
    assert png.startswith(PNG_SIGNATURE) and 10_000 < len(png) < 100_000
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "simulation.png").write_bytes(png)


def test_the_evolution_client_posts_the_image_message_as_is():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, json.loads(request.content)))
        return httpx.Response(201, json={"key": {"id": "ABC"}})

    message = image_message(PNG_SIGNATURE + b"rest", "legenda")["evolution"]

    async def post():
        async with EvolutionClient("http://evolution.test", "key", "solarprime",
                                   transport=httpx.MockTransport(handler)) as client:
            await client.post_custom(message["endpoint"], {**message["body"], "number": "5531999990000"})

    asyncio.run(post())
    [(path, body)] = seen
    assert path == SEND_MEDIA_ENDPOINT.replace("{instance}", "solarprime")
    assert body["mediatype"] == "image" and base64.b64decode(body["media"]).startswith(PNG_SIGNATURE)
