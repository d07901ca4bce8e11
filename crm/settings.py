"""Where lead events go and how hard the outbox tries: ``LEAD_WEBHOOK_*``, ``LEAD_SYNC_*``, Kommo on/off.

Both the action server (which publishes events) and the Rasa server (which delivers them) read
these, so both must see the same environment (one ``.env``).
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional, Tuple
from urllib.parse import urlsplit

from crm.kommo_settings import KommoSettings
from sdr.env import ConfigError, number
from sdr.schedule_rules import ScheduleConfigError, parse_delays

__all__ = ["KOMMO_TARGET", "LeadSyncSettings", "webhook_target"]

KOMMO_TARGET = "kommo"
WEBHOOK_TARGET_PREFIX = "hook-"
# A failed delivery is tried again after each of these; after the last it goes to the dead letter.
DEFAULT_RETRY_DELAYS = "10s,1m,5m,15m,1h,3h,6h,12h"
DEFAULT_POLL_SECONDS = 1.0
# How long one server holds a queue it took; a server that dies frees it after this.
DEFAULT_LEASE_SECONDS = 120.0
DEFAULT_HTTP_TIMEOUT_SECONDS = 10.0


def webhook_target(url: str) -> str:
    """A stable short name of one outbound URL (its queue keeps its place if the list is reordered)."""
    return WEBHOOK_TARGET_PREFIX + hashlib.sha256(url.encode()).hexdigest()[:12]


def _webhook_urls(raw: str) -> Tuple[str, ...]:
    urls = tuple(part.strip() for part in raw.split(",") if part.strip())
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"LEAD_WEBHOOK_URLS: {url.split('?')[0]!r} is not an http(s) URL")
    return urls


@dataclass(frozen=True)
class LeadSyncSettings:
    kommo_enabled: bool = False
    webhook_urls: Tuple[str, ...] = ()
    webhook_secret: Optional[str] = None
    retry_delays: Tuple[float, ...] = parse_delays(DEFAULT_RETRY_DELAYS)
    poll_seconds: float = DEFAULT_POLL_SECONDS
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    http_timeout_seconds: float = DEFAULT_HTTP_TIMEOUT_SECONDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> LeadSyncSettings:
        urls = _webhook_urls(environ.get("LEAD_WEBHOOK_URLS") or "")
        secret = environ.get("LEAD_WEBHOOK_SECRET") or None
        if urls and not secret:
            raise ConfigError("LEAD_WEBHOOK_URLS is set but LEAD_WEBHOOK_SECRET is not: receivers "
                              "could not tell our events from anybody's")
        try:
            delays = parse_delays(environ.get("LEAD_SYNC_RETRY_DELAYS") or DEFAULT_RETRY_DELAYS)
        except ScheduleConfigError as error:
            raise ConfigError(f"LEAD_SYNC_RETRY_DELAYS: {error}") from None
        return cls(
            kommo_enabled=KommoSettings.from_env(environ).enabled,
            webhook_urls=urls,
            webhook_secret=secret,
            retry_delays=delays,
            poll_seconds=number(environ, "LEAD_SYNC_POLL_SECONDS", DEFAULT_POLL_SECONDS, minimum=0.05),
            lease_seconds=number(environ, "LEAD_SYNC_LEASE_SECONDS", DEFAULT_LEASE_SECONDS, minimum=1),
            http_timeout_seconds=number(
                environ, "LEAD_WEBHOOK_TIMEOUT_SECONDS", DEFAULT_HTTP_TIMEOUT_SECONDS, minimum=0.1
            ),
        )

    @property
    def targets(self) -> Tuple[str, ...]:
        """Where each event goes: Kommo first, then each webhook."""
        kommo = (KOMMO_TARGET,) if self.kommo_enabled else ()
        return kommo + tuple(webhook_target(url) for url in self.webhook_urls)

    @property
    def enabled(self) -> bool:
        return bool(self.targets)

    def url_of(self, target: str) -> Optional[str]:
        return next((url for url in self.webhook_urls if webhook_target(url) == target), None)

    @property
    def max_attempts(self) -> int:
        return len(self.retry_delays) + 1

    def retry_delay(self, attempts: int) -> Optional[float]:
        """Seconds to wait after the ``attempts``-th failure; None once they are used up."""
        return self.retry_delays[attempts - 1] if 1 <= attempts <= len(self.retry_delays) else None
