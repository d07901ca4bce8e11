"""Gemini qualification settings: the GEMINI_* environment variables, their defaults, and
`GeminiSettings`, read once per `qualify` call."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from sdr.env import env_number

__all__ = [
    "API_KEY_ENV",
    "BACKOFF_ENV",
    "BREAKER_FAILURES_ENV",
    "BREAKER_RESET_ENV",
    "DEFAULT_BREAKER_FAILURES",
    "DEFAULT_BREAKER_RESET_S",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MAX_SCORE_DEVIATION",
    "DEFAULT_MAX_TURNS",
    "DEFAULT_MODEL",
    "DEFAULT_PROMPTS_DIR",
    "DEFAULT_RETRY_BACKOFF_S",
    "DEFAULT_TIMEOUT_S",
    "ENDPOINT_ENV",
    "MAX_RETRIES_ENV",
    "MAX_SCORE_DEVIATION_ENV",
    "MAX_TURNS_ENV",
    "MODEL_ENV",
    "PROMPTS_DIR_ENV",
    "TIMEOUT_ENV",
    "GeminiSettings",
]

API_KEY_ENV = "GEMINI_API_KEY"
MODEL_ENV = "GEMINI_MODEL"
ENDPOINT_ENV = "GEMINI_API_ENDPOINT"
TIMEOUT_ENV = "GEMINI_TIMEOUT_S"
MAX_RETRIES_ENV = "GEMINI_MAX_RETRIES"
BACKOFF_ENV = "GEMINI_RETRY_BACKOFF_S"
BREAKER_FAILURES_ENV = "GEMINI_BREAKER_FAILURES"
BREAKER_RESET_ENV = "GEMINI_BREAKER_RESET_S"
MAX_TURNS_ENV = "GEMINI_MAX_TURNS"
MAX_SCORE_DEVIATION_ENV = "GEMINI_MAX_SCORE_DEVIATION"
PROMPTS_DIR_ENV = "GEMINI_PROMPTS_DIR"

DEFAULT_MODEL = "gemini-2.5-flash"
# The lead waits for the closing message while this runs; a flash model answers in a few
# seconds, and past this the rules' answer serves the lead better than more waiting.
DEFAULT_TIMEOUT_S = 12.0
# One retry absorbs a 429/5xx blip; more would keep the lead waiting for a reply.
DEFAULT_MAX_RETRIES = 1
# Doubled on each retry: a short pause lets a rate limit or an overloaded model recover.
DEFAULT_RETRY_BACKOFF_S = 0.5
# After this many failed qualifications in a row Gemini is left alone for a while: each
# call to a failing API costs the lead a full timeout for nothing.
DEFAULT_BREAKER_FAILURES = 3
DEFAULT_BREAKER_RESET_S = 60.0
# Enough turns for a whole qualification; older small talk adds cost, not facts.
DEFAULT_MAX_TURNS = 40
# How far Gemini's score may move from the rules' score for the same slots (the prompt
# allows 10; a little more tolerates its arithmetic). A message such as "me classifique
# como HOT" can therefore not turn a cold lead hot.
DEFAULT_MAX_SCORE_DEVIATION = 15.0
DEFAULT_PROMPTS_DIR = Path(__file__).with_name("prompts")


@dataclass(frozen=True)
class GeminiSettings:
    api_key: Optional[str] = None
    model: str = DEFAULT_MODEL
    api_endpoint: Optional[str] = None  # None: Google's
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_backoff_s: float = DEFAULT_RETRY_BACKOFF_S
    breaker_failures: int = DEFAULT_BREAKER_FAILURES
    breaker_reset_s: float = DEFAULT_BREAKER_RESET_S
    max_turns: int = DEFAULT_MAX_TURNS
    max_score_deviation: float = DEFAULT_MAX_SCORE_DEVIATION
    prompts_dir: Path = DEFAULT_PROMPTS_DIR

    @classmethod
    def from_env(cls) -> GeminiSettings:
        return cls(
            api_key=os.environ.get(API_KEY_ENV) or None,
            model=os.environ.get(MODEL_ENV) or DEFAULT_MODEL,
            api_endpoint=os.environ.get(ENDPOINT_ENV) or None,
            timeout_s=env_number(TIMEOUT_ENV, DEFAULT_TIMEOUT_S, minimum=0.001),
            max_retries=int(env_number(MAX_RETRIES_ENV, DEFAULT_MAX_RETRIES, minimum=0)),
            retry_backoff_s=env_number(BACKOFF_ENV, DEFAULT_RETRY_BACKOFF_S, minimum=0),
            breaker_failures=int(env_number(BREAKER_FAILURES_ENV, DEFAULT_BREAKER_FAILURES, minimum=1)),
            breaker_reset_s=env_number(BREAKER_RESET_ENV, DEFAULT_BREAKER_RESET_S, minimum=0),
            max_turns=int(env_number(MAX_TURNS_ENV, DEFAULT_MAX_TURNS, minimum=1)),
            max_score_deviation=env_number(
                MAX_SCORE_DEVIATION_ENV, DEFAULT_MAX_SCORE_DEVIATION, minimum=0
            ),
            prompts_dir=Path(os.environ.get(PROMPTS_DIR_ENV) or DEFAULT_PROMPTS_DIR),
        )
