"""The meetings' proactive side, run by the follow-up scheduler's loop in every Rasa server.

Each tick, when booking is on (``meetings.settings``):

- reminders that are due (24 h and 2 h before, by default) are taken from Redis with a lease, so
  each fires on one server and survives restarts, and told to the lead through
  ``EXTERNAL_meeting`` (``action_meeting_notice`` chooses the words and sends each once);
- requests the calendar could not take are tried again (``Booker.retry_pending``);
- every ``MEETING_SYNC_SECONDS``, on one server, the booked events are read back from the
  calendars: one deleted or moved there is noticed and the lead told.

A notice is a turn like a follow-up's: the conversation's lock, its tracker, ``trigger_intent``
with the Evolution output channel. An opted-out lead gets nothing.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Optional

from rasa.core.channels.channel import OutputChannel

from meetings.booking import Booker
from meetings.google_calendar import CalendarAuthError, CalendarError, GoogleCalendarClient, ServiceAccount
from meetings.settings import CalendarSettings
from meetings.store import MeetingStore
from observability.privacy import mask_phone
from sdr.clock import Clock
from sdr.dialogue import MEETING_INTENT, MEETING_NOTICE_ENTITY, MEETING_START_ENTITY
from sdr.env import ConfigError

__all__ = ["MeetingScheduler"]

logger = logging.getLogger(__name__)

LEASE_S = 120.0
PER_TICK = 20
WATCHED_PER_SYNC = 500


class MeetingScheduler:
    def __init__(self, redis: Any, prefix: str, clock: Clock, agent: Callable[[], Any],
                 output_channel: Callable[[], Optional[OutputChannel]],
                 run_once: Callable[[str, str, int], Awaitable[bool]]) -> None:
        try:
            settings = CalendarSettings.from_env()
        except ConfigError as error:
            logger.error("meeting.scheduler_off error=%s", error)
            settings = CalendarSettings()
        self.settings = settings
        self.store = MeetingStore(redis, prefix)
        self.clock = clock
        self._agent = agent
        self._output_channel = output_channel
        self._run_once = run_once
        self._booker: Optional[Booker] = None

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    def booker(self) -> Booker:
        """One client for the process: its access token is kept until shortly before it expires."""
        if self._booker is None:
            assert self.settings.credentials_file is not None
            account = ServiceAccount.from_file(self.settings.credentials_file)
            client = GoogleCalendarClient(account, base_url=self.settings.base_url, token_url=self.settings.token_url)
            self._booker = Booker(self.settings, client, self.store)
        return self._booker

    async def tick(self) -> None:
        if not self.enabled:
            return
        now = self.clock.now()
        for reminder in await self.store.claim_due_reminders(now, LEASE_S, PER_TICK):
            try:
                await self.notify(reminder.conversation_id, reminder.which, reminder.start)
            finally:
                await self.store.finish_reminder(reminder)
        due = await self.store.claim_due_pending(now, LEASE_S, PER_TICK)
        occurrence = str(int(now // self.settings.sync_seconds))
        sync = await self._run_once("meeting_sync", occurrence, int(self.settings.sync_seconds * 2) + 1)
        if not due and not sync:
            return
        try:
            booker = self.booker()
            for conversation_id in due:
                await self._retry(booker, conversation_id, now)
            if sync:
                await self._sync(booker, now)
        except CalendarAuthError as error:
            logger.error("meeting.calendar_refused error=%s", error)

    async def _retry(self, booker: Booker, conversation_id: str, now: float) -> None:
        try:
            outcome = await booker.retry_pending(conversation_id, now)
        except CalendarError as error:  # still down: retry_pending queued it again
            logger.warning("meeting.retry_failed conversation=%s error=%s", mask_phone(conversation_id),
                           type(error).__name__)
            return
        if outcome is not None:
            notice, record = outcome
            await self.notify(conversation_id, notice.value, record.start)

    async def _sync(self, booker: Booker, now: float) -> None:
        for conversation_id in await self.store.watched(WATCHED_PER_SYNC):
            record = await self.store.get(conversation_id)
            if record is None:
                await self.store.unwatch(conversation_id)
                continue
            try:
                outcome = await booker.check_in_calendar(record, now)
            except CalendarError as error:
                logger.warning("meeting.sync_failed conversation=%s error=%s", mask_phone(conversation_id),
                               type(error).__name__)
                return  # the calendar is down: the next period tries again
            if outcome is not None:
                notice, changed = outcome
                logger.info("meeting.changed_in_calendar conversation=%s notice=%s", mask_phone(conversation_id),
                            notice.value)
                await self.notify(conversation_id, notice.value, changed.start)

    async def notify(self, conversation_id: str, notice: str, start: float) -> None:
        """One ``EXTERNAL_meeting`` turn; the action decides whether it still applies."""
        agent = self._agent()
        output = self._output_channel()
        if agent is None or output is None:
            return
        async with agent.lock_store.lock(conversation_id):
            tracker = await agent.processor.fetch_tracker_and_update_session(conversation_id, output)
            if tracker.get_slot("opted_out"):
                return
            entities = {MEETING_NOTICE_ENTITY: notice, MEETING_START_ENTITY: start}
            await agent.trigger_intent(MEETING_INTENT, entities, output, tracker)
        logger.info("meeting.notice conversation=%s notice=%s", mask_phone(conversation_id), notice)

