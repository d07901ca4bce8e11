"""Lead events: what the sales tools outside the assistant are told, and in which words.

One event is one fact about one lead at one moment (qualified, hot, handed to a person, opted
out, meeting booked or cancelled) with a snapshot of what the lead told the assistant. The
Kommo sync and the outbound webhooks both carry the same events, so a team that reads its
leads in n8n sees exactly what the CRM sees.

An event's id is derived from the conversation, the type and the turn that caused it, so the
same turn run twice (a retried action) publishes the same id and the outbox keeps one.
"""
from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, Optional

from observability.privacy import log_safe_id

__all__ = [
    "LEAD_FIELDS",
    "LeadEvent",
    "LeadEventType",
    "event_id",
    "lead_snapshot",
    "phone_of",
]

# The slots an event carries (contract names), in the order a person reads them.
LEAD_FIELDS = (
    "customer_name", "monthly_bill_brl", "monthly_kwh", "utility", "city", "state",
    "property_type", "is_owner", "roof_type", "is_decision_maker", "timeline",
    "financing_interest", "lead_score", "lead_class", "lead_status", "opted_out",
    "lead_source", "lead_campaign", "crm_lead_id", "crm_contact_id",
    "meeting_at", "meeting_kind", "meeting_status", "meeting_address",
)
# A conversation id is the lead's phone (country code and number, digits only) unless WhatsApp
# only showed the lead's LID, a longer opaque number: then there is no phone to give a CRM.
PHONE_DIGITS = range(10, 14)
_EVENT_NAMESPACE = uuid.UUID("5b0f1f52-61f4-4d55-9d1b-7f3c0c2a8e11")


class LeadEventType(str, enum.Enum):
    QUALIFIED = "lead.qualified"
    HOT = "lead.hot"
    HANDOFF = "lead.handoff"
    OPTED_OUT = "lead.opted_out"
    MEETING_BOOKED = "meeting.booked"
    MEETING_CANCELLED = "meeting.cancelled"


def phone_of(conversation_id: str) -> Optional[str]:
    digits = conversation_id.strip()
    return digits if digits.isdigit() and len(digits) in PHONE_DIGITS else None


def event_id(conversation_id: str, event_type: str, anchor: str) -> str:
    """The same (conversation, type, causing turn) always gives the same id."""
    return log_safe_id(uuid.uuid5(_EVENT_NAMESPACE, f"{conversation_id}|{event_type}|{anchor}").hex)


def lead_snapshot(slots: Mapping[str, Any]) -> Dict[str, Any]:
    return {name: slots.get(name) for name in LEAD_FIELDS}


@dataclass(frozen=True)
class LeadEvent:
    id: str
    type: str
    conversation_id: str
    occurred_at: float  # Unix seconds
    lead: Dict[str, Any] = field(default_factory=dict)
    summary: str = ""

    @classmethod
    def create(
        cls, event_type: LeadEventType, conversation_id: str, slots: Mapping[str, Any], *,
        anchor: str, occurred_at: float, summary: str = "",
    ) -> LeadEvent:
        return cls(
            id=event_id(conversation_id, event_type.value, anchor), type=event_type.value,
            conversation_id=conversation_id, occurred_at=occurred_at,
            lead=lead_snapshot(slots), summary=summary,
        )

    @property
    def phone(self) -> Optional[str]:
        return phone_of(self.conversation_id)

    def body(self) -> Dict[str, Any]:
        """The JSON an outbound webhook receives."""
        return {
            "id": self.id,
            "type": self.type,
            "created_at": datetime.fromtimestamp(self.occurred_at, timezone.utc).isoformat(),
            "conversation_id": self.conversation_id,
            "lead": {"phone": self.phone, **self.lead, "summary": self.summary or None},
        }

    def to_json(self) -> str:
        return json.dumps(
            {"id": self.id, "type": self.type, "conversation_id": self.conversation_id,
             "occurred_at": self.occurred_at, "lead": self.lead, "summary": self.summary},
            ensure_ascii=False, sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> LeadEvent:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("lead"), dict):
            raise ValueError("not a lead event")
        return cls(
            id=str(data["id"]), type=str(data["type"]), conversation_id=str(data["conversation_id"]),
            occurred_at=float(data["occurred_at"]), lead=data["lead"], summary=str(data.get("summary") or ""),
        )
