"""Tracker fixtures for offline action tests (no Rasa server needed)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker

DEFAULT_SLOTS: Dict[str, Any] = {"lead_status": "novo", "opted_out": False}


def user_event(text: str, intent: str, confidence: float = 0.9) -> Dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "parse_data": {"text": text, "intent": {"name": intent, "confidence": confidence}},
    }


def make_tracker(
    slots: Optional[Dict[str, Any]] = None,
    text: str = "",
    intent: str = "inform",
    events: Optional[List[Dict[str, Any]]] = None,
    active_loop: Optional[str] = None,
) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    return Tracker(
        sender_id="5511999990000",
        slots={**DEFAULT_SLOTS, **(slots or {})},
        latest_message=latest,
        events=events if events is not None else [user_event(text, intent)],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


DOMAIN: Dict[str, Any] = {
    "forms": {
        "qualification_form": {
            "required_slots": [
                "customer_name", "monthly_bill_brl", "city", "state",
                "property_type", "is_owner", "is_decision_maker", "timeline",
            ]
        }
    },
    "slots": {},
}
