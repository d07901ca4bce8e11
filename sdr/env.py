"""Reading configuration from the environment: one reader for numbers, flags and Redis.

Two policies, on purpose:
- ``number`` / ``flag`` are strict: a value that is not what it should be raises
  ``ConfigError`` with the variable's name, so a process refuses to start on a typo in what
  it cannot run without (ports, Redis, the review UI);
- ``env_number`` is lenient: an optional feature's tunable that is missing or invalid falls
  back to its default (logged), so a typo degrades the feature instead of the bot.
"""
from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from typing import Optional

__all__ = ["TRUE_WORDS", "ConfigError", "env_number", "flag", "is_true", "number"]

logger = logging.getLogger(__name__)

# What counts as "on" in a flag (pt-BR operators write "sim").
TRUE_WORDS = frozenset({"1", "true", "yes", "on", "sim"})


class ConfigError(ValueError):
    """A process cannot start with this configuration (the message says why)."""


def is_true(value: object) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in TRUE_WORDS


def number(
    environ: Mapping[str, str], name: str, default: float, *,
    minimum: Optional[float] = None, integer: bool = False,
) -> float:
    """A number from ``environ[name]`` (``default`` when unset or empty); ConfigError otherwise."""
    raw = environ.get(name)
    if raw is None or not str(raw).strip():
        return default
    try:
        value = float(int(raw)) if integer else float(raw)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{name} must be {kind}, got {raw!r}") from None
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {raw!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, got {raw!r}")
    return value


def flag(environ: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = environ.get(name)
    return default if raw is None or not raw.strip() else is_true(raw)


def env_number(name: str, default: float, *, minimum: float) -> float:
    """A number from the environment; a missing or invalid one falls back to the default
    (logged), so a typo in the configuration degrades the feature instead of the bot."""
    try:
        return number(os.environ, name, default, minimum=minimum)
    except ConfigError as error:
        logger.warning("%s; using %s", error, default)
        return default
