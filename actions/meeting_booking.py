"""Booking a meeting with a consultant: the form that offers times and books the one chosen.

``meeting_form`` asks, in order, what is still missing:

- ``meeting_kind``: a video call or a technical visit (asked only when ``MEETING_KINDS`` has both);
- ``meeting_address``: for a visit, where;
- ``meeting_at``: three free times as numbered options (``action_ask_meeting_at``); the lead
  answers "2", the option's text, or a time in words. The answer is booked here, in the
  validation (claim in Redis, freeBusy again, event), so a time that is no longer free is
  answered at once with the nearest free ones and the form asks again.

``action_confirm_meeting`` runs when the form is done: it tells the lead, and the CRM.
A question inside the form is answered, then the form asks again; an opt-out, a request for a
person, a goodbye, a cancel or a reschedule leave the form to the rules.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.faq import answer_faq
from actions.lead_events import publish_lead_event
from actions.meeting_session import booking_request, calendar_settings, open_booker
from actions.sales_team import format_phone
from crm.events import LeadEventType, phone_of
from meetings.booking import Booker, Outcome
from meetings.choice import read_choice
from meetings.google_calendar import CalendarError
from meetings.settings import CalendarSettings
from meetings.store import MeetingRecord
from meetings.wording import KIND_LABELS, clock_text, options_text, when_text
from observability.privacy import mask_phone
from sdr.dialogue import ANSWER_LIKE_INTENTS, ANSWER_RESPONSES, MEETING_FORM, REQUESTED_SLOT, latest_intent, user_text
from sdr.faq import FAQ_INTENT
from sdr.text import fold_words
from sdr.vocabulary import MEETING_STATUSES_UPCOMING, MeetingKind, MeetingStatus

__all__ = ["ActionAskMeetingAt", "ActionConfirmMeeting", "ActionOfferMeeting", "ValidateMeetingForm", "read_kind",
           "upcoming_meeting"]

logger = logging.getLogger(__name__)

OFFER_SLOT = "meeting_offer"
MIN_ADDRESS_CHARS = 8
KIND_WORDS = {
    MeetingKind.VIDEO.value: ("video", "videochamada", "chamada", "online", "on line", "call", "meet", "zoom",
                              "ligacao", "remota", "remoto", "internet"),
    MeetingKind.VISIT.value: ("visita", "presencial", "pessoalmente", "tecnica", "aqui em casa", "no local",
                              "vir aqui", "venha", "venham"),
}


def read_kind(text: str, kinds: tuple[str, ...]) -> Optional[str]:
    """ "video", "1", "prefiro a visita" → the kind; both or neither named → None."""
    words = f" {fold_words(text)} "
    named = {kind for kind in kinds if any(f" {word} " in words for word in KIND_WORDS.get(kind, ()))}
    if len(named) == 1:
        return named.pop()
    numbers = {int(n) for n in words.split() if n.isdigit() and 1 <= int(n) <= len(kinds)}
    if not named and len(numbers) == 1:
        return kinds[numbers.pop() - 1]
    return None


def iso(start: float, settings: CalendarSettings) -> str:
    return datetime.fromtimestamp(start, settings.hours.tz).isoformat()


def record_slots(record: MeetingRecord, settings: CalendarSettings) -> List[EventType]:
    """The slots that mirror a meeting record."""
    return [SlotSet("meeting_at", iso(record.start, settings)), SlotSet("meeting_id", record.event_id or None),
            SlotSet("meeting_status", record.status)]


def meeting_words(record: MeetingRecord, settings: CalendarSettings) -> Dict[str, Any]:
    """What the meeting responses fill in: when, the kind, the consultant's first name."""
    return {
        "meeting_when": when_text(record.start, settings.hours.tz),
        "meeting_clock": clock_text(datetime.fromtimestamp(record.start, settings.hours.tz)),
        "meeting_kind_label": KIND_LABELS.get(record.kind, record.kind),
        "consultant": settings.consultant_name(record.calendar_id) if record.calendar_id else "um consultor",
    }


def _phone(sender_id: str) -> str:
    phone = phone_of(sender_id)
    return format_phone(phone) if phone else ""


def _offered(tracker: Tracker) -> List[float]:
    value = tracker.get_slot(OFFER_SLOT)
    return [float(v) for v in value] if isinstance(value, list) else []


async def upcoming_meeting(booker: Optional[Booker], sender_id: str) -> Optional[MeetingRecord]:
    record = await booker.store.get(sender_id) if booker is not None else None
    return record if record is not None and record.status in MEETING_STATUSES_UPCOMING else None


class ActionOfferMeeting(Action):
    """Before the form: with booking off, or a meeting already booked, the turn ends here."""

    def name(self) -> str:
        return "action_offer_meeting"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        settings = calendar_settings()
        if settings is None:
            dispatcher.utter_message(response="utter_meeting_consultant_will_write")
            return [FollowupAction("action_listen")]
        async with open_booker(tracker.sender_id) as booker:
            record = await upcoming_meeting(booker, tracker.sender_id)
        if record is not None:
            dispatcher.utter_message(response="utter_meeting_already_booked", **meeting_words(record, settings))
            return [FollowupAction("action_listen")]
        return [SlotSet("meeting_at", None), SlotSet(OFFER_SLOT, None)]


class ValidateMeetingForm(FormValidationAction):
    def name(self) -> str:
        return "validate_meeting_form"

    async def required_slots(
        self, domain_slots: List[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict,
    ) -> List[str]:
        settings = calendar_settings()
        if settings is None:
            return []  # booking off: the confirmation says a consultant will write
        required = []
        if len(settings.kinds) > 1:
            required.append("meeting_kind")
        kind = tracker.get_slot("meeting_kind") or (settings.kinds[0] if len(settings.kinds) == 1 else None)
        if kind == MeetingKind.VISIT.value:
            required.append("meeting_address")
        return required + ["meeting_at"]

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        # Rasa SDK keeps only the required slots' events; the booking's other slots (meeting_id,
        # meeting_status, the offer) must reach the tracker too.
        extracted = await self.get_extraction_events(dispatcher, tracker, domain)
        tracker.add_slots(extracted)
        return extracted + await self._extract_validation_events(dispatcher, tracker, domain)

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict,
    ) -> List[EventType]:
        settings = calendar_settings()
        requested = tracker.get_slot(REQUESTED_SLOT)
        if settings is None or tracker.active_loop_name != MEETING_FORM or not requested:
            return []
        text = user_text(tracker.latest_message)
        intent = latest_intent(tracker.latest_message)
        events: List[EventType] = []
        if len(settings.kinds) == 1 and tracker.get_slot("meeting_kind") is None:
            events.append(SlotSet("meeting_kind", settings.kinds[0]))
        if requested == "meeting_kind":
            kind = read_kind(text, settings.kinds)
            if kind:
                return events + [SlotSet("meeting_kind", kind)]
        elif requested == "meeting_address":
            if len(text.strip()) >= MIN_ADDRESS_CHARS and intent in ANSWER_LIKE_INTENTS | {"nlu_fallback"}:
                return events + [SlotSet("meeting_address", text.strip())]
        elif requested == "meeting_at":
            booked = await self._choose_and_book(dispatcher, tracker, settings, text, intent)
            if booked is not None:
                return events + booked
        return events + await self._not_read(dispatcher, tracker, domain, requested, intent)

    async def _not_read(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict,
                        requested: str, intent: Optional[str]) -> List[EventType]:
        if intent == FAQ_INTENT:  # a knowledge-base question: answered (or deferred), then asked again
            await answer_faq(dispatcher, tracker, domain)
            return [SlotSet(requested, None)]
        if intent in ANSWER_RESPONSES:  # a question: answered, then the form asks again
            dispatcher.utter_message(response=ANSWER_RESPONSES[intent])
            return [SlotSet(requested, None)]
        if intent in ANSWER_LIKE_INTENTS:
            dispatcher.utter_message(response=f"utter_reask_{requested}")
            return [SlotSet(requested, None)]
        return []  # opt-out, a person, goodbye, cancel…: the form steps aside for the rules

    async def _choose_and_book(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, settings: CalendarSettings, text: str,
        intent: Optional[str],
    ) -> Optional[List[EventType]]:
        offered = _offered(tracker)
        now = time.time()
        choice = read_choice(text, offered, now, settings.hours.tz)
        if not choice.read:
            return None
        async with open_booker(tracker.sender_id) as booker:
            if booker is None:
                return None
            try:
                if choice.option is not None:
                    start = offered[choice.option]
                elif choice.when is not None and choice.when.exact:
                    start = choice.when.start
                elif choice.when is not None:
                    return await self._offer_span(dispatcher, booker, choice.when.start, choice.when.end, now)
                else:
                    return None
            except CalendarError as error:
                logger.error("meeting.offer_failed conversation=%s error=%s", mask_phone(tracker.sender_id),
                             type(error).__name__)
                dispatcher.utter_message(response="utter_meeting_say_exact_time")
                return [SlotSet("meeting_at", None)]
            previous = await upcoming_meeting(booker, tracker.sender_id)
            request = booking_request(tracker.sender_id, tracker.current_slot_values(), _phone(tracker.sender_id))
            result = await booker.book(request, start, now, previous)
        if result.outcome is Outcome.TAKEN:
            alternatives = [slot.start for slot in result.alternatives]
            dispatcher.utter_message(response="utter_meeting_time_taken" if alternatives
                                     else "utter_meeting_no_free_time")
            return [SlotSet(OFFER_SLOT, alternatives or None), SlotSet("meeting_at", None)]
        if result.record is None:
            return []
        return record_slots(result.record, settings) + [SlotSet(OFFER_SLOT, None)]

    async def _offer_span(self, dispatcher: CollectingDispatcher, booker: Booker, low: float, high: float,
                          now: float) -> List[EventType]:
        inside = await booker.free_between(low, high, now)
        if inside:
            dispatcher.utter_message(response="utter_meeting_times_in_span")
            return [SlotSet(OFFER_SLOT, [slot.start for slot in inside]), SlotSet("meeting_at", None)]
        nearest = await booker.nearest(low, now)
        dispatcher.utter_message(response="utter_meeting_span_full" if nearest else "utter_meeting_no_free_time")
        return [SlotSet(OFFER_SLOT, [slot.start for slot in nearest] or None), SlotSet("meeting_at", None)]


class ActionAskMeetingAt(Action):
    """Three free times as numbered options (those already offered, or new ones from freeBusy)."""

    def name(self) -> str:
        return "action_ask_meeting_at"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        settings = calendar_settings()
        if settings is None:
            return []
        offered = _offered(tracker)
        if not offered:
            async with open_booker(tracker.sender_id) as booker:
                try:
                    offered = [slot.start for slot in await booker.offer(time.time())] if booker else []
                except CalendarError as error:
                    logger.error("meeting.offer_failed conversation=%s error=%s", mask_phone(tracker.sender_id),
                                 type(error).__name__)
                    dispatcher.utter_message(response="utter_meeting_calendar_down")
                    return [SlotSet(OFFER_SLOT, None)]
        if not offered:
            dispatcher.utter_message(response="utter_meeting_no_free_time")
            return [SlotSet(OFFER_SLOT, None)]
        kind = KIND_LABELS.get(str(tracker.get_slot("meeting_kind") or settings.kinds[0]), "conversa")
        dispatcher.utter_message(response="utter_ask_meeting_at", meeting_kind_label=kind,
                                 meeting_options=options_text(offered, settings.hours.tz))
        return [SlotSet(OFFER_SLOT, offered)]


class ActionConfirmMeeting(Action):
    """After the form: the booking in words, and the CRM told (meeting.booked)."""

    def name(self) -> str:
        return "action_confirm_meeting"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        settings = calendar_settings()
        status = tracker.get_slot("meeting_status")
        if settings is None or status is None:
            dispatcher.utter_message(response="utter_meeting_consultant_will_write")
            return []
        async with open_booker(tracker.sender_id) as booker:
            record = await booker.store.get(tracker.sender_id) if booker else None
        if record is None:
            dispatcher.utter_message(response="utter_meeting_consultant_will_write")
            return []
        words = meeting_words(record, settings)
        if record.status == MeetingStatus.PENDING.value:
            dispatcher.utter_message(response="utter_meeting_pending", **words)
            return []
        dispatcher.utter_message(response="utter_meeting_booked", **words)
        await publish_lead_event(LeadEventType.MEETING_BOOKED, tracker, tracker.current_slot_values(),
                                 summary=f"{words['meeting_kind_label']}: {words['meeting_when']} com "
                                         f"{words['consultant']}")
        return []
