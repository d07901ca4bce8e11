"""Reading tunables from the environment without letting a typo take the bot down."""
from __future__ import annotations

import logging
import math
import os

logger = logging.getLogger(__name__)


def env_number(name: str, default: float, *, minimum: float) -> float:
    """A number from the environment; a missing or invalid one falls back to the default
    (logged), so a typo in the configuration degrades the feature instead of the bot."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        logger.warning("%s=%r is not a number; using %s", name, raw, default)
        return default
    if not math.isfinite(value) or value < minimum:
        logger.warning("%s=%r is out of range; using %s", name, raw, default)
        return default
    return value
