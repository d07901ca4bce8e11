"""Meeting booking benchmark: a rush of leads choosing among the same three offered times, booked
by two bookers (two servers' worth, each with its own Redis and Google clients) against the fake
Google Calendar over real HTTP, with a private Redis.

- with the claim (as shipped): the time is claimed in Redis, re-checked with freeBusy, then created;
- without the claim (freeBusy re-check only, what a booking without a shared lock would do):
  the same rush, to show what the claim prevents.

Printed per scenario: bookings made, leads told "taken" (with alternatives), events that overlap
another event of the same consultant (double bookings, must be 0), latency per booking, and
Google requests per booking.
"""
from __future__ import annotations

import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from redis import asyncio as aioredis

from bench.results_io import percentile, write_results
from meetings.booking import Booker, BookingRequest, Outcome
from meetings.google_calendar import GoogleCalendarClient, ServiceAccount, parse_time
from meetings.settings import CalendarSettings
from meetings.store import MeetingStore
from scripts.procs import ROOT, start_redis
from scripts.tables import format_table
from tests.fake_google_calendar import FakeGoogleCalendar, write_service_account_key

LEADS = 40
BOOKERS = 2
CONSULTANTS = ("ana@bench.example", "bruno@bench.example")
NOW = parse_time("2026-12-07T08:00:00-03:00")  # a Monday morning


class NoClaimStore(MeetingStore):
    """The store without the shared claim: every claim succeeds (the "before" of this benchmark)."""

    async def claim(self, calendar_id: str, start: float, end: float, owner: str, *, buffer_s: float,
                    hold_until: float, now: float) -> Optional[str]:
        return None


def overlapping(events: List[Dict[str, Any]]) -> int:
    """Events that overlap an earlier one of the same calendar."""
    spans = sorted((parse_time(e["start"]["dateTime"]), parse_time(e["end"]["dateTime"])) for e in events)
    return sum(1 for before, after in zip(spans, spans[1:]) if after[0] < before[1])


async def rush(redis_port: int, prefix: str, fake: FakeGoogleCalendar, key_path: Path, claim: bool) -> Dict[str, Any]:
    settings = CalendarSettings.from_env({
        "GOOGLE_CALENDAR_CREDENTIALS": str(key_path), "GOOGLE_CALENDAR_IDS": ",".join(CONSULTANTS),
        "GOOGLE_CALENDAR_BASE_URL": fake.url, "GOOGLE_OAUTH_TOKEN_URL": fake.token_url})
    account = ServiceAccount.from_file(key_path)
    redis_clients = [aioredis.Redis(port=redis_port, decode_responses=True) for _ in range(BOOKERS)]
    google_clients = [GoogleCalendarClient(account, base_url=fake.url, token_url=fake.token_url)
                      for _ in range(BOOKERS)]
    store_type = MeetingStore if claim else NoClaimStore
    bookers = [Booker(settings, google, store_type(redis, prefix))
               for redis, google in zip(redis_clients, google_clients)]
    offered = [slot.start for slot in await bookers[0].offer(NOW)]
    before = len(fake.requests)
    chooser = random.Random(7)
    latencies: List[float] = []

    async def one(n: int) -> Outcome:
        request = BookingRequest(f"55119{n:08d}", "video", lead_name=f"Lead {n}")
        started = time.perf_counter()
        result = await bookers[n % BOOKERS].book(request, chooser.choice(offered), NOW)
        latencies.append(time.perf_counter() - started)
        return result.outcome

    started = time.perf_counter()
    outcomes = await asyncio.gather(*(one(n) for n in range(LEADS)))
    elapsed = time.perf_counter() - started
    for google in google_clients:
        await google.aclose()
    for redis in redis_clients:
        await redis.close()
    booked = sum(1 for outcome in outcomes if outcome is Outcome.BOOKED)
    events = {c: [e for e in fake.events(c) if e.get("status") != "cancelled"] for c in CONSULTANTS}
    return {
        "leads": LEADS, "offered_times": len(offered), "booked": booked,
        "taken": sum(1 for outcome in outcomes if outcome is Outcome.TAKEN),
        "events": sum(len(e) for e in events.values()),
        "double_bookings": sum(overlapping(e) for e in events.values()),
        "seconds": round(elapsed, 2),
        "booking_p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "booking_p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "google_requests_per_lead": round((len(fake.requests) - before) / LEADS, 1),
    }


def main() -> None:
    results: Dict[str, Dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        redis_process = start_redis(Path(tmp))
        key = write_service_account_key(Path(tmp))
        try:
            for name, claim in (("with the Redis claim", True), ("freeBusy re-check only", False)):
                print(f"{name}: {LEADS} leads choosing among 3 offered times, {BOOKERS} bookers, "
                      f"{len(CONSULTANTS)} consultants...", flush=True)
                with FakeGoogleCalendar() as fake:
                    fake.trust(key)
                    for consultant in CONSULTANTS:
                        fake.add_calendar(consultant)
                    results[name] = asyncio.run(rush(redis_process.port, f"bench{int(claim)}", fake, key.path, claim))
        finally:
            redis_process.stop()
    rows = [[name, r["leads"], r["booked"], r["taken"], r["double_bookings"], r["booking_p50_ms"],
             r["booking_p95_ms"], r["google_requests_per_lead"], r["seconds"]] for name, r in results.items()]
    print()
    print(format_table(["scenario", "leads", "booked", "told taken", "double bookings", "p50 (ms)", "p95 (ms)",
                        "Google req/lead", "all done (s)"], rows))
    print("\n3 times × 2 consultants = at most 6 bookings; every other lead must be told 'taken' with alternatives.")
    path = write_results("meetings", results)
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
