"""Carries the lead-events outbox to its targets: in order per lead, retried with backoff, dead-lettered.

Every server running it takes due queues with a lease (`LeadOutbox.claim_due`), so replicas
share the work and a queue is delivered by one server at a time. For one claimed queue it
delivers events head first; a failure counts an attempt and puts the queue back at the next
delay of ``LEAD_SYNC_RETRY_DELAYS`` (or the target's Retry-After, if longer); when the delays
are used up, or the target refuses the request as invalid, the queue goes to the dead letter,
where operators see it and can put it back in line.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Optional

from redis.exceptions import RedisError

from crm.delivery import Deliver, DeliveryError
from crm.events import LeadEvent
from crm.outbox import Delivery, LeadOutbox, QueueRef
from crm.settings import KOMMO_TARGET, LeadSyncSettings
from observability import metrics
from observability.privacy import mask_phone, mask_phones_in

__all__ = ["LeadSyncWorker"]

logger = logging.getLogger(__name__)

CLAIM_BATCH = 20
# Events delivered from one queue before it goes back in line (fairness between leads).
EVENTS_PER_CLAIM = 20
REDIS_RETRY_SECONDS = 5.0


class LeadSyncWorker:
    def __init__(
        self, outbox: LeadOutbox, settings: LeadSyncSettings, deliverers: Mapping[str, Deliver],
        *, clock: Callable[[], float] = time.time,
    ) -> None:
        self.outbox = outbox
        self.settings = settings
        self.deliverers = deliverers
        self.clock = clock

    async def run(self) -> None:
        """Forever (a task of the server); Redis trouble pauses it, never ends it."""
        logger.info("leadsync.worker_started targets=%s", ",".join(sorted(self.deliverers)) or "none")
        while True:
            try:
                worked = await self.run_once()
            except RedisError as error:
                logger.warning("leadsync.redis_unavailable error=%s", type(error).__name__)
                await asyncio.sleep(REDIS_RETRY_SECONDS)
                continue
            if not worked:
                await asyncio.sleep(self.settings.poll_seconds)

    async def run_once(self) -> int:
        """Delivers what is due now; returns how many queues it took."""
        refs = await self.outbox.claim_due(self.clock(), self.settings.lease_seconds, CLAIM_BATCH)
        for ref in refs:
            await self._deliver_queue(ref)
        return len(refs)

    async def _deliver_queue(self, ref: QueueRef) -> None:
        deliver = self.deliverers.get(ref.target)
        if deliver is None:
            # Published while this target was configured, and it no longer is (or this server
            # has an older configuration): leave the queue for one that knows the target.
            logger.warning("leadsync.unknown_target target=%s", ref.target)
            await self.outbox.settle(ref, at=self.clock() + self.settings.lease_seconds)
            return
        for _ in range(EVENTS_PER_CLAIM):
            raw = await self.outbox.head(ref)
            if raw is None:
                break
            retry_at = await self._deliver_head(ref, raw, deliver)
            if retry_at is not None:
                dead = retry_at < 0
                await self.outbox.settle(ref, at=self.clock() if dead else retry_at, dead=dead)
                return
        await self.outbox.settle(ref, at=self.clock())

    async def _deliver_head(self, ref: QueueRef, raw: str, deliver: Deliver) -> Optional[float]:
        """None when the head is done with (delivered or unreadable); else when to try again
        (negative: never, the queue is dead)."""
        try:
            event = LeadEvent.from_json(raw)
        except (ValueError, KeyError, TypeError):
            await self.outbox.pop_head(ref, raw)
            await self._record(ref, "?", "?", "dropped", 0, "unreadable event")
            logger.error("leadsync.event_dropped target=%s reason=unreadable", ref.target)
            return None
        if not await self.outbox.was_delivered(ref, event.id):
            try:
                await deliver(event)
            except DeliveryError as error:
                return await self._failed(ref, event, error)
            except Exception as error:  # noqa: BLE001 - a bug in one target must not stop the worker
                logger.exception("leadsync.deliverer_crashed target=%s event=%s", ref.target, event.id)
                return await self._failed(ref, event, DeliveryError(f"internal error ({type(error).__name__})"))
            await self.outbox.mark_delivered(ref, event.id)
            await self._record(ref, event.id, event.type, "delivered", 0, "")
            logger.info("leadsync.delivered target=%s event=%s type=%s conversation=%s",
                        ref.target, event.id, event.type, mask_phone(ref.conversation_id))
        await self.outbox.pop_head(ref, raw)
        return None

    async def _failed(self, ref: QueueRef, event: LeadEvent, error: DeliveryError) -> float:
        now = self.clock()
        detail = mask_phones_in(str(error))
        attempts = await self.outbox.count_failure(ref, detail, now)
        delay = self.settings.retry_delay(attempts) if error.retryable else None
        outcome = "retry" if delay is not None else "dead"
        await self._record(ref, event.id, event.type, outcome, attempts, detail)
        log = logger.warning if outcome == "retry" else logger.error
        log("leadsync.delivery_failed target=%s event=%s type=%s conversation=%s attempts=%d outcome=%s error=%s",
            ref.target, event.id, event.type, mask_phone(ref.conversation_id), attempts, outcome, detail)
        if delay is None:
            return -1.0
        return now + max(delay, error.retry_after)

    async def _record(self, ref: QueueRef, event_id: str, event_type: str, outcome: str,
                      attempts: int, detail: str) -> None:
        metrics.LEAD_DELIVERIES.labels(target="kommo" if ref.target == KOMMO_TARGET else "webhook",
                                       outcome=outcome).inc()
        await self.outbox.record(Delivery(
            at=self.clock(), event_id=event_id, event_type=event_type, target=ref.target,
            conversation=mask_phone(ref.conversation_id), outcome=outcome, attempts=attempts, detail=detail,
        ))
