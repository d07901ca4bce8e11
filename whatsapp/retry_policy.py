"""When a failed call to Evolution may be retried, and how long to wait before it.

A call is retried only when that cannot send a message twice: failures where the request
provably never left are always retryable, failures after it went out only for idempotent
calls; a non-idempotent send that may have gone out is reported as ``maybe_delivered`` (P12).
Waits grow exponentially, with jitter.
"""
from __future__ import annotations

import random
from typing import Type

import httpx

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_BACKOFF_BASE_S",
    "DEFAULT_BACKOFF_MAX_S",
    "JITTER_FRACTION",
    "HTTP_SERVER_ERROR",
    "HTTP_GATEWAY_TIMEOUT",
    "NOT_SENT_ERRORS",
    "MAYBE_SENT_ERRORS",
    "retryable_transport_error",
    "maybe_delivered_after_transport_error",
    "maybe_delivered_after_status",
    "backoff_delay_s",
]

DEFAULT_MAX_RETRIES = 3
DEFAULT_BACKOFF_BASE_S = 0.5
DEFAULT_BACKOFF_MAX_S = 8.0
# Each backoff sleeps between (1 - JITTER_FRACTION) and 1 times the exponential delay, so
# clients that failed together do not retry together.
JITTER_FRACTION = 0.5

HTTP_SERVER_ERROR = 500
# A proxy's 504 means Evolution did not answer in time: like a read timeout, the send may
# still have gone out.
HTTP_GATEWAY_TIMEOUT = 504

# Failures where the request provably never reached Evolution: safe to retry any call.
NOT_SENT_ERRORS: tuple[Type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
# Failures after (part of) the request went out: only idempotent calls may be retried.
MAYBE_SENT_ERRORS: tuple[Type[httpx.TransportError], ...] = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.CloseError,
)


def retryable_transport_error(error: httpx.TransportError, *, idempotent: bool) -> bool:
    return isinstance(error, NOT_SENT_ERRORS) or (idempotent and isinstance(error, MAYBE_SENT_ERRORS))


def maybe_delivered_after_transport_error(error: httpx.TransportError, *, idempotent: bool) -> bool:
    return not idempotent and isinstance(error, MAYBE_SENT_ERRORS)


def maybe_delivered_after_status(status: int, *, idempotent: bool) -> bool:
    return not idempotent and status == HTTP_GATEWAY_TIMEOUT


def backoff_delay_s(attempt: int, *, base_s: float, max_s: float, rng: random.Random) -> float:
    """The wait before retry number ``attempt + 1`` (``attempt`` counts from 0)."""
    # Annotated: mypy types int ** int as Any (a negative exponent would give a float).
    exponential: float = min(max_s, base_s * (2**attempt))
    return exponential * rng.uniform(1.0 - JITTER_FRACTION, 1.0)
