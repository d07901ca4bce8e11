"""Lead sync benchmark: the lead-events outbox delivered by two workers (two server processes'
worth) to the fake Kommo and a fake webhook receiver over real HTTP, with a private Redis.

- steady: leads qualified as HOT (two events each) — how long until every lead is in Kommo,
  how many Kommo requests a lead costs, and the busiest second seen by Kommo (its limit: 7/s);
- outage: Kommo down while leads arrive, then back — how long until all is delivered, and
  whether anything arrived twice.
"""
from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

import httpx
from redis import asyncio as aioredis

from bench.results_io import percentile, write_results
from crm.events import LeadEvent, LeadEventType
from crm.kommo_links import KommoLinks
from crm.kommo_mapping import load_mapping
from crm.kommo_settings import KommoSettings
from crm.kommo_sync import KommoSync
from crm.outbox import LeadOutbox
from crm.settings import KOMMO_TARGET, LeadSyncSettings, webhook_target
from crm.webhooks import WebhookSender
from crm.worker import LeadSyncWorker
from scripts.procs import ROOT, start_redis
from scripts.tables import format_table
from sdr.schedule_rules import BusinessHours
from tests.fake_kommo import PIPELINE_ID, FakeKommo
from tests.fake_webhook_receiver import FakeWebhookReceiver

STEADY_LEADS = 30
OUTAGE_LEADS = 15
OUTAGE_SECONDS = 10.0
WORKERS = 2
SECRET = "bench-lead-webhook-secret"
MAPPING_FILE = ROOT / "tests" / "data" / "kommo_mapping.yml"
HOURS = BusinessHours.parse("00:00-00:00", "America/Sao_Paulo")
SLOTS = {"customer_name": "Maria Souza", "monthly_bill_brl": 450.0, "city": "Campinas", "state": "SP",
         "property_type": "residencial", "is_owner": True, "is_decision_maker": True, "timeline": "imediato",
         "lead_score": 83.0, "lead_class": "HOT", "lead_status": "qualificado"}


def busiest_second(times: List[float]) -> int:
    ordered = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def run_scenario(redis_port: int, prefix: str, kommo: FakeKommo, receiver: FakeWebhookReceiver,
                       leads: int, outage_s: float) -> Dict[str, Any]:
    hook_url = receiver.url + "/hook"
    settings = LeadSyncSettings(kommo_enabled=True, webhook_urls=(hook_url,), webhook_secret=SECRET,
                                retry_delays=(1.0, 2.0, 4.0, 8.0, 16.0), poll_seconds=0.05)
    kommo_settings = KommoSettings(base_url=kommo.url, access_token=kommo.token, pipeline_id=PIPELINE_ID)
    mapping = load_mapping(MAPPING_FILE)
    clients = [aioredis.Redis(host="127.0.0.1", port=redis_port, decode_responses=True) for _ in range(WORKERS)]

    http = httpx.AsyncClient(timeout=5.0)
    workers = [
        LeadSyncWorker(LeadOutbox(client, prefix), settings, {
            KOMMO_TARGET: KommoSync(kommo_settings, mapping, KommoLinks(client, prefix), client, hours=HOURS),
            webhook_target(hook_url): WebhookSender(http, hook_url, SECRET),
        }) for client in clients
    ]
    outbox = LeadOutbox(clients[0], prefix)
    if outage_s:
        kommo.go_down()
    started = time.time()
    for n in range(leads):
        phone = f"55119{n:08d}"
        for kind in (LeadEventType.QUALIFIED, LeadEventType.HOT):
            event = LeadEvent.create(kind, phone, SLOTS, anchor="1", occurred_at=time.time())
            await outbox.publish(event, settings.targets)
    tasks = [asyncio.create_task(worker.run()) for worker in workers]
    if outage_s:
        await asyncio.sleep(outage_s)
        kommo.come_back()
    back = time.time()
    back_monotonic = time.monotonic()  # the fake stamps requests with the monotonic clock
    expected_notes = 2 * leads
    while len(kommo.notes) < expected_notes or len(receiver.received) < 2 * leads:
        await asyncio.sleep(0.1)
    done = time.time()
    await asyncio.sleep(3.0)  # anything delivered twice would land by now
    for task in tasks:
        task.cancel()
    deliveries = await outbox.deliveries(limit=1000)
    await http.aclose()
    for client in clients:
        await client.close()
    kommo_times = [r.time for r in kommo.requests if r.time >= back_monotonic and r.status != 503]
    lags = [d.at - started for d in deliveries if d.outcome == "delivered" and d.target == KOMMO_TARGET]
    return {
        "leads": leads,
        "events": 2 * leads,
        "seconds_to_all_delivered": round(done - back, 1),
        "kommo_requests": len(kommo_times),
        "kommo_requests_per_lead": round(len(kommo_times) / leads, 1),
        "busiest_second_requests": busiest_second(kommo_times),
        "delivered_p50_s": round(percentile(lags, 0.5), 1),
        "delivered_p95_s": round(percentile(lags, 0.95), 1),
        "failed_attempts": sum(1 for d in deliveries if d.outcome == "retry"),
        "contacts": len(kommo.contacts), "kommo_leads": len(kommo.leads), "notes": len(kommo.notes),
        "tasks": len(kommo.tasks), "webhooks": len(receiver.received),
        "webhooks_signed": sum(1 for hook in receiver.received if hook.signature_valid),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        redis_process = start_redis(Path(tmp))
        results: Dict[str, Dict[str, Any]] = {}
        try:
            for name, leads, outage in (("steady", STEADY_LEADS, 0.0), ("outage", OUTAGE_LEADS, OUTAGE_SECONDS)):
                label = f"Kommo down {outage:.0f} s, then back" if outage else "Kommo up"
                print(f"{name}: {leads} HOT leads ({2 * leads} events), {WORKERS} workers, {label}...", flush=True)
                with FakeKommo() as kommo, FakeWebhookReceiver(SECRET) as receiver:
                    results[name] = asyncio.run(run_scenario(redis_process.port, f"bench{name}", kommo,
                                                             receiver, leads, outage))
        finally:
            redis_process.stop()
    rows = [[name, r["leads"], r["seconds_to_all_delivered"], r["delivered_p50_s"], r["delivered_p95_s"],
             r["kommo_requests_per_lead"], r["busiest_second_requests"], r["failed_attempts"],
             f'{r["contacts"]}/{r["kommo_leads"]}/{r["notes"]}/{r["tasks"]}', f'{r["webhooks_signed"]}/{r["webhooks"]}']
            for name, r in results.items()]
    print()
    print(format_table(["scenario", "leads", "all in (s)", "p50 (s)", "p95 (s)", "Kommo req/lead",
                        "busiest second", "failed tries", "contacts/leads/notes/tasks", "signed webhooks"], rows))
    print("\n'all in' counts from Kommo being reachable; p50/p95 from publishing; Kommo allows 7 requests/s.")
    path = write_results("crm", results)
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
