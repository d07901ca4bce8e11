"""After the booking: reminders and changes told to the lead, and the lead's own reschedule or cancel.

- ``action_meeting_notice`` runs on ``EXTERNAL_meeting``, which the Rasa server's scheduler
  triggers (``connectors.meetings``): a reminder 24 h / 2 h before, a pending request the calendar
  took (or could not), a meeting deleted or moved in the calendar. Each notice is sent once
  (a marker in Redis), and a reminder only for the meeting it was planned for.
- ``action_reschedule_meeting`` ("preciso remarcar"): the form offers new times; the booking moves
  the event (``remarcada``).
- ``action_cancel_meeting`` ("não vou poder ir", "cancela a visita"): the event is deleted
  (``cancelada``), reminders stop, the CRM hears ``meeting.cancelled``.
"""
from __future__ import annotations

import logging
from typing import Any, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.followups import trigger_entities
from actions.lead_events import publish_lead_event
from actions.meeting_booking import OFFER_SLOT, iso, meeting_words, record_slots, upcoming_meeting
from actions.meeting_session import calendar_settings, open_booker
from crm.events import LeadEventType
from meetings.google_calendar import CalendarError
from meetings.store import MeetingRecord
from observability.privacy import mask_phone
from sdr.dialogue import MEETING_FORM, MEETING_NOTICE_ENTITY, MEETING_START_ENTITY
from sdr.vocabulary import MEETING_STATUSES_UPCOMING, MeetingNotice, MeetingStatus

__all__ = ["ActionCancelMeeting", "ActionMeetingNotice", "ActionRescheduleMeeting"]

logger = logging.getLogger(__name__)

NOTICE_RESPONSES = {
    MeetingNotice.REMINDER_DAY.value: "utter_meeting_reminder_day",
    MeetingNotice.REMINDER_HOURS.value: "utter_meeting_reminder_hours",
    MeetingNotice.CONFIRMED.value: "utter_meeting_confirmed",
    MeetingNotice.NOT_BOOKED.value: "utter_meeting_not_booked",
    MeetingNotice.CANCELLED_IN_CALENDAR.value: "utter_meeting_cancelled_in_calendar",
    MeetingNotice.MOVED_IN_CALENDAR.value: "utter_meeting_moved_in_calendar",
}
REMINDERS = frozenset({MeetingNotice.REMINDER_DAY.value, MeetingNotice.REMINDER_HOURS.value})


class ActionMeetingNotice(Action):
    def name(self) -> str:
        return "action_meeting_notice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        settings = calendar_settings()
        entities = trigger_entities(tracker.latest_message)
        notice = str(entities.get(MEETING_NOTICE_ENTITY) or "")
        planned_for = entities.get(MEETING_START_ENTITY)
        if settings is None or tracker.get_slot("opted_out"):
            return []
        if notice == MeetingNotice.DONE.value:  # nothing to say: the slots follow the record
            async with open_booker(tracker.sender_id) as booker:
                done = await booker.store.get(tracker.sender_id) if booker else None
            return record_slots(done, settings) if done and done.status == MeetingStatus.DONE.value else []
        if notice not in NOTICE_RESPONSES:
            return []
        async with open_booker(tracker.sender_id) as booker:
            if booker is None:
                return []
            record = await booker.store.get(tracker.sender_id)
            if record is None or not self._applies(notice, record, planned_for):
                logger.info("meeting.notice_void conversation=%s notice=%s", mask_phone(tracker.sender_id), notice)
                return []
            once = f"{tracker.sender_id}|{notice}|{record.start!r}|{record.event_id}"
            if not await booker.store.first_time(once):
                return []
        dispatcher.utter_message(response=NOTICE_RESPONSES[notice], customer_name=tracker.get_slot("customer_name")
                                 or "", **meeting_words(record, settings))
        logger.info("meeting.notice_sent conversation=%s notice=%s", mask_phone(tracker.sender_id), notice)
        if notice in REMINDERS:
            return []
        if notice in (MeetingNotice.CONFIRMED.value, MeetingNotice.MOVED_IN_CALENDAR.value):
            slots = {**tracker.current_slot_values(), "meeting_at": iso(record.start, settings),
                     "meeting_status": record.status}
            await publish_lead_event(LeadEventType.MEETING_BOOKED, tracker, slots,
                                     summary=f"{meeting_words(record, settings)['meeting_when']}")
        else:
            slots = {**tracker.current_slot_values(), "meeting_status": record.status}
            await publish_lead_event(LeadEventType.MEETING_CANCELLED, tracker, slots)
        return record_slots(record, settings)

    @staticmethod
    def _applies(notice: str, record: MeetingRecord, planned_for: Any) -> bool:
        if notice in REMINDERS:
            try:
                same = planned_for is not None and float(planned_for) == record.start
            except (TypeError, ValueError):
                same = False
            return same and record.status in MEETING_STATUSES_UPCOMING
        return True


class ActionRescheduleMeeting(Action):
    """The form then offers new times; the booking moves the meeting it finds."""

    def name(self) -> str:
        return "action_reschedule_meeting"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        settings = calendar_settings()
        if settings is None:
            dispatcher.utter_message(response="utter_meeting_consultant_will_write")
            return [FollowupAction("action_listen")]
        async with open_booker(tracker.sender_id) as booker:
            record = await upcoming_meeting(booker, tracker.sender_id)
        if record is None:
            dispatcher.utter_message(response="utter_meeting_none_to_move")
        else:
            dispatcher.utter_message(response="utter_meeting_will_move", **meeting_words(record, settings))
        return [SlotSet("meeting_at", None), SlotSet(OFFER_SLOT, None)]


class ActionCancelMeeting(Action):
    def name(self) -> str:
        return "action_cancel_meeting"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        settings = calendar_settings()
        async with open_booker(tracker.sender_id) as booker:
            record = await upcoming_meeting(booker, tracker.sender_id)
            if booker is None or settings is None or record is None:
                choosing = tracker.active_loop_name == MEETING_FORM
                dispatcher.utter_message(response="utter_meeting_booking_dropped" if choosing
                                         else "utter_meeting_none_to_cancel")
                return [SlotSet(OFFER_SLOT, None)] if choosing else []
            try:
                cancelled = await booker.cancel(record)
            except CalendarError as error:
                # Not deleted: never say it was. The team cancels it by hand (a hand-off event tells them).
                logger.error("meeting.cancel_failed conversation=%s error=%s", mask_phone(tracker.sender_id),
                             type(error).__name__)
                dispatcher.utter_message(response="utter_meeting_cancel_later", **meeting_words(record, settings))
                await publish_lead_event(LeadEventType.HANDOFF, tracker, tracker.current_slot_values(),
                                         summary="O lead pediu para cancelar a reunião; a agenda não respondeu.")
                return []
        dispatcher.utter_message(response="utter_meeting_cancelled", **meeting_words(record, settings))
        await publish_lead_event(LeadEventType.MEETING_CANCELLED, tracker,
                                 {**tracker.current_slot_values(), "meeting_status": cancelled.status})
        return [SlotSet("meeting_status", cancelled.status), SlotSet("meeting_at", None),
                SlotSet("meeting_id", None), SlotSet(OFFER_SLOT, None)]
