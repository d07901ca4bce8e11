"""The weekly report's figures read from a real Redis tracker store."""
from __future__ import annotations

import asyncio

from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from connectors.weekly_report import collect_weekly_figures
from sdr.simulation import SimulationRequest, simulate
from tests.unit.test_weekly_report import BEFORE, INSIDE, SINCE, UNTIL


def test_figures_come_from_the_redis_tracker_store(redis_port, prefix):
    key_prefix = prefix.replace(":", "").replace("evo", "")  # Rasa wants an alphanumeric prefix
    domain = Domain.from_path("domain.yml")
    store = RedisTrackerStore(domain, host="127.0.0.1", port=redis_port, db=0, key_prefix=key_prefix)

    def tracker(sender: str, events) -> DialogueStateTracker:
        return DialogueStateTracker.from_events(sender, events, domain.slots)

    async def body():
        await store.save(tracker("5511900000001", [
            ActionExecuted("action_listen", timestamp=INSIDE),
            UserUttered("oi", {"name": "greet", "confidence": 1.0}, timestamp=INSIDE),
            SlotSet("monthly_bill_brl", 450.0, timestamp=INSIDE + 5),
            SlotSet("state", "SP", timestamp=INSIDE + 5),
            SlotSet("lead_status", "qualificado", timestamp=INSIDE + 10),
            SlotSet("lead_class", "HOT", timestamp=INSIDE + 10),
        ]))
        await store.save(tracker("5511900000002", [
            UserUttered("oi", {"name": "greet", "confidence": 1.0}, timestamp=BEFORE),
            SlotSet("opted_out", True, timestamp=INSIDE),
        ]))
        await store.save(tracker("5511900000003", [
            UserUttered("quero falar com alguém", {"name": "request_human", "confidence": 1.0}, timestamp=INSIDE),
            SlotSet("lead_status", "atendimento_humano", timestamp=INSIDE),
        ]))
        return await collect_weekly_figures(store, until=UNTIL)

    figures = asyncio.run(body())
    sizing = simulate(SimulationRequest(state="SP", monthly_bill_brl=450.0)).sizing
    assert figures.as_dict() == {
        "since": SINCE, "until": UNTIL, "received": 2, "qualified": 1, "hot": 1,
        "handed_to_humans": 1, "opted_out": 1, "conversion_rate": 0.5,
        "by_source": {"unknown": {"received": 2, "qualified": 1, "hot": 1}}, "by_campaign": {},
        "simulated_leads": 1, "simulated_kwp": round(sizing.kwp, 2),
        "simulated_investment_min_brl": round(sizing.investment_min_brl, 2),
        "simulated_investment_max_brl": round(sizing.investment_max_brl, 2),
    }
