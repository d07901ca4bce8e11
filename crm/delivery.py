"""What a target (Kommo, a webhook URL) answers the outbox worker when a delivery fails."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from crm.events import LeadEvent

__all__ = ["DeliveryError", "Deliver"]


class DeliveryError(Exception):
    """The event did not reach the target. ``retryable`` False: trying again cannot help
    (a request the target refuses as invalid), so the queue goes to the dead letter at once.
    str() is short and safe to show operators: no secrets, no full phone numbers."""

    def __init__(self, detail: str, *, retryable: bool = True, retry_after: float = 0.0) -> None:
        super().__init__(detail)
        self.retryable = retryable
        self.retry_after = retry_after


# Delivers one event to one target; raises DeliveryError when it did not arrive.
Deliver = Callable[[LeadEvent], Awaitable[None]]
