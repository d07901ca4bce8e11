"""Readiness and detailed health of the Rasa server that runs the Evolution channel.

Readiness answers "can this server take conversations now": the model is
loaded, and Redis and the action server answer. Detailed health adds what an
operator looks at: WhatsApp's connection, backlogs, the lead sync's outbox
(Kommo and outbound webhooks) and machine figures.
"""
from __future__ import annotations

import os
import resource
import shutil
import time
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Mapping, Optional

import httpx
from redis.exceptions import RedisError

from crm.outbox import LeadOutbox
from whatsapp.client import EvolutionClient, EvolutionError, EvolutionUnavailable
from whatsapp.store import ChannelStore

PROBE_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str = ""


def check_model(agent: Any) -> Check:
    if agent is None or not agent.is_ready():
        return Check(False, "no model loaded")
    return Check(True, f"model {agent.model_id}")


async def check_redis(store: ChannelStore) -> Check:
    try:
        await store.ping()
    except (RedisError, OSError) as error:
        return Check(False, f"redis unreachable ({type(error).__name__})")
    return Check(True, "redis answers")


def action_server_base(action_endpoint_url: str) -> str:
    """http://host:5055/webhook -> http://host:5055 (ACTION_SERVER_URL names the webhook)."""
    base = action_endpoint_url.rstrip("/")
    return base[: -len("/webhook")] if base.endswith("/webhook") else base


def action_server_health_url(action_endpoint_url: str) -> str:
    return action_server_base(action_endpoint_url) + "/health"


async def check_action_server(action_endpoint_url: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> Check:
    url = action_server_health_url(action_endpoint_url)
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(url)
    except httpx.HTTPError as error:
        return Check(False, f"action server unreachable ({type(error).__name__})")
    if response.status_code != 200:
        return Check(False, f"action server answered {response.status_code}")
    return Check(True, "action server answers")


async def readiness(agent: Any, store: ChannelStore, action_endpoint_url: str) -> Dict[str, Check]:
    return {
        "model": check_model(agent),
        "redis": await check_redis(store),
        "action_server": await check_action_server(action_endpoint_url),
    }


def missing(checks: Mapping[str, Check]) -> List[str]:
    return [name for name, check in checks.items() if not check.ok]


async def whatsapp_state(client: EvolutionClient) -> Dict[str, Any]:
    try:
        answer = await client.connection_state(probe=True)
    except (EvolutionError, EvolutionUnavailable, ValueError) as error:
        return {"reachable": False, "error": type(error).__name__}
    instance = answer.get("instance", answer) if isinstance(answer, dict) else {}
    return {"reachable": True, "state": instance.get("state")}


async def backlog(store: ChannelStore) -> Dict[str, Any]:
    try:
        return await store.backlog()
    except RedisError:
        return {"error": "redis unreachable"}


def machine() -> Dict[str, Any]:
    load1, load5, load15 = os.getloadavg()
    disk = shutil.disk_usage(os.getcwd())
    return {
        "cpus": os.cpu_count(),
        "load_average": [round(load1, 2), round(load5, 2), round(load15, 2)],
        # ru_maxrss is in KiB on Linux.
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "disk_free_gib": round(disk.free / 2**30, 1),
        "disk_used_percent": round(100 * disk.used / disk.total, 1),
    }


async def lead_sync(store: ChannelStore, key_prefix: str, now: Optional[float] = None) -> Dict[str, Any]:
    """The lead outbox (under ``REDIS_KEY_PREFIX``, not the channel's own prefix) as operators
    watch it: queues waiting, being delivered and dead (each a lead's queue for one target),
    and how late the most overdue queue is."""
    outbox = LeadOutbox(store.redis, key_prefix)
    try:
        figures = await outbox.figures()
        next_due_at = await outbox.next_due_at()
    except (RedisError, OSError) as error:
        return {"error": f"redis unreachable ({type(error).__name__})"}
    late = 0.0 if next_due_at is None else (time.time() if now is None else now) - next_due_at
    return {**figures, "oldest_due_age_seconds": round(max(late, 0.0), 1)}


async def detailed_health(
    *, agent: Any, store: ChannelStore, client: EvolutionClient, action_endpoint_url: str,
    last_connection_update: Mapping[str, Any], started_at: float, key_prefix: str,
) -> Dict[str, Any]:
    checks = await readiness(agent, store, action_endpoint_url)
    return {
        "status": "ok" if not missing(checks) else "degraded",
        "checks": {name: asdict(check) for name, check in checks.items()},
        "whatsapp": {"evolution": await whatsapp_state(client), "last_update": dict(last_connection_update)},
        "backlog": await backlog(store),
        "lead_sync": await lead_sync(store, key_prefix),
        "machine": machine(),
        "uptime_seconds": round(time.time() - started_at, 1),
    }
