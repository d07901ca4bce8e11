"""Channel benchmark, on loopback with the fake Evolution server:

1. acknowledgement: the seed's load test, 1000 webhooks at 50 concurrent;
2. end to end: many leads talking at once, reply latency and turn throughput
   through the Evolution channel, beside Rasa's own REST channel on the same
   model and server in the same run.

Both parts run the Rasa server as shipped: SHIPPED_SANIC_WORKERS worker
processes. Part 1 runs the channel as shipped (credentials.yml: 2.5 s burst
window, at most 4 turns at once), a warm-up run then ACK_RUNS counted runs, each
from new leads and each followed by timing how long the server takes to answer
every lead. Part 2 runs it with the burst window off: that window is a wait on
purpose, and the comparison is about the channel's own cost.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Tuple

import aiohttp

from bench.results_io import latency_summary, write_results
from scripts.procs import (
    ROOT,
    SHIPPED_SANIC_WORKERS,
    start_action_server,
    start_rasa_server,
    start_redis,
    write_credentials,
)
from scripts.tables import format_table
from tests import evolution_samples as samples
from tests.fake_evolution import FakeEvolution

ACK_WEBHOOKS = 1000
ACK_CONCURRENCY = 50
ACK_SENDERS = 200
# The load test is repeated (new messages from new leads each time) and its p99
# judged on the median run: the p99 of one run of 1000 is its 10 slowest
# requests, and one scheduling hiccup of a shared machine moves it by 10+ ms.
ACK_RUNS = 5
# Before them, one run that is not counted: each worker's first webhooks open its
# Redis connections and warm its code paths.
WARM_UP_RUNS = 1
QUIET_S = 1.0
PACED_RATE = 250  # webhooks per second
E2E_LEADS = 30
SCRIPT = ["oi", "Maria", "minha conta vem uns 450 reais", "quanto custa?", "Campinas - SP"]
REPLY_WAIT_S = 120
POLL_S = 0.01

TOKEN = "bench-webhook-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
API_KEY = "bench-key"
INSTANCE = "solarprime"
SHIPPED_CREDENTIALS = ROOT / "credentials.yml"
NO_BURST_WINDOW_CREDENTIALS = """
rest:
connectors.evolution.EvolutionInput:
  debounce_seconds: 0
  typing_delay: false
"""
TARGETS = {"ack_p99_ms": 20.0, "errors": 0, "throughput_ratio": 0.8}


def webhook(phone: str, text: str) -> bytes:
    body = samples.upsert(
        samples.text_message(text), remote_jid=f"{phone}@s.whatsapp.net",
        key_id="3EB0" + uuid.uuid4().hex[:16].upper(), timestamp=time.time(),
    )
    return json.dumps(body, ensure_ascii=False).encode()


# The load comes from aiohttp: httpx's connection pool slows down past a few
# dozen concurrent requests and would measure the client, not the server.
def client_session(url: str, concurrency: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        base_url=url, connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=REPLY_WAIT_S),
    )


async def ack_load(url: str, phone_prefix: str) -> Tuple[List[float], int]:
    """Posts the webhooks, ACK_CONCURRENCY at a time; returns latencies and errors."""
    bodies = [webhook(f"{phone_prefix}{i % ACK_SENDERS:06d}", f"mensagem {i}") for i in range(ACK_WEBHOOKS)]
    latencies: List[float] = []
    errors = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while bodies:
            body = bodies.pop()
            started = time.perf_counter()
            try:
                async with session.post("/webhooks/evolution/webhook", data=body, headers=HEADERS) as response:
                    await response.read()
                    ok = response.status == 200
            except aiohttp.ClientError:
                ok = False
            latencies.append(time.perf_counter() - started)
            errors += 0 if ok else 1
            if len(latencies) % 250 == 0:
                print(f"  acknowledged {len(latencies)}/{ACK_WEBHOOKS}", flush=True)

    async with client_session(url, ACK_CONCURRENCY) as session:
        # Open the connections first: the figure is the webhook's, not TCP set-up's.
        await asyncio.gather(*(warm_up(session) for _ in range(ACK_CONCURRENCY)))
        await asyncio.gather(*(worker(session) for _ in range(ACK_CONCURRENCY)))
    return latencies, errors


WRK_SCRIPT = Path(__file__).resolve().parent / "wrk" / "webhook.lua"


def ack_phone_prefix(run: int) -> str:
    """Seven digits (plus six per lead = a 13-digit number), different for each run."""
    return f"553190{run % 10}"


def wrk_ack_load(url: str, run: int) -> Dict[str, Any]:
    """The flat-out load from wrk (C, one thread): a Python load generator on the
    same two cores would take the CPU the server is being measured on."""
    result = subprocess.run(
        # wrk runs for its whole -d even after the script stopped it at TOTAL requests;
        # 2 s covers 1000 webhooks and ends before the 2.5 s burst window starts turns.
        ["wrk", "-t1", f"-c{ACK_CONCURRENCY}", "-d2s", "--latency", "-s", str(WRK_SCRIPT), url],
        capture_output=True, text=True, check=True,
        env={**os.environ, "WEBHOOK_TOKEN": TOKEN, "TOTAL": str(ACK_WEBHOOKS), "LEADS": str(ACK_SENDERS),
             "THREADS": "1", "RUN": str(int(time.time()) * 10 + run), "PHONE_PREFIX": ack_phone_prefix(run)},
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return {
        "generator": "wrk",
        "count": figures["requests"],
        "p50_ms": round(figures["p50_us"] / 1000, 2),
        "p99_ms": round(figures["p99_us"] / 1000, 2),
        "max_ms": round(figures["max_us"] / 1000, 2),
        "mean_ms": round(figures["mean_us"] / 1000, 2),
        "errors": sum(figures["errors"].values()),
    }


def flat_out_ack_load(url: str, run: int) -> Dict[str, Any]:
    if shutil.which("wrk"):
        return wrk_ack_load(url, run)
    print("  (wrk not installed: `make setup` installs it; measuring with aiohttp instead)", flush=True)
    latencies, errors = asyncio.run(ack_load(url, ack_phone_prefix(run)))
    return {"generator": "aiohttp", **latency_summary(latencies), "errors": errors}


async def paced_ack_load(url: str) -> Tuple[List[float], int]:
    """The same webhooks sent at a steady PACED_RATE per second (open loop), as
    traffic arrives in real life, instead of as fast as the server answers."""
    latencies: List[float] = []
    errors = 0

    async def one(session: aiohttp.ClientSession, body: bytes, at: float) -> None:
        nonlocal errors
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        started = time.perf_counter()
        try:
            async with session.post("/webhooks/evolution/webhook", data=body, headers=HEADERS) as response:
                await response.read()
                errors += 0 if response.status == 200 else 1
        except aiohttp.ClientError:
            errors += 1
        latencies.append(time.perf_counter() - started)

    async with client_session(url, ACK_CONCURRENCY) as session:
        await asyncio.gather(*(warm_up(session) for _ in range(ACK_CONCURRENCY)))
        start = time.perf_counter()
        await asyncio.gather(*(
            one(session, webhook(f"5532900{i % ACK_SENDERS:06d}", f"mensagem {i}"), start + i / PACED_RATE)
            for i in range(ACK_WEBHOOKS)
        ))
    return latencies, errors


async def warm_up(session: aiohttp.ClientSession) -> None:
    async with session.get("/webhooks/evolution/") as response:
        await response.read()


async def rest_conversations(url: str) -> Tuple[List[float], float, Dict[Tuple[int, int], int]]:
    """Each lead talks through the REST channel; returns latencies, seconds, replies per step."""
    replies: Dict[Tuple[int, int], int] = {}
    latencies: List[float] = []

    async def lead(session: aiohttp.ClientSession, index: int) -> None:
        sender = f"rest-{uuid.uuid4().hex[:10]}"
        for step, text in enumerate(SCRIPT):
            started = time.perf_counter()
            async with session.post("/webhooks/rest/webhook", json={"sender": sender, "message": text}) as response:
                response.raise_for_status()
                replies[(index, step)] = len(await response.json())
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    async with client_session(url, E2E_LEADS) as session:
        await asyncio.gather(*(lead(session, i) for i in range(E2E_LEADS)))
    return latencies, time.perf_counter() - started, replies


async def evolution_conversations(
    url: str, fake: FakeEvolution, expected: Dict[Tuple[int, int], int]
) -> Tuple[List[float], float]:
    """The same leads through the Evolution channel: latency until the step's last reply."""
    latencies: List[float] = []

    async def lead(session: aiohttp.ClientSession, index: int) -> None:
        phone = f"5541{uuid.uuid4().int % 10**9:09d}"
        jid = f"{phone}@s.whatsapp.net"
        received = 0
        for step, text in enumerate(SCRIPT):
            started = time.perf_counter()
            async with session.post(
                "/webhooks/evolution/webhook", data=webhook(phone, text), headers=HEADERS
            ) as response:
                response.raise_for_status()
            received += expected[(index, step)]
            deadline = time.monotonic() + REPLY_WAIT_S
            while fake.sent_text_count(jid) < received:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"lead {index} step {step}: replies missing")
                await asyncio.sleep(POLL_S)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    async with client_session(url, E2E_LEADS) as session:
        await asyncio.gather(*(lead(session, i) for i in range(E2E_LEADS)))
    return latencies, time.perf_counter() - started


def wait_until_quiet(fake: FakeEvolution, quiet_s: float = QUIET_S) -> None:
    """Until nothing reached Evolution for quiet_s: the last turns' trailing sends
    (split replies, typing, read marks) would otherwise share the CPU with the next run."""
    seen, since = len(fake.requests), time.monotonic()
    deadline = since + REPLY_WAIT_S
    while time.monotonic() < deadline:
        time.sleep(0.1)
        count = len(fake.requests)
        if count != seen:
            seen, since = count, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return


def mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def wait_until_answered(fake: FakeEvolution, senders: int, phone_prefix: str) -> float:
    """Seconds until every lead of one acknowledgement run got an answer."""
    started = time.perf_counter()
    deadline = time.monotonic() + REPLY_WAIT_S * 5
    while time.monotonic() < deadline:
        answered = {
            r.json.get("number") for r in fake.requests_for("sendText")
            if isinstance(r.json, dict) and str(r.json.get("number", "")).startswith(phone_prefix)
        }
        if len(answered) >= senders:
            return time.perf_counter() - started
        time.sleep(0.2)
    raise TimeoutError("not every lead of the acknowledgement load was answered")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, FakeEvolution(api_key=API_KEY, instance=INSTANCE) as fake:
        logs = Path(tmp)
        redis = start_redis(logs)
        actions = start_action_server(logs)
        env = {
            "REDIS_HOST": redis.host, "REDIS_PORT": str(redis.port), "REDIS_DB": "0",
            "REDIS_PASSWORD": "", "REDIS_KEY_PREFIX": "bench",
            "EVOLUTION_URL": fake.url, "EVOLUTION_API_KEY": API_KEY, "EVOLUTION_INSTANCE": INSTANCE,
            "EVOLUTION_WEBHOOK_TOKEN": TOKEN,
        }
        try:
            print("starting the Rasa server with credentials.yml as shipped...", flush=True)
            server = start_rasa_server(
                logs, action_url=actions.url, credentials=str(SHIPPED_CREDENTIALS), env=env,
                workers=SHIPPED_SANIC_WORKERS,
            )
            try:
                runs: List[Dict[str, Any]] = []
                for run in range(WARM_UP_RUNS + ACK_RUNS):
                    counted = run >= WARM_UP_RUNS
                    label = f"run {run - WARM_UP_RUNS + 1}/{ACK_RUNS}" if counted else "warm-up run (not counted)"
                    print(f"1/3 acknowledgement, {label}: {ACK_WEBHOOKS} webhooks from "
                          f"{ACK_SENDERS} new leads, {ACK_CONCURRENCY} concurrent", flush=True)
                    stats = flat_out_ack_load(server.url, run)
                    print(f"  p50 {stats['p50_ms']} ms, p99 {stats['p99_ms']} ms, errors {stats['errors']}; "
                          f"waiting until all {ACK_SENDERS} leads are answered...", flush=True)
                    stats["all_answered_after_s"] = round(
                        wait_until_answered(fake, ACK_SENDERS, ack_phone_prefix(run)), 1)
                    wait_until_quiet(fake)
                    if counted:
                        runs.append(stats)
                print(f"  the same {ACK_WEBHOOKS} webhooks at a steady {PACED_RATE}/s...", flush=True)
                paced, paced_errors = asyncio.run(paced_ack_load(server.url))
            finally:
                server.stop()
            print("starting the Rasa server without the burst window...", flush=True)
            server = start_rasa_server(
                logs, action_url=actions.url, env={**env, "REDIS_KEY_PREFIX": "benche2e"},
                credentials=write_credentials(logs, NO_BURST_WINDOW_CREDENTIALS), workers=SHIPPED_SANIC_WORKERS,
            )
            try:
                print(f"2/3 REST channel: {E2E_LEADS} leads x {len(SCRIPT)} messages", flush=True)
                rest, rest_s, expected = asyncio.run(rest_conversations(server.url))
                print(f"3/3 Evolution channel: {E2E_LEADS} leads x {len(SCRIPT)} messages", flush=True)
                fake.clear()  # keeps the reply polling cheap
                evo, evo_s = asyncio.run(evolution_conversations(server.url, fake, expected))
            finally:
                server.stop()
        finally:
            actions.stop()
            redis.stop()

    paced_stats = latency_summary(paced)
    rest_stats, evo_stats = latency_summary(rest), latency_summary(evo)
    turns = E2E_LEADS * len(SCRIPT)
    rest_tps, evo_tps = turns / rest_s, turns / evo_s
    ratio = evo_tps / rest_tps
    limit = TARGETS["ack_p99_ms"]
    ack_p50 = statistics.median(r["p50_ms"] for r in runs)
    ack_p99 = statistics.median(r["p99_ms"] for r in runs)
    worst_p99 = max(r["p99_ms"] for r in runs)
    errors = sum(r["errors"] for r in runs)
    print()
    print(f"Rasa server: {SHIPPED_SANIC_WORKERS} worker processes, as shipped")
    print(format_table(
        ["acknowledgement", f"{ACK_CONCURRENCY} concurrent, flat out ({runs[0]['generator']})",
         f"steady {PACED_RATE}/s", "target"],
        [
            ["webhooks", f"{ACK_RUNS} runs x {ACK_WEBHOOKS}", ACK_WEBHOOKS, ""],
            ["p50, ms (median run)", ack_p50, paced_stats["p50_ms"], ""],
            ["p99, ms (median run)", ack_p99, paced_stats["p99_ms"],
             f"< {limit:.0f}: {mark(ack_p99 < limit)} / {mark(paced_stats['p99_ms'] < limit)}"],
            ["p99 of each run, ms", " ".join(f"{r['p99_ms']:g}" for r in runs), "", ""],
            ["errors", errors, paced_errors, f"0: {mark(errors == 0)} / {mark(paced_errors == 0)}"],
            [f"all {ACK_SENDERS} leads of a run answered after, s (median)",
             f"{statistics.median(r['all_answered_after_s'] for r in runs):.1f}", "", ""],
        ],
    ))
    print()
    print(format_table(
        ["end to end", "Evolution channel", "REST channel (baseline)"],
        [
            ["turns", turns, turns],
            ["reply latency p50, ms", evo_stats["p50_ms"], rest_stats["p50_ms"]],
            ["reply latency p95, ms", evo_stats["p95_ms"], rest_stats["p95_ms"]],
            ["throughput, turns/s", f"{evo_tps:.1f}", f"{rest_tps:.1f}"],
            [
                "ratio to REST",
                f"{ratio:.2f} (target >= {TARGETS['throughput_ratio']} {mark(ratio >= TARGETS['throughput_ratio'])})",
                "1.00",
            ],
        ],
    ))
    path = write_results("channel", {
        "rasa_workers": SHIPPED_SANIC_WORKERS,
        "acknowledgement": {
            "concurrency": ACK_CONCURRENCY, "senders": ACK_SENDERS, "webhooks_per_run": ACK_WEBHOOKS,
            "p50_ms_median_run": ack_p50, "p99_ms_median_run": ack_p99, "p99_ms_worst_run": worst_p99,
            "errors": errors, "runs": runs,
        },
        "acknowledgement_paced": {**paced_stats, "rate_per_second": PACED_RATE, "errors": paced_errors},
        "end_to_end": {
            "leads": E2E_LEADS, "messages_per_lead": len(SCRIPT),
            "evolution": {**evo_stats, "turns_per_second": round(evo_tps, 2)},
            "rest_baseline": {**rest_stats, "turns_per_second": round(rest_tps, 2)},
            "throughput_ratio": round(ratio, 3),
        },
        "targets": TARGETS,
    })
    print(f"\nwritten to {path}")
