"""One consecutive-failure circuit breaker for every outside service (Evolution, Gemini, …).

closed → (``failure_threshold`` failures in a row) → open → (``reset_after_s``) → half-open,
where exactly one trial call is let through: its success closes the breaker, its failure opens
it again. Any success resets the count. Thread-safe: Gemini calls run in worker threads while
the Evolution client runs on the event loop.
"""
from __future__ import annotations

import enum
import logging
import threading
import time
from typing import Callable, Optional

__all__ = ["BreakerState", "CircuitBreaker"]

logger = logging.getLogger(__name__)


class BreakerState(str, enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Consecutive-failure breaker for one upstream; ``name`` only labels its log lines."""

    def __init__(
        self,
        failure_threshold: int,
        reset_after_s: float,
        *,
        name: str = "upstream",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be at least 1, got {failure_threshold}")
        if reset_after_s < 0:
            raise ValueError(f"reset_after_s must not be negative, got {reset_after_s}")
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self.name = name
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: Optional[float] = None
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state()

    def _state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._trial_in_flight or self._clock() - self._opened_at >= self.reset_after_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    @property
    def retry_after_s(self) -> float:
        """Seconds until a trial call will be let through (0 when calls pass now)."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self._opened_at + self.reset_after_s - self._clock())

    def allow(self) -> bool:
        """Whether an attempt may go out now; in half-open state only the first caller may."""
        with self._lock:
            state = self._state()
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            if self._opened_at is not None:
                logger.info("%s circuit breaker closed", self.name)
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            if self._trial_in_flight or self._opened_at is not None:
                # A failed trial, or a straggler that started before the breaker opened.
                self._trial_in_flight = False
                self._opened_at = self._clock()
                return
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._opened_at = self._clock()
                logger.warning(
                    "%s circuit breaker opened after %d consecutive failures; next trial in %.1fs",
                    self.name, self._failures, self.reset_after_s,
                )

    def release(self) -> None:
        """Forget an attempt that ended without an outcome (e.g. cancelled)."""
        with self._lock:
            self._trial_in_flight = False
