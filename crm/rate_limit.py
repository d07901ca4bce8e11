"""At most N calls per second to an outside API, across every process that shares a Redis key.

Kommo allows 7 requests per second per account and answers 429 past that (then blocks the
integration if it keeps happening), and several processes (Rasa workers, the action server)
call it with the same token. So the budget is counted where they all see it: one Redis counter
per wall-clock second, taken with INCR and given an expiry in one Lua script (atomic, one
round trip). The second comes from Redis's own clock (``TIME``), so processes whose clocks
disagree still count in the same window. A caller that finds its second full sleeps until the
next one and tries again.

A fixed window can let 2×N calls through around a second's boundary (N at its end, N at the
start of the next); Kommo counts per second too, and the client treats a 429 as "retry later",
so that edge costs a retry at worst.
"""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

__all__ = ["KOMMO_REQUESTS_PER_SECOND", "RedisRateLimiter"]

KOMMO_REQUESTS_PER_SECOND = 7
WINDOW_TTL_SECONDS = 2  # a window's counter outlives its second, then disappears
MIN_WAIT_SECONDS = 0.001
US_PER_S = 1_000_000

# KEYS[1]: the limiter's key; ARGV[1]: the counter's expiry (s).
# Returns {calls in this second including this one, microseconds left in this second}.
_ACQUIRE = """
local now = redis.call('TIME')
local key = KEYS[1] .. ':' .. now[1]
local count = redis.call('INCR', key)
if count == 1 then
  redis.call('EXPIRE', key, ARGV[1])
end
return {count, 1000000 - tonumber(now[2])}
"""


class RedisRateLimiter:
    """``await limiter.acquire()`` before each call; at most ``per_second`` pass each second.

    ``redis`` is a ``redis.asyncio.Redis`` (either ``decode_responses`` setting works). Pass
    ``limiter.acquire`` as the Kommo client's ``throttle``.
    """

    def __init__(
        self, redis: Any, key: str, per_second: int = KOMMO_REQUESTS_PER_SECOND, *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        if per_second < 1:
            raise ValueError(f"per_second must be at least 1, got {per_second}")
        if not key:
            raise ValueError("key must not be empty")
        self.redis = redis
        self.key = key
        self.per_second = per_second
        self._sleep = sleep
        self._script = redis.register_script(_ACQUIRE)

    def __repr__(self) -> str:
        return f"RedisRateLimiter(key={self.key!r}, per_second={self.per_second})"

    async def acquire(self) -> None:
        """Wait until this process may make one call in the current second."""
        while True:
            count, left_us = await self._script(keys=[self.key], args=[WINDOW_TTL_SECONDS])
            if int(count) <= self.per_second:
                return
            await self._sleep(max(int(left_us) / US_PER_S, MIN_WAIT_SECONDS))
