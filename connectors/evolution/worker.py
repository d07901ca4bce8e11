"""Where turns run: never in the webhook. The worker picks each conversation up once its burst
window has passed, joins the burst into one user message, runs the turn through Rasa and lets
the output channel reply. Messages stay in Redis until their turn ran, so a crash loses nothing
that was acknowledged; a conversation is leased while its turn runs, so two servers never run
the same one, and a failing turn is retried a bounded number of times across all servers
before its messages go to the dead letter.
"""
from __future__ import annotations

import asyncio
import logging
import math
import os
import time
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional

import httpx
from rasa.core.channels.channel import UserMessage
from redis.exceptions import RedisError

from connectors.evolution.health import action_server_base
from connectors.evolution.output import CHANNEL_NAME, EvolutionOutput
from connectors.followups import ProactiveScheduler
from observability import metrics
from observability.logs import REQUEST_ID_HEADER, bind, get_request_id
from observability.privacy import mask_phone
from sdr.dialogue import SHARE_BILL_INTENT, UNSUPPORTED_MEDIA_INTENT, VOICE_NOTE_UNREADABLE_INTENT
from whatsapp.client import EvolutionClient, EvolutionError, EvolutionUnavailable
from whatsapp.outbound import build_quoted, match_button_reply
from whatsapp.settings import EvolutionSettings
from whatsapp.store import ChannelStore
from whatsapp.turn_metadata import build as turn_metadata

__all__ = ["BILL_KINDS", "TurnWorker", "read_receipt_jid", "user_text_for"]

logger = logging.getLogger(__name__)

# Photos and PDFs are read as electricity bills by the action server.
BILL_KINDS = ("image", "document")
# How long the worker sleeps when nothing is due; a new message wakes it at once.
IDLE_POLL_SECONDS = 0.5
REDIS_RETRY_SECONDS = 1.0
# A conversation being processed is leased for this long and the lease renewed
# while its turn runs, so a crashed server's conversations are picked up soon.
LEASE_SECONDS = 30
LEASE_RENEW_SECONDS = 10
TURN_RETRY_BACKOFF_SECONDS = 5.0
MS_PER_SECOND = 1000


def user_text_for(records: List[Dict[str, Any]], buttons: List[Dict[str, Any]]) -> str:
    """One user message for a burst. A reply to offered buttons becomes its payload;
    what is not text becomes one of the channel's intents (sdr/dialogue.py)."""
    if len(records) == 1 and records[0].get("payload"):
        return records[0]["payload"]
    if any(r.get("kind") in BILL_KINDS for r in records):
        return f"/{SHARE_BILL_INTENT}"
    text = "\n".join(r["text"] for r in records if r.get("text"))
    if text:
        return (match_button_reply(text, buttons) or text) if buttons else text
    if any(r.get("transcript_unavailable") for r in records):
        return f"/{VOICE_NOTE_UNREADABLE_INTENT}"
    return f"/{UNSUPPORTED_MEDIA_INTENT}"


def read_receipt_jid(record: Dict[str, Any]) -> str:
    """Evolution drops read receipts for @lid keys: use the phone JID when known."""
    jid = record["reply_jid"]
    sender_id = record["sender_id"]
    if jid.endswith("@lid") and not jid.startswith(f"{sender_id}@"):
        return f"{sender_id}@s.whatsapp.net"
    return jid


class TurnWorker:
    """Runs the turns of one Rasa server's Evolution channel (one per worker process)."""

    def __init__(
        self,
        settings: EvolutionSettings,
        store: ChannelStore,
        client: EvolutionClient,
        scheduler: ProactiveScheduler,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        agent: Callable[[], Any],
    ) -> None:
        self.settings = settings
        self.store = store
        self.client = client
        self.scheduler = scheduler
        self._on_new_message = on_new_message
        self._agent = agent
        self.node_id = f"{os.uname().nodename}:{os.getpid()}"
        self._wakeup = asyncio.Event()
        self._wakes_at = math.inf
        self._in_flight: set[str] = set()

    def message_due(self, due_at: float) -> None:
        """A message was accepted; the worker is woken only when it is due before the worker
        looks again anyway: under load that saves two Redis reads per webhook."""
        if due_at < self._wakes_at:
            self._wakeup.set()

    async def run(self) -> None:
        while True:
            self._wakeup.clear()
            self._wakes_at = math.inf  # while it looks, any new message makes it look again
            wait = IDLE_POLL_SECONDS
            try:
                now = time.time()
                free = self.settings.max_concurrent_turns - len(self._in_flight)
                if free > 0:
                    due = await self.store.due_senders(now, limit=free + len(self._in_flight))
                    for sender_id in [s for s in due if s not in self._in_flight][:free]:
                        self._in_flight.add(sender_id)
                        asyncio.create_task(self._process(sender_id))
                next_due = await self.store.next_due_at()
                at_capacity = len(self._in_flight) >= self.settings.max_concurrent_turns
                if next_due is not None and not at_capacity:
                    wait = min(IDLE_POLL_SECONDS, max(0.01, next_due - time.time()))
            except RedisError as error:
                logger.error("evolution.worker_redis_error error=%s", type(error).__name__)
                wait = REDIS_RETRY_SECONDS
            except asyncio.CancelledError:
                raise
            except Exception:  # the worker must outlive any single failure
                logger.exception("evolution.worker_error")
            self._wakes_at = time.time() + wait
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout=wait)
            except asyncio.TimeoutError:
                pass

    async def _process(self, sender_id: str) -> None:
        owner = f"{self.node_id}:{uuid.uuid4().hex}"
        renewer: Optional[asyncio.Task[None]] = None
        try:
            if not await self.store.lock(sender_id, owner, LEASE_SECONDS):
                return  # another server is on it
            await self.store.postpone(sender_id, time.time() + LEASE_SECONDS)
            renewer = asyncio.create_task(self._renew_lease(sender_id))
            records = await self.store.inbox(sender_id)
            if records:
                # This task's log lines carry the id of the message that completed the burst.
                bind(records[-1].get("request_id"), sender_id)
                await self._adopt_lid_history(sender_id)
                await self.scheduler.lead_wrote(sender_id)
                if await self.store.human_is_talking(sender_id):
                    await self._log_without_reply(sender_id, records)
                else:
                    await self._run_turn(sender_id, records)
                    await self._plan_follow_up(sender_id)
            remaining = await self.store.complete(sender_id, len(records))
            await self.store.clear_turn_failures(sender_id)
            if remaining:
                self._wakeup.set()
        except asyncio.CancelledError:
            raise
        except Exception:
            await self._after_failure(sender_id)
        finally:
            if renewer is not None:
                renewer.cancel()
            try:
                await self.store.unlock(sender_id, owner)
            except RedisError:
                pass
            self._in_flight.discard(sender_id)
            self._wakeup.set()  # a slot is free for the next conversation

    def tracker_key(self, conversation_id: str) -> str:
        # Rasa's RedisTrackerStore: "<key_prefix>:tracker:<sender_id>" (endpoints.yml's key_prefix).
        return f"{self.settings.redis_key_prefix}:tracker:{conversation_id}"

    async def _adopt_lid_history(self, phone: str) -> None:
        """A lead first seen by LID whose phone became known continues under the phone with
        its history: the LID's tracker is renamed to the phone's before the turn (only when the
        phone has none yet), and what was planned for the LID is dropped."""
        lid = await self.store.lid_for_phone(phone)
        if lid is None or lid == phone:
            return
        moved = await self.store.move_key(self.tracker_key(lid), self.tracker_key(phone))
        if moved == 1:
            await self.scheduler.lead_wrote(lid)  # its follow-ups would go to an empty conversation
            logger.info("evolution.conversation_moved from=%s to=%s", mask_phone(lid), mask_phone(phone))
        elif moved == -1:
            logger.warning("evolution.conversation_not_moved: both ids have a conversation (from=%s to=%s)",
                           mask_phone(lid), mask_phone(phone))

    async def _plan_follow_up(self, sender_id: str) -> None:
        # The lead has had the answer: a failure here must not rerun the turn.
        try:
            await self.scheduler.after_lead_turn(sender_id)
        except Exception:
            logger.exception("followup.not_planned conversation=%s", mask_phone(sender_id))

    async def _renew_lease(self, sender_id: str) -> None:
        while True:
            await asyncio.sleep(LEASE_RENEW_SECONDS)
            try:
                await self.store.extend_lock(sender_id, LEASE_SECONDS)
                await self.store.postpone(sender_id, time.time() + LEASE_SECONDS)
            except RedisError:
                logger.warning("evolution.lease_not_renewed sender=%s", mask_phone(sender_id))

    async def _after_failure(self, sender_id: str) -> None:
        logger.exception("evolution.turn_failed sender=%s", mask_phone(sender_id))
        try:
            # Counted in Redis, not in this process: with several workers or servers a broken
            # turn would otherwise run up to turn_max_attempts times in each of them.
            attempts = await self.store.count_turn_failure(sender_id)
            abandon = attempts >= self.settings.turn_max_attempts
            metrics.TURN_FAILURES.labels(outcome="abandoned" if abandon else "retried").inc()
            if abandon:
                records = await self.store.inbox(sender_id)
                await self.store.dead_letter(sender_id, records)
                await self.store.complete(sender_id, len(records))
                await self.store.clear_turn_failures(sender_id)
                logger.error("evolution.turn_abandoned sender=%s attempts=%d messages=%d",
                             mask_phone(sender_id), attempts, len(records))
            else:
                logger.warning("evolution.turn_retry sender=%s attempt=%d", mask_phone(sender_id), attempts)
                await self.store.postpone(sender_id, time.time() + TURN_RETRY_BACKOFF_SECONDS * attempts)
        except RedisError:
            logger.error("evolution.turn_failure_not_recorded sender=%s", mask_phone(sender_id))

    async def _run_turn(self, sender_id: str, records: List[Dict[str, Any]]) -> None:
        started = time.perf_counter()
        if len(records) > 1:
            metrics.DEBOUNCED_BURSTS.inc()
            metrics.DEBOUNCED_MESSAGES.inc(len(records))
        await self._converse(sender_id, records)
        elapsed = time.perf_counter() - started
        metrics.TURN_SECONDS.observe(elapsed)
        logger.info(
            "evolution.turn_done sender=%s", mask_phone(sender_id),
            extra={"duration_ms": round(elapsed * MS_PER_SECOND), "messages": len(records)},
        )

    async def _converse(self, sender_id: str, records: List[Dict[str, Any]]) -> None:
        for record in records:
            if record.get("kind") == "audio" and not record.get("text"):
                await self._transcribe(record)
        buttons = await self.store.offered_buttons(sender_id)
        text = user_text_for(records, buttons)
        if buttons and text != "\n".join(r["text"] for r in records if r.get("text")):
            await self.store.forget_buttons(sender_id)
        last = records[-1]
        quoted = build_quoted(last["message_id"], remote_jid=last["reply_jid"], text=last.get("text"))
        # The reply goes out through the instance that received the message.
        client = self.client.for_instance(last.get("instance"))
        output = EvolutionOutput(client, self.store, self.settings, reply_jid=last["reply_jid"], quoted=quoted)
        logger.info("evolution.turn sender=%s messages=%d", mask_phone(sender_id), len(records))
        if self.settings.mark_read:
            asyncio.create_task(self._mark_read(records))
        await self._on_new_message(
            UserMessage(
                text=text,
                output_channel=output,
                sender_id=sender_id,
                input_channel=CHANNEL_NAME,
                message_id=last["message_id"],
                metadata=turn_metadata(records),
            )
        )

    async def _transcribe(self, record: Dict[str, Any]) -> None:
        """A voice note becomes text before the turn, so it is understood exactly as
        if typed; the action server does the slow work (download, transcription)."""
        url = action_server_base(self.settings.action_server_url) + "/media/transcribe"
        body = {"message": {k: record.get(k) for k in ("message_id", "kind", "media")},
                "reply_jid": record["reply_jid"]}
        try:
            async with httpx.AsyncClient(timeout=self.settings.transcription_timeout_seconds) as client:
                request_id = record.get("request_id") or get_request_id()
                headers = {REQUEST_ID_HEADER: request_id} if request_id else {}
                answer = (await client.post(url, json=body, headers=headers)).json()
        except (httpx.HTTPError, ValueError) as error:
            answer = {"text": None, "reason": "server_error"}
            logger.warning("evolution.transcription_failed error=%s", type(error).__name__)
        if answer.get("text"):
            record["text"] = answer["text"]
        else:
            record["transcript_unavailable"] = answer.get("reason") or "server_error"

    async def _mark_read(self, records: List[Dict[str, Any]]) -> None:
        for record in records:
            try:
                client = self.client.for_instance(record.get("instance"))
                await client.mark_as_read(read_receipt_jid(record), record["message_id"])
            except (EvolutionError, EvolutionUnavailable) as error:
                logger.debug("evolution.mark_read_failed error=%s", type(error).__name__)

    async def _log_without_reply(self, sender_id: str, records: List[Dict[str, Any]]) -> None:
        """While a person talks to the lead, the lead's messages are kept in the
        conversation without the assistant predicting or saying anything."""
        agent = self._agent()
        for record in records:
            await agent.log_message(
                UserMessage(
                    text=record.get("text") or "",
                    sender_id=sender_id,
                    input_channel=CHANNEL_NAME,
                    message_id=record["message_id"],
                    metadata=turn_metadata([record]),
                )
            )
        logger.info("evolution.logged_during_takeover sender=%s messages=%d", mask_phone(sender_id), len(records))
