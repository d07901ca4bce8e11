"""Configuration of the Evolution channel.

Secrets and addresses come from environment variables (the contract's names);
tunables come from the channel's block in credentials.yml, each with a default.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any, Mapping, Optional

from sdr.env import ConfigError, is_true
from sdr.redis_settings import RedisSettings

MIB = 1024 * 1024


@dataclass(frozen=True)
class EvolutionSettings:
    # Where and who (environment).
    evolution_url: str = "http://localhost:8080"
    api_key: Optional[str] = None
    instance: str = "solarprime"
    webhook_token: Optional[str] = None
    webhook_jwt_key: Optional[str] = None
    webhook_hmac_secret: Optional[str] = None
    redis_host: str = "localhost"
    redis_port: int = 6379
    redis_db: int = 0
    redis_password: Optional[str] = None
    redis_key_prefix: str = "aisdr"
    rasa_auth_token: Optional[str] = None
    action_server_url: str = "http://localhost:5055/webhook"
    # Proactive messages (connectors.followups), parsed and checked at start-up.
    followup_delays: str = "30m,24h,72h"
    business_hours: str = "09:00-20:00"
    tz_name: str = "America/Sao_Paulo"
    weekly_report_to: Optional[str] = None
    weekly_report_at: str = "mon 09:00"
    media_retention_hours: float = 24.0

    # Behaviour (credentials.yml).
    allow_unauthenticated: bool = False
    max_body_bytes: int = 8 * MIB
    # Evolution retries a webhook for ~20 minutes; a day of memory outlives that and a reconnect's replay.
    dedupe_ttl_seconds: int = 24 * 3600
    debounce_seconds: float = 2.5
    # Offline backlog replayed on reconnect: older than this is history, not a conversation.
    max_message_age_seconds: int = 600
    rate_limit_per_minute: int = 60
    rate_limit_per_hour: int = 1000
    takeover_seconds: int = 1800
    max_text_chars: int = 4096
    typing_delay: bool = True
    typing_ms_per_char: int = 30
    typing_min_ms: int = 500
    typing_max_ms: int = 4000
    quote_replies: bool = False
    mark_read: bool = True
    http_timeout_seconds: float = 30.0
    http_max_retries: int = 3
    outbox_retry_seconds: float = 5.0
    # The action server downloads and transcribes a voice note before its turn.
    transcription_timeout_seconds: float = 90.0
    turn_max_attempts: int = 3
    # Turns are CPU-bound and share the event loop with the webhook: a cap keeps
    # acknowledgements fast under load without lowering throughput.
    max_concurrent_turns: int = 4
    # How often due follow-ups are looked for, and how long a server may hold one
    # before another takes it over (its server died mid-turn).
    proactive_poll_seconds: float = 1.0
    followup_lease_seconds: int = 120
    rate_limit_notice: str = (
        "Recebi muitas mensagens suas em pouco tempo 😅 Vou dar uma pausa e já te respondo."
    )

    @property
    def auth_configured(self) -> bool:
        return bool(self.webhook_token or self.webhook_jwt_key or self.webhook_hmac_secret)

    @property
    def redis_prefix(self) -> str:
        return f"{self.redis_key_prefix}:evo"

    @property
    def redis(self) -> RedisSettings:
        return RedisSettings(
            host=self.redis_host, port=self.redis_port, db=self.redis_db,
            password=self.redis_password, key_prefix=self.redis_key_prefix,
        )


ENVIRONMENT = {
    "evolution_url": "EVOLUTION_URL",
    "api_key": "EVOLUTION_API_KEY",
    "instance": "EVOLUTION_INSTANCE",
    "webhook_token": "EVOLUTION_WEBHOOK_TOKEN",
    "webhook_jwt_key": "EVOLUTION_WEBHOOK_JWT_KEY",
    "webhook_hmac_secret": "WEBHOOK_HMAC_SECRET",
    "redis_host": "REDIS_HOST",
    "redis_port": "REDIS_PORT",
    "redis_db": "REDIS_DB",
    "redis_password": "REDIS_PASSWORD",
    "redis_key_prefix": "REDIS_KEY_PREFIX",
    "rasa_auth_token": "RASA_AUTH_TOKEN",
    "action_server_url": "ACTION_SERVER_URL",
    "followup_delays": "FOLLOWUP_DELAYS",
    "business_hours": "BUSINESS_HOURS",
    "tz_name": "TZ_NAME",
    "weekly_report_to": "WEEKLY_REPORT_TO",
    "weekly_report_at": "WEEKLY_REPORT_AT",
    "media_retention_hours": "MEDIA_RETENTION_HOURS",
}


def _coerce(value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        return is_true(value)
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    return str(value)


def load_settings(
    credentials: Optional[Mapping[str, Any]] = None, environ: Optional[Mapping[str, str]] = None
) -> EvolutionSettings:
    """Settings from credentials.yml's block and the environment (environment wins for its names)."""
    environ = os.environ if environ is None else environ
    credentials = dict(credentials or {})
    known = {f.name: f for f in fields(EvolutionSettings)}
    unknown = sorted(set(credentials) - set(known))
    if unknown:
        raise ValueError(f"unknown Evolution channel settings in credentials.yml: {unknown}")
    defaults = EvolutionSettings()
    values = {}
    for name in known:
        default = getattr(defaults, name)
        raw = credentials.get(name)
        env_name = ENVIRONMENT.get(name)
        if env_name and environ.get(env_name) not in (None, ""):
            raw = environ[env_name]
        if raw is None or raw == "":
            values[name] = default
        else:
            # Optional fields are strings (secrets, passwords): YAML may have read `12345` as an int.
            try:
                values[name] = str(raw) if default is None else _coerce(raw, default)
            except ValueError:
                raise ConfigError(f"{env_name or name} must be like {default!r}, got {raw!r}") from None
    settings = EvolutionSettings(**values)
    _ = settings.redis  # built for its checks: a key prefix Rasa's tracker store would ignore stops the channel here
    return settings
