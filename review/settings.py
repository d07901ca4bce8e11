"""Configuration of the review UI, from the contract's environment variables."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

from review.passwords import HashCost
from sdr.env import ConfigError, flag, number
from sdr.redis_settings import RedisSettings

__all__ = ["ConfigError", "ReviewSettings"]

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ReviewSettings:
    # First-run secret only: while no account exists, the UI creates the admin `admin`
    # with it as password (review/users.py FIRST_ADMIN). Optional once accounts exist.
    token: Optional[str] = None
    host: str = "127.0.0.1"
    port: int = 5002
    redis: RedisSettings = RedisSettings()
    rasa_url: str = "http://localhost:5005"
    rasa_auth_token: Optional[str] = None
    evolution_url: str = "http://localhost:8080"
    evolution_api_key: Optional[str] = None
    evolution_instance: str = "solarprime"
    # Where exports go: data/nlu_review.yml and tests/test_stories.yml under it.
    project_dir: Path = ROOT
    # How often the conversation index looks for trackers that changed.
    sync_seconds: float = 2.0
    # Below this NLU confidence a user message is flagged for review.
    low_confidence: float = 0.6
    session_hours: float = 12.0
    # Set when the UI is served over HTTPS (behind a proxy): cookies get `Secure`.
    secure_cookies: bool = False
    password_cost: HashCost = HashCost()
    # Audit entries older than this are trimmed from the stream (LGPD: keep what is needed).
    audit_retention_days: float = 365.0
    # WhatsApp number or group told when a conversation goes to a person (none: no message).
    handoff_notify_to: Optional[str] = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> ReviewSettings:
        token = env.get("REVIEW_TOKEN", "") or None
        if token is not None and len(token) < 8:
            raise ConfigError("REVIEW_TOKEN is too short: use at least 8 characters (better: 32 random ones)")
        return cls(
            token=token,
            host=env.get("REVIEW_HOST") or "127.0.0.1",
            port=int(number(env, "REVIEW_PORT", 5002, minimum=1, integer=True)),
            redis=RedisSettings.from_env(env),
            rasa_url=(env.get("RASA_URL") or "http://localhost:5005").rstrip("/"),
            rasa_auth_token=env.get("RASA_AUTH_TOKEN") or None,
            evolution_url=env.get("EVOLUTION_URL") or "http://localhost:8080",
            evolution_api_key=env.get("EVOLUTION_API_KEY") or None,
            evolution_instance=env.get("EVOLUTION_INSTANCE") or "solarprime",
            project_dir=Path(env.get("REVIEW_PROJECT_DIR") or ROOT),
            sync_seconds=number(env, "REVIEW_SYNC_SECONDS", 2.0, minimum=0),
            low_confidence=number(env, "REVIEW_LOW_CONFIDENCE", 0.6, minimum=0),
            secure_cookies=flag(env, "REVIEW_SECURE_COOKIES"),
            password_cost=HashCost.from_env(env),
            audit_retention_days=number(env, "REVIEW_AUDIT_RETENTION_DAYS", 365.0, minimum=1),
            handoff_notify_to=(env.get("HANDOFF_NOTIFY_TO") or "").strip() or None,
        )

    def __repr__(self) -> str:
        # Never print secrets (the token, Rasa's token, Evolution's key) nor the on-duty number.
        return f"ReviewSettings(host={self.host!r}, port={self.port}, key_prefix={self.key_prefix!r})"

    @property
    def key_prefix(self) -> str:
        return self.redis.key_prefix
