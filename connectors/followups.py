"""The assistant's proactive side, run by every Rasa server with the Evolution channel.

- Follow-ups: after each turn of a lead still being qualified, the first
  follow-up is planned `FOLLOWUP_DELAYS[0]` after the lead's message; each fired
  one plans the next (`FOLLOWUP_DELAYS[k]` after the lead's last message, and
  never closer to the previous one than the configured gap). A message from the
  lead replaces the plan. Firing = Rasa's `trigger_intent` of `EXTERNAL_followup`
  in this process, under the conversation's lock, with the Evolution output
  channel; the follow-up action chooses the words and has the last say.
- Only inside `BUSINESS_HOURS` (`TZ_NAME`): one due outside waits for the opening.
- The weekly report to `WEEKLY_REPORT_TO` at `WEEKLY_REPORT_AT`, once per week
  across all servers.
- Media kept from webhooks is removed after `MEDIA_RETENTION_HOURS`.
- Meetings: reminders, retried bookings and changes in the calendars (`connectors.meetings`).

The schedule is in Redis (`connectors.followup_store`), so it survives restarts
and is shared by replicas: each follow-up is taken by exactly one server.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

from rasa.core.channels.channel import OutputChannel
from redis.exceptions import RedisError

from connectors.followup_store import FollowUpStore, PlannedFollowUp
from connectors.meetings import MeetingScheduler
from connectors.weekly_report import collect_weekly_figures, format_report
from observability.metrics import FOLLOWUPS, WEEKLY_REPORTS_SENT
from observability.privacy import mask_phone
from sdr.clock import Clock
from sdr.dialogue import FOLLOWUP_INTENT
from sdr.followup_policy import (
    FINAL_ENTITY,
    STAGE_ENTITY,
    blocked_reason,
    stage_sent_since_lead_wrote,
)
from sdr.schedule_rules import BusinessHours, ScheduleConfigError, WeeklySlot, parse_delays
from whatsapp.settings import EvolutionSettings
from whatsapp.store import ChannelStore

logger = logging.getLogger(__name__)

# A weekly report missed while every server was down is still sent within this time.
REPORT_CATCH_UP_SECONDS = 24 * 3600
MEDIA_SWEEP_EVERY_SECONDS = 3600
REDIS_RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class ProactiveSettings:
    delays: Tuple[float, ...]
    hours: BusinessHours
    weekly_slot: WeeklySlot
    report_to: Optional[str]
    media_retention_seconds: float
    poll_seconds: float
    lease_seconds: float

    @classmethod
    def from_channel(cls, settings: EvolutionSettings) -> ProactiveSettings:
        """Parsed once at start-up: a schedule that cannot be understood stops the server."""
        delays = parse_delays(settings.followup_delays)
        if list(delays) != sorted(set(delays)):
            raise ScheduleConfigError(
                f"FOLLOWUP_DELAYS={settings.followup_delays!r}: each delay counts from the lead's "
                "last message, so they must grow (e.g. 30m,24h,72h)"
            )
        return cls(
            delays=delays,
            hours=BusinessHours.parse(settings.business_hours, settings.tz_name),
            weekly_slot=WeeklySlot.parse(settings.weekly_report_at, settings.tz_name),
            report_to=settings.weekly_report_to,
            media_retention_seconds=settings.media_retention_hours * 3600,
            poll_seconds=settings.proactive_poll_seconds,
            lease_seconds=settings.followup_lease_seconds,
        )


class ProactiveScheduler:
    def __init__(
        self,
        settings: ProactiveSettings,
        followups: FollowUpStore,
        channel_store: ChannelStore,
        clock: Clock,
        agent: Callable[[], Any],
        output_channel: Callable[[], OutputChannel],
        max_per_tick: int = 20,
        meetings: Optional[MeetingScheduler] = None,
    ) -> None:
        self.settings = settings
        self.followups = followups
        self.channel_store = channel_store
        self.clock = clock
        self._agent = agent
        self._output_channel = output_channel
        self.max_per_tick = max_per_tick
        self._last_media_sweep = 0.0
        self.meetings = meetings

    # --- the lead spoke -------------------------------------------------------------

    async def lead_wrote(self, conversation_id: str) -> None:
        """Whatever was planned is void: the lead is talking."""
        if await self.followups.cancel(conversation_id):
            FOLLOWUPS.labels(outcome="cancelled").inc()
            logger.info("followup.cancelled conversation=%s reason=lead_wrote", mask_phone(conversation_id))

    async def after_lead_turn(self, conversation_id: str) -> None:
        """Plan the first follow-up if the lead is still being qualified."""
        if not self.settings.delays:
            return
        tracker = await self._agent().tracker_store.retrieve(conversation_id)
        if tracker is None:
            return
        reason = blocked_reason(tracker.current_slot_values(), paused=tracker.is_paused())
        if reason:
            logger.debug("followup.not_planned conversation=%s reason=%s", mask_phone(conversation_id), reason)
            return
        now = self.clock.now()
        await self.followups.plan(conversation_id, 1, now + self.settings.delays[0], quiet_since=now)
        FOLLOWUPS.labels(outcome="scheduled").inc()
        logger.info("followup.planned conversation=%s stage=1", mask_phone(conversation_id))

    # --- the loop ---------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            wait = self.settings.poll_seconds
            try:
                await self.tick()
            except RedisError as error:
                logger.error("proactive.redis_error error=%s", type(error).__name__)
                wait = REDIS_RETRY_SECONDS
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must outlive any single failure
                logger.exception("proactive.error")
            await asyncio.sleep(wait)

    async def tick(self) -> None:
        now = self.clock.now()
        for planned in await self.followups.claim_due(now, self.settings.lease_seconds, self.max_per_tick):
            try:
                await self.fire(planned)
            except (asyncio.CancelledError, RedisError):
                raise
            except Exception:
                # The claim's lease runs out and the follow-up is tried again; the
                # action refuses a stage it already sent.
                logger.exception("followup.failed conversation=%s stage=%d",
                                 mask_phone(planned.conversation_id), planned.stage)
        await self.send_weekly_report_if_due(now)
        if self.meetings is not None:
            try:
                await self.meetings.tick()
            except (asyncio.CancelledError, RedisError):
                raise
            except Exception:  # a meeting's failure must not stop the follow-ups
                logger.exception("meeting.tick_failed")
        if abs(now - self._last_media_sweep) >= MEDIA_SWEEP_EVERY_SECONDS:  # abs: a clock set back
            self._last_media_sweep = now
            removed = await self.channel_store.sweep_media(now - self.settings.media_retention_seconds)
            if removed:
                logger.info("media.swept removed=%d", removed)

    # --- one follow-up ------------------------------------------------------------------

    async def fire(self, planned: PlannedFollowUp) -> None:
        conversation_id = planned.conversation_id
        now = self.clock.now()
        opening = self.settings.hours.next_opening(now)
        if opening > now:
            await self.followups.defer(planned, opening)
            FOLLOWUPS.labels(outcome="deferred").inc()
            logger.info("followup.deferred conversation=%s stage=%d until=%.0f",
                        mask_phone(conversation_id), planned.stage, opening)
            return
        if (
            await self.channel_store.inbox(conversation_id)
            or await self.channel_store.human_is_talking(conversation_id)
        ):
            # The lead's own message is about to be answered, or a person is talking.
            await self.followups.finish(planned)
            FOLLOWUPS.labels(outcome="cancelled").inc()
            logger.info("followup.cancelled conversation=%s reason=conversation_active", mask_phone(conversation_id))
            return
        final = planned.stage >= len(self.settings.delays)
        sent = await self._trigger(planned, final)
        FOLLOWUPS.labels(outcome="sent" if sent else "suppressed").inc()
        if sent and not final:
            await self.followups.advance(planned, planned.stage + 1, self._next_due(planned, now))
            FOLLOWUPS.labels(outcome="scheduled").inc()
        else:
            await self.followups.finish(planned)

    def _next_due(self, planned: PlannedFollowUp, now: float) -> float:
        delays = self.settings.delays
        gap = delays[planned.stage] - delays[planned.stage - 1]
        return max(planned.quiet_since + delays[planned.stage], now + gap)

    async def _trigger(self, planned: PlannedFollowUp, final: bool) -> bool:
        """Runs the follow-up turn; True when the action sent this stage."""
        agent = self._agent()
        conversation_id = planned.conversation_id
        output = self._output_channel()
        async with agent.lock_store.lock(conversation_id):
            tracker = await agent.processor.fetch_tracker_and_update_session(conversation_id, output)
            reason = blocked_reason(tracker.current_slot_values(), paused=tracker.is_paused())
            if reason:
                logger.info("followup.suppressed conversation=%s stage=%d reason=%s",
                            mask_phone(conversation_id), planned.stage, reason)
                return False
            entities: Dict[str, Any] = {STAGE_ENTITY: planned.stage, FINAL_ENTITY: final}
            await agent.trigger_intent(FOLLOWUP_INTENT, entities, output, tracker)
            after = await agent.tracker_store.retrieve(conversation_id)
        sent = after is not None and stage_sent_since_lead_wrote(after.events) >= planned.stage
        logger.info("followup.%s conversation=%s stage=%d final=%s", "sent" if sent else "not_sent",
                    mask_phone(conversation_id), planned.stage, final)
        return sent

    # --- the weekly report ------------------------------------------------------------------

    async def send_weekly_report_if_due(self, now: float) -> bool:
        if not self.settings.report_to:
            return False
        occurrence = self.settings.weekly_slot.latest_at_or_before(now)
        if now - occurrence > REPORT_CATCH_UP_SECONDS:
            return False
        label = self.settings.weekly_slot.label(occurrence)
        if not await self.followups.run_once("weekly_report", label, ttl_seconds=8 * 86400):
            return False
        figures = await collect_weekly_figures(self._agent().tracker_store, until=occurrence)
        text = format_report(figures, self.settings.weekly_slot.tz)
        await self._output_channel().send_text_message(self.settings.report_to, text)
        WEEKLY_REPORTS_SENT.inc()
        logger.info("weekly_report.sent week_ending=%s received=%d qualified=%d",
                    label, figures.received, figures.qualified)
        return True
