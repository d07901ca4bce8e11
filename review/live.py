"""Live updates: what changed in the conversations, pushed to every open page.

The conversation index (review/index.py) calls `conversation_changed` for each summary it
re-parses. The hub turns that into events for the server-sent-event streams
(review/pages/live.py): "conversation" (something new in it: the inbox refreshes its rows,
an open conversation its transcript) and "handoff" (its lead_status became
atendimento_humano because the lead or the assistant asked for a person: every page
raises an alert). A handoff also sends one WhatsApp message to HANDOFF_NOTIFY_TO, once per
handoff even with several UIs running (a Redis SET NX on the status change's time).

A take-over made from the UI also sets atendimento_humano; that operator already knows,
so it raises no alert (`expect_takeover`).

One process serves the UI (`workers=1`), so an in-memory fan-out is enough.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Dict, Optional, Set, Tuple

from observability.privacy import mask_phone
from review.tracker_parse import ConversationSummary
from sdr.vocabulary import LeadStatus
from whatsapp.client import EvolutionClient

__all__ = ["LiveHub", "Event"]

logger = logging.getLogger(__name__)

Event = Tuple[str, Dict[str, Any]]
STATUS_HUMAN = LeadStatus.HUMAN.value
QUEUE_SIZE = 200
EXPECTED_TAKEOVER_S = 60.0
NOTIFIED_TTL_S = 7 * 86400


def became_human(old: Optional[ConversationSummary], new: ConversationSummary) -> bool:
    return new.lead_status == STATUS_HUMAN and (old is None or old.lead_status != STATUS_HUMAN)


def handoff_time(summary: ConversationSummary) -> float:
    """When lead_status last became atendimento_humano (names the handoff for dedupe)."""
    times = [t for t, value in summary.status_history if value == STATUS_HUMAN]
    return max(times) if times else summary.last_activity


class LiveHub:
    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.subscribers: Set[asyncio.Queue[Event]] = set()
        # Until the first index pass is done, every conversation looks new: no alerts for those.
        self.started = False
        self.expected: Dict[str, float] = {}
        self.tasks: Set[asyncio.Task[None]] = set()

    def subscribe(self) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        self.subscribers.discard(queue)

    def publish(self, kind: str, data: Dict[str, Any]) -> None:
        for queue in list(self.subscribers):
            try:
                queue.put_nowait((kind, data))
            except asyncio.QueueFull:
                pass  # a stalled page: it reloads what it shows on the next event anyway

    def expect_takeover(self, sender_id: str) -> None:
        self.expected[sender_id] = time.monotonic() + EXPECTED_TAKEOVER_S

    def conversation_changed(self, old: Optional[ConversationSummary], new: ConversationSummary) -> None:
        if not self.started:
            return
        ref = self.ctx.refs.ref(new.sender_id)
        self.publish("conversation", {"ref": ref})
        if not became_human(old, new):
            return
        if self.expected.pop(new.sender_id, 0.0) > time.monotonic():
            return
        self.publish("handoff", {"ref": ref, "name": new.name or "", "phone": mask_phone(new.sender_id),
                                 "url": f"/conversations/{ref}"})
        logger.info("review.handoff sender=%s", mask_phone(new.sender_id))
        if self.ctx.settings.handoff_notify_to:
            task = asyncio.get_event_loop().create_task(self.notify(new, ref))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def notify(self, summary: ConversationSummary, ref: str) -> None:
        """One WhatsApp message to the on-duty number, through Evolution's sendText."""
        settings = self.ctx.settings
        if not settings.evolution_api_key:
            logger.warning("review.handoff_notify_skipped reason=no_evolution_api_key")
            return
        key = f"{settings.key_prefix}:review:handoff_notified:{ref}:{handoff_time(summary):.3f}"
        if not await self.ctx.redis.set(key, "1", nx=True, ex=NOTIFIED_TTL_S):
            return  # another UI (or an earlier pass) told them already
        who = summary.name or "um lead"
        text = (f"🔔 Atendimento humano: {who} ({mask_phone(summary.sender_id)}) pediu para falar com uma pessoa. "
                f"Abra a conversa no painel de revisão: /conversations/{ref}")
        try:
            async with EvolutionClient(settings.evolution_url, settings.evolution_api_key,
                                       settings.evolution_instance, max_retries=1) as client:
                await client.send_text(settings.handoff_notify_to, text)
        except Exception as error:  # EvolutionError, EvolutionUnavailable, transport errors
            await self.ctx.redis.delete(key)  # another UI running may still tell them
            logger.warning("review.handoff_notify_failed error=%s", type(error).__name__)

    def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        self.publish("bye", {})
