"""At most N calls in any one second to an outside API, across every process sharing a Redis key.

Kommo allows 7 requests per second per account, answers 429 past that, and blocks an
integration that keeps exceeding it; several processes (each Rasa worker) call it with the
same token. So the budget is kept where they all see it: a sliding window in Redis, a sorted
set of the last second's calls, checked and extended in one Lua script (atomic, one round
trip). Unlike a counter per wall-clock second, which lets 2×N through around a second's
boundary (measured: 14 in one second with N = 7), no span of one second ever holds more than
N calls. Times come from Redis's own clock (``TIME``), so processes whose clocks disagree still
share one window. A caller that finds the window full sleeps until its oldest call leaves the
window and tries again.
"""
from __future__ import annotations

import asyncio
import uuid
from typing import Any, Awaitable, Callable

__all__ = ["KOMMO_REQUESTS_PER_SECOND", "RedisRateLimiter"]

KOMMO_REQUESTS_PER_SECOND = 7
# The window is a quarter second longer than Kommo's: a call is counted here when it is allowed
# and there when it arrives, and the time in between varies (measured with a 1.0 s window: 9
# arrivals within one second at the server, with 1.25 s: never more than 7).
WINDOW_US = 1_250_000
WINDOW_TTL_SECONDS = 2  # the window's set outlives its last call, then disappears
MIN_WAIT_SECONDS = 0.001
US_PER_S = 1_000_000

# KEYS[1]: the window; ARGV: per_second, a unique member, the set's expiry (s), window (µs).
# Returns 0 when the call may go now, else the microseconds until the window has room.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[4]))
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tonumber(oldest[2]) + tonumber(ARGV[4]) - now
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
        """Wait until one more call keeps the last second within the budget, and count it."""
        while True:
            wait_us = int(await self._script(keys=[self.key], args=[self.per_second, uuid.uuid4().hex,
                                                                     WINDOW_TTL_SECONDS, WINDOW_US]))
            if wait_us <= 0:
                return
            await self._sleep(max(wait_us / US_PER_S, MIN_WAIT_SECONDS))
