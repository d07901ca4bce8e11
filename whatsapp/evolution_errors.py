"""The errors `EvolutionClient` raises, and the message read out of Evolution's error bodies.

- ``EvolutionError``: Evolution answered 4xx (or another non-2xx, non-5xx status); never retried.
- ``EvolutionUnavailable``: connection errors, timeouts or 5xx after the retries, or the breaker
  is open. ``maybe_delivered`` tells whether a send may have reached WhatsApp anyway (P12).
"""
from __future__ import annotations

import json
from typing import Any, Mapping, Optional

from observability.privacy import mask_phones_in

__all__ = [
    "EvolutionAPIError",
    "EvolutionError",
    "EvolutionUnavailable",
    "error_message",
]


class EvolutionAPIError(Exception):
    """Base class of the errors raised by ``EvolutionClient``."""


class EvolutionError(EvolutionAPIError):
    """Evolution refused the request (4xx); sending it again will not help.

    ``message`` comes from Evolution's error body (§4.1) with phone numbers masked; ``body`` is
    the decoded body as received (for an unknown number its ``response.message`` is
    ``[{"jid": ..., "exists": false, "number": ...}]``).
    """

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(f"Evolution answered {status}: {message}")
        self.status = status
        self.message = message
        self.body = body


class EvolutionUnavailable(EvolutionAPIError):
    """Evolution could not be reached or kept failing, or the circuit breaker is open.

    ``maybe_delivered`` is True when a non-idempotent send timed out after the request went
    out: the message may have reached WhatsApp, so resending it could duplicate it (P12).
    """

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        maybe_delivered: bool = False,
        retry_after_s: Optional[float] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.maybe_delivered = maybe_delivered
        self.retry_after_s = retry_after_s


def error_message(body: Any, fallback: str) -> str:
    """The message of Evolution's ``{"status", "error", "response": {"message"}}`` body (§4.1)."""
    message: Any = body
    if isinstance(body, Mapping):
        inner = body.get("response")
        message = inner.get("message") if isinstance(inner, Mapping) else None
        if message is None:
            message = body.get("message", body.get("error"))
    if message is None or message == "" or message == []:
        return fallback
    items = message if isinstance(message, list) else [message]
    text = "; ".join(
        item if isinstance(item, str) else json.dumps(item, ensure_ascii=False) for item in items
    )
    # Evolution echoes numbers and JIDs (e.g. the exists:false answer); they end up in logs.
    return mask_phones_in(text)
