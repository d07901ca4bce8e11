"""Names the dialogue relies on, shared by the actions and checked against data/ by tests."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

QUALIFICATION_FORM = "qualification_form"
REQUESTED_SLOT = "requested_slot"

# Slots the lead fills by talking (the form's questions, plus kWh as an
# alternative to the bill in R$).
LEAD_FACT_SLOTS = (
    "customer_name",
    "monthly_bill_brl",
    "monthly_kwh",
    "city",
    "state",
    "property_type",
    "is_owner",
    "is_decision_maker",
    "timeline",
)

# Everything known about a lead, in the order people read it: the review UI's lead panel
# and CSV. (LEAD_FACT_SLOTS are the subset the lead fills by talking.)
LEAD_PROFILE_SLOTS = (
    "customer_name", "monthly_bill_brl", "monthly_kwh", "utility", "city", "state", "property_type",
    "is_owner", "roof_type", "is_decision_maker", "timeline", "financing_interest",
    "lead_score", "lead_class", "lead_status", "opted_out", "lead_source", "lead_campaign",
    "meeting_at", "meeting_kind", "meeting_status",
)

# Side questions a lead may ask at any time, with the response that answers
# each; inside the form the question is answered and the form asks again.
ANSWER_RESPONSES: Dict[str, str] = {
    "ask_how_it_works": "utter_how_it_works",
    "ask_price": "utter_price",
    "ask_savings": "utter_savings",
    "ask_financing": "utter_financing",
    "ask_law": "utter_law",
    "ask_subscription": "utter_subscription",
    "objection_price": "utter_objection_price",
    "objection_trust": "utter_objection_trust",
    "already_have_solar": "utter_already_have_solar",
    "bot_challenge": "utter_iamabot",
    "out_of_scope": "utter_out_of_scope",
}

# Intents that, inside the form, mean "this is my answer": when nothing could
# be read from such a message the form re-asks with an example instead of
# letting the fallback take over.
ANSWER_LIKE_INTENTS = frozenset({"inform", "affirm", "deny", "nlu_fallback", "express_interest"})

FALLBACK_INTENT = "nlu_fallback"

# Intents no lead types: the WhatsApp channel sends them for what is not text
# (a bill photo or PDF, a voice note it could not transcribe, other media).
SHARE_BILL_INTENT = "share_bill"
VOICE_NOTE_UNREADABLE_INTENT = "voice_note_unreadable"
UNSUPPORTED_MEDIA_INTENT = "unsupported_media"
CHANNEL_INTENTS = (SHARE_BILL_INTENT, VOICE_NOTE_UNREADABLE_INTENT, UNSUPPORTED_MEDIA_INTENT)
# Triggered by the follow-up scheduler (connectors/followups.py), never typed.
FOLLOWUP_INTENT = "EXTERNAL_followup"
# Triggered by the scheduler for a meeting (a reminder, a change in the calendar), never typed;
# its entity MEETING_NOTICE_ENTITY holds a sdr.vocabulary.MeetingNotice value.
MEETING_INTENT = "EXTERNAL_meeting"
MEETING_NOTICE_ENTITY = "meeting_notice"
MEETING_START_ENTITY = "meeting_start"  # the meeting a reminder was planned for: a moved one's are void
# Intents with no NLU examples by design.
INTENTS_NOT_TYPED = CHANNEL_INTENTS + (FOLLOWUP_INTENT, MEETING_INTENT)
MEETING_FORM = "meeting_form"
# The booking's slots, in the order people read them.
MEETING_SLOTS = ("meeting_kind", "meeting_address", "meeting_at", "meeting_id", "meeting_status")


def latest_intent(latest_message: Optional[Mapping[str, Any]]) -> Optional[str]:
    intent = (latest_message or {}).get("intent") or {}
    return intent.get("name")


def user_text(latest_message: Optional[Mapping[str, Any]]) -> str:
    """The lead's words, or "" for intent payloads such as "/greet" and external events."""
    text = (latest_message or {}).get("text") or ""
    return "" if text.startswith("/") else text


def slots_set_since_last_user_message(events: List[Mapping[str, Any]]) -> Dict[str, Any]:
    """Lead facts set after the latest user message (oldest first, latest value wins)."""
    found: Dict[str, Any] = {}
    for event in reversed(events):
        if event.get("event") == "user":
            break
        if event.get("event") == "slot" and event.get("name") in LEAD_FACT_SLOTS:
            found.setdefault(event["name"], event.get("value"))
    return found
