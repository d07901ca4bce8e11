"""Per-user sessions in Redis, CSRF tokens and the back-off of failed logins.

The session cookie carries only a random id (HttpOnly, SameSite=Strict); the session
(user name and CSRF token) lives in Redis, and each user's session ids are kept in a set
so that disabling the account or resetting its password ends them all at once
(review/users.py). The CSRF token must come back with every change, as the form field
`csrf_token` or the `X-CSRF-Token` header.
"""
from __future__ import annotations

import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Optional, Tuple
from urllib.parse import urlsplit

from redis import asyncio as aioredis

SESSION_COOKIE = "review_session"
# Failures tolerated before the back-off starts: per account (someone guessing one
# password) and per client address (someone trying many accounts).
FREE_FAILURES_PER_USER = 5
FREE_FAILURES_PER_ADDRESS = 20
BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 15 * 60.0
# Counters are forgotten after an hour without failures.
FAILURE_MEMORY_S = 3600


@dataclass(frozen=True)
class Session:
    id: str
    csrf: str
    created: float
    user: str


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


def backoff_seconds(failures: int, free: int) -> float:
    """Doubling wait after the free failures: 2 s, 4 s, 8 s … up to 15 min."""
    if failures < free:
        return 0.0
    return min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** min(failures - free, 20))


class Sessions:
    def __init__(self, client: aioredis.Redis, prefix: str, ttl_seconds: int) -> None:
        self.redis = client
        self.base = f"{prefix}:review:session"
        self.index = f"{prefix}:review:user_sessions"
        self.ttl = ttl_seconds

    async def create(self, user: str) -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), time.time(), user)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(f"{self.base}:{session.id}",
                     json.dumps({"csrf": session.csrf, "created": session.created, "user": user}), ex=self.ttl)
            pipe.sadd(f"{self.index}:{user}", session.id).expire(f"{self.index}:{user}", self.ttl)
            await pipe.execute()
        return session

    async def get(self, session_id: Optional[str]) -> Optional[Session]:
        if not session_id or len(session_id) > 100:
            return None
        raw = await self.redis.get(f"{self.base}:{session_id}")
        if raw is None:
            return None
        data = json.loads(raw)
        if not data.get("user"):
            return None  # a session of the single-token UI: log in again
        return Session(session_id, data["csrf"], data["created"], data["user"])

    async def delete(self, session: Session) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(f"{self.base}:{session.id}").srem(f"{self.index}:{session.user}", session.id)
            await pipe.execute()


class LoginBackoff:
    """Failed logins counted per account and per address; past the free ones, each new
    attempt waits a doubling delay. A success clears the account's count only: an
    address stays suspect however many accounts it owns."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.redis = client
        self.base = f"{prefix}:review:login_failures"

    def _keys(self, user: str, address: str) -> Tuple[str, str]:
        return f"{self.base}:user:{user[:40]}", f"{self.base}:addr:{address[:64]}"

    async def wait_seconds(self, user: str, address: str, now: Optional[float] = None) -> float:
        """How long this login must still wait (0: go ahead)."""
        now = time.time() if now is None else now
        user_key, addr_key = self._keys(user, address)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(user_key, "count", "last").hmget(addr_key, "count", "last")
            (user_count, user_last), (addr_count, addr_last) = await pipe.execute()
        waits = [
            float(last or 0) + backoff_seconds(int(count or 0), free) - now
            for (count, last), free in (((user_count, user_last), FREE_FAILURES_PER_USER),
                                        ((addr_count, addr_last), FREE_FAILURES_PER_ADDRESS))
            if int(count or 0) >= free
        ]
        return max([0.0] + waits)

    async def failed(self, user: str, address: str, now: Optional[float] = None) -> None:
        now = time.time() if now is None else now
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in self._keys(user, address):
                pipe.hincrby(key, "count", 1).hset(key, "last", now).expire(key, FAILURE_MEMORY_S)
            await pipe.execute()

    async def succeeded(self, user: str) -> None:
        await self.redis.delete(self._keys(user, "")[0])
