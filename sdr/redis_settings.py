"""Where Redis is and how every process connects to it: one place for ``REDIS_*``.

Rasa's tracker store (endpoints.yml) reads ``REDIS_KEY_PREFIX`` too, and silently falls back to
``tracker:`` when the prefix is not purely letters and digits, while the channel and the review
UI would keep using ``<prefix>:…``: the review UI would then show no conversation at all. So a
prefix Rasa would refuse stops every process at start-up with a clear message instead.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from sdr.env import ConfigError, number

__all__ = ["RedisSettings", "check_key_prefix"]

DEFAULT_KEY_PREFIX = "aisdr"
# Seconds a command or a connection attempt may take before the caller sees a RedisError.
SOCKET_TIMEOUT_S = 5.0


def check_key_prefix(prefix: str) -> str:
    """``prefix`` if Rasa's RedisTrackerStore would use it as given, else ConfigError."""
    if not prefix.isalnum():  # the very test RedisTrackerStore._set_key_prefix applies
        raise ConfigError(
            f"REDIS_KEY_PREFIX={prefix!r}: use letters and digits only (Rasa's tracker store ignores "
            "any other prefix and would store conversations where the review UI does not look)"
        )
    return prefix


@dataclass(frozen=True)
class RedisSettings:
    host: str = "localhost"
    port: int = 6379
    db: int = 0
    password: Optional[str] = None
    key_prefix: str = DEFAULT_KEY_PREFIX

    def __post_init__(self) -> None:
        check_key_prefix(self.key_prefix)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> RedisSettings:
        return cls(
            host=environ.get("REDIS_HOST") or "localhost",
            port=int(number(environ, "REDIS_PORT", 6379, minimum=1, integer=True)),
            db=int(number(environ, "REDIS_DB", 0, minimum=0, integer=True)),
            password=environ.get("REDIS_PASSWORD") or None,
            key_prefix=environ.get("REDIS_KEY_PREFIX") or DEFAULT_KEY_PREFIX,
        )

    def _options(self, decode_responses: bool, timeout_s: float) -> dict[str, Any]:
        return dict(
            host=self.host, port=self.port, db=self.db, password=self.password or None,
            socket_timeout=timeout_s, socket_connect_timeout=SOCKET_TIMEOUT_S,
            decode_responses=decode_responses,
        )

    def async_client(self, *, decode_responses: bool = True, timeout_s: float = SOCKET_TIMEOUT_S) -> Any:
        """A pooled ``redis.asyncio.Redis``; create it inside the event loop that uses it."""
        from redis import asyncio as aioredis

        return aioredis.Redis(**self._options(decode_responses, timeout_s))

    def client(self, *, decode_responses: bool = True, timeout_s: float = SOCKET_TIMEOUT_S) -> Any:
        """A blocking ``redis.Redis``, for command-line tools."""
        import redis

        return redis.Redis(**self._options(decode_responses, timeout_s))

    def __repr__(self) -> str:  # never the password
        return f"RedisSettings(host={self.host!r}, port={self.port}, db={self.db}, key_prefix={self.key_prefix!r})"
