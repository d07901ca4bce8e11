"""Login with REVIEW_TOKEN, server-side sessions in Redis, CSRF tokens.

The session cookie carries only a random id (HttpOnly, SameSite=Strict); the
CSRF token lives in the session and must come back with every change, as the
form field `csrf_token` or the `X-CSRF-Token` header.
"""
from __future__ import annotations

import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlsplit

from redis import asyncio as aioredis

SESSION_COOKIE = "review_session"
# Failed logins tolerated per minute (all clients together) before answering 429.
MAX_FAILED_LOGINS_PER_MINUTE = 20


@dataclass(frozen=True)
class Session:
    id: str
    csrf: str
    created: float


def csrf_matches(given: Optional[str], session: Session) -> bool:
    return bool(given) and hmac.compare_digest(str(given), session.csrf)


def same_origin(origin: Optional[str], host: Optional[str]) -> bool:
    """A browser sends Origin with every cross-site POST: when it is there it must
    name this server (stops login CSRF). Tools that send none are allowed."""
    if not origin:
        return True
    if origin == "null":
        return False
    return urlsplit(origin).netloc == (host or "")


class Sessions:
    def __init__(self, client: aioredis.Redis, prefix: str, ttl_seconds: int) -> None:
        self.redis = client
        self.base = f"{prefix}:review:session"
        self.failures = f"{prefix}:review:login_failures"
        self.ttl = ttl_seconds

    async def create(self) -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), time.time())
        await self.redis.set(f"{self.base}:{session.id}",
                             json.dumps({"csrf": session.csrf, "created": session.created}), ex=self.ttl)
        return session

    async def get(self, session_id: Optional[str]) -> Optional[Session]:
        if not session_id or len(session_id) > 100:
            return None
        raw = await self.redis.get(f"{self.base}:{session_id}")
        if raw is None:
            return None
        data = json.loads(raw)
        return Session(session_id, data["csrf"], data["created"])

    async def delete(self, session_id: str) -> None:
        await self.redis.delete(f"{self.base}:{session_id}")

    async def too_many_failures(self) -> bool:
        count = await self.redis.get(f"{self.failures}:{int(time.time() // 60)}")
        return int(count or 0) >= MAX_FAILED_LOGINS_PER_MINUTE

    async def record_failure(self) -> None:
        key = f"{self.failures}:{int(time.time() // 60)}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key).expire(key, 120)
            await pipe.execute()
