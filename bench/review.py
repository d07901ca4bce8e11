"""Review UI benchmark: 10,000 conversations seeded straight into a private
Redis in Rasa's own tracker format (DialogueStateTracker serialised by
RedisTrackerStore), then the latency of the inbox page and the conversation
page of the review UI running as a real server, beside its cheapest route
(`GET /healthz`) as the HTTP floor measured in the same run. Also: how long
the UI takes to index 10,000 conversations it has never seen, and to come
back up when its index is already in Redis."""
from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

import httpx

from bench.results_io import latency_summary, timed, write_results
from scripts.procs import BIN, ROOT, Server, free_port, start_redis, start_server
from scripts.tables import format_table

CONVERSATIONS = 10_000
REQUESTS = 300
WARMUP = 20
PREFIX = "bench"
TOKEN = "bench-review-token"
NAMES = ["Maria", "João", "Ana", "Carlos", "Fernanda", "Paulo", "Juliana", "Rafael"]
CITIES = [("Campinas", "SP"), ("Uberlândia", "MG"), ("Recife", "PE"), ("Curitiba", "PR")]
LEAD_OUTCOMES = [("HOT", "qualificado", 85.0), ("WARM", "qualificando", 62.0), ("COLD", "qualificando", 35.0),
                 ("UNQUALIFIED", "desqualificado", 10.0)]


def conversation_events(rng: random.Random, started: float) -> List[Any]:
    """A qualification conversation like the ones the assistant has (about 60 events)."""
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

    t = started
    events: List[Any] = [ActionExecuted("action_session_start", timestamp=t), SessionStarted(timestamp=t),
                         ActionExecuted("action_listen", timestamp=t)]

    def turn(text: str, intent: str, confidence: float, actions: List[str], bot: List[str],
             slots: Dict[str, Any]) -> None:
        nonlocal t
        t += rng.uniform(5, 90)
        events.append(UserUttered(text, intent={"name": intent, "confidence": confidence},
                                  parse_data={"intent": {"name": intent, "confidence": confidence}, "entities": [],
                                              "intent_ranking": [{"name": intent, "confidence": confidence}],
                                              "text": text},
                                  timestamp=t, input_channel="evolution"))
        for name in actions:
            events.append(ActionExecuted(name, policy="RulePolicy", confidence=1.0, timestamp=t + 0.1))
        for text_out in bot:
            events.append(BotUttered(text_out, timestamp=t + 0.2))
        for slot, value in slots.items():
            events.append(SlotSet(slot, value, timestamp=t + 0.2))
        events.append(ActionExecuted("action_listen", timestamp=t + 0.3))

    name = rng.choice(NAMES)
    city, state = rng.choice(CITIES)
    bill = float(rng.randrange(150, 2000, 10))
    lead_class, status, score = rng.choice(LEAD_OUTCOMES)
    turn("oi, boa tarde", "greet", rng.uniform(0.8, 1.0), ["utter_greet", "qualification_form"],
         ["Oi! Eu sou a Sol, assistente virtual da SolarPrime", "Pra começar, como posso te chamar?"],
         {"requested_slot": "customer_name"})
    turn(name, "inform", rng.uniform(0.5, 1.0), ["qualification_form"], [f"Prazer, {name}!"],
         {"customer_name": name, "lead_status": "qualificando", "requested_slot": "monthly_bill_brl"})
    if rng.random() < 0.2:
        turn("kkkk zyx", "nlu_fallback", 0.4, ["action_fallback"], ["Desculpe, não entendi."], {})
    turn(f"minha conta vem uns R$ {bill:.0f}", "inform", rng.uniform(0.6, 1.0), ["qualification_form"], [],
         {"monthly_bill_brl": bill, "requested_slot": "city"})
    turn(f"{city} - {state}", "inform", rng.uniform(0.6, 1.0), ["qualification_form"], [],
         {"city": city, "state": state, "requested_slot": "property_type"})
    turn("é uma casa própria", "inform", rng.uniform(0.6, 1.0), ["qualification_form"], [],
         {"property_type": "residencial", "is_owner": True, "requested_slot": "is_decision_maker"})
    turn("sou eu que decido", "inform", rng.uniform(0.6, 1.0), ["qualification_form"], [],
         {"is_decision_maker": True, "requested_slot": "timeline"})
    turn("o quanto antes", "inform", rng.uniform(0.6, 1.0), ["qualification_form", "action_qualify_lead"],
         [f"Com uma conta de R$ {bill:.0f}, a economia estimada é grande.", "Um consultor vai te chamar."],
         {"timeline": "imediato", "requested_slot": None, "lead_score": score, "lead_class": lead_class,
          "lead_status": status})
    return events


def seed(client: Any, count: int) -> List[str]:
    from rasa.core.tracker_store import RedisTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load(str(ROOT / "domain.yml"))
    rng = random.Random(7)
    now = time.time()
    senders = []
    pipe = client.pipeline(transaction=False)
    for i in range(count):
        sender = f"55{rng.randrange(11, 99)}9{rng.randrange(10**7, 10**8)}"
        senders.append(sender)
        tracker = DialogueStateTracker.from_events(sender, conversation_events(rng, now - rng.uniform(0, 60 * 86400)),
                                                   slots=domain.slots)
        pipe.set(f"{PREFIX}:tracker:{sender}", RedisTrackerStore.serialise_tracker(tracker))
        if (i + 1) % 500 == 0:
            pipe.execute()
            print(f"  seeded {i + 1}/{count}", flush=True)
    pipe.execute()
    return senders


def start_review(redis_port: int, log_dir: Path, name: str) -> Server:
    port = free_port()
    env = {"REVIEW_TOKEN": TOKEN, "REVIEW_PORT": str(port), "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(redis_port),
           "REDIS_KEY_PREFIX": PREFIX, "REVIEW_PROJECT_DIR": str(ROOT), "LOG_LEVEL": "WARNING"}
    return start_server(name, [str(BIN / "python"), "-m", "review"], f"http://127.0.0.1:{port}", "/healthz",
                        log_dir, env)


def main() -> None:
    import redis

    with tempfile.TemporaryDirectory() as tmp:
        log_dir = Path(tmp)
        redis_process = start_redis(log_dir)
        try:
            client = redis.Redis(host="127.0.0.1", port=redis_process.port, decode_responses=True)
            print(f"seeding {CONVERSATIONS} conversations in Rasa's tracker format...", flush=True)
            started = time.perf_counter()
            senders = seed(client, CONVERSATIONS)
            seed_s = time.perf_counter() - started

            print("starting the review UI (first start: indexes every conversation)...", flush=True)
            started = time.perf_counter()
            server = start_review(redis_process.port, log_dir, "review-cold")
            cold_s = time.perf_counter() - started
            server.stop()
            started = time.perf_counter()
            server = start_review(redis_process.port, log_dir, "review-warm")
            warm_s = time.perf_counter() - started
            try:
                figures = measure(server, senders)
            finally:
                server.stop()
            sync_s = timed_sync_pass(redis_process.port)
        finally:
            redis_process.stop()

    rows = [
        [label, stats["p50_ms"], stats["p95_ms"], stats["mean_ms"], stats["count"]] for label, stats in figures.items()
    ]
    print()
    print(format_table(["route (10,000 conversations)", "p50 ms", "p95 ms", "mean ms", "requests"], rows))
    print()
    print(format_table(["start-up", "seconds"], [
        ["seed 10,000 trackers (Rasa serialisation)", f"{seed_s:.1f}"],
        ["first start: index every tracker, until /healthz", f"{cold_s:.1f}"],
        ["restart with the index in Redis, until /healthz", f"{warm_s:.1f}"],
        ["background index pass, nothing changed (every 2 s)", f"{sync_s:.3f}"],
    ]))
    path = write_results("review", {
        "conversations": CONVERSATIONS,
        "routes": figures,
        "startup_seconds": {"seed": round(seed_s, 1), "cold_index": round(cold_s, 1), "warm_restart": round(warm_s, 1),
                            "index_pass_unchanged": round(sync_s, 3)},
    })
    print(f"\nwritten to {path.relative_to(ROOT)}")


def timed_sync_pass(redis_port: int) -> float:
    """One pass of the UI's background index refresh when no tracker changed: the
    work the server does every REVIEW_SYNC_SECONDS besides answering requests."""
    import asyncio

    from redis import asyncio as aioredis

    from review.index import ConversationIndex

    async def run() -> float:
        client = aioredis.Redis(host="127.0.0.1", port=redis_port, decode_responses=True)
        index = ConversationIndex(client, PREFIX)
        await index.load()
        await index.sync()
        started = time.perf_counter()
        changed = await index.sync()
        elapsed = time.perf_counter() - started
        await client.close()
        assert changed == 0
        return elapsed

    return asyncio.run(run())


def measure(server: Server, senders: List[str]) -> Dict[str, Dict[str, float]]:
    rng = random.Random(11)
    with httpx.Client(base_url=server.url, timeout=60) as http:
        assert http.post("/login", data={"username": "admin", "password": TOKEN}).status_code == 303
        listed = http.get("/api/conversations").json()
        assert listed["total"] == CONVERSATIONS, listed["total"]
        pages = listed["pages"]
        picks = [rng.choice(senders) for _ in range(REQUESTS)]
        for i in range(WARMUP):
            http.get("/conversations").raise_for_status()
            http.get(f"/conversations/{picks[i]}").raise_for_status()

        def get(path: str) -> None:
            response = http.get(path)
            assert response.status_code == 200, (path, response.status_code)

        return {
            "GET /healthz (floor)": latency_summary(timed(REQUESTS, lambda i: get("/healthz"), "healthz")),
            "inbox, first page": latency_summary(timed(REQUESTS, lambda i: get("/conversations"), "inbox")),
            "inbox, random page": latency_summary(
                timed(REQUESTS, lambda i: get(f"/conversations?page={rng.randrange(1, pages + 1)}"), "inbox pages")),
            "inbox, combined filters": latency_summary(timed(
                REQUESTS, lambda i: get("/conversations?lead_class=HOT&intent=inform&conf_max=0.7&q=campinas"),
                "inbox filtered")),
            "conversation page": latency_summary(
                timed(REQUESTS, lambda i: get(f"/conversations/{picks[i]}"), "conversation")),
        }
