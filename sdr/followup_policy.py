"""Who may receive a follow-up: one rule, read by the scheduler before it fires
and by the follow-up action when it runs (the last word, under the conversation lock).

Pure: slot values in, a reason out.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from sdr.vocabulary import STATUSES_BEING_QUALIFIED

# Entities the trigger carries to the action.
STAGE_ENTITY = "followup_stage"
FINAL_ENTITY = "followup_final"
# Slot set to the stage of each follow-up sent (the conversation's own record of it).
STAGE_SLOT = "followup_stage"

# Statuses of a lead still being qualified by the assistant; every other status
# means the conversation has an owner (sales, a person, subscription) or is over.
STATUSES_TO_FOLLOW_UP = {None, *STATUSES_BEING_QUALIFIED}


def blocked_reason(slots: Mapping[str, Any], *, paused: bool = False) -> Optional[str]:
    """None when the lead may get a follow-up, else why not."""
    if slots.get("opted_out"):
        return "opted_out"
    if paused:
        return "paused"
    status = slots.get("lead_status")
    if status not in STATUSES_TO_FOLLOW_UP:
        return f"status_{status}"
    return None


def _as_dict(event: Any) -> Mapping[str, Any]:
    return event if isinstance(event, Mapping) else event.as_dict()


def is_lead_message(event: Any) -> bool:
    """A message the lead sent (follow-up triggers are user events too, without text)."""
    event = _as_dict(event)
    if event.get("event") != "user":
        return False
    intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
    return not intent.startswith("EXTERNAL_")


def stage_sent_since_lead_wrote(events: Sequence[Any]) -> int:
    """The highest follow-up stage sent after the lead's last message (0 if none):
    a retried trigger of a stage already sent must not message the lead again."""
    highest = 0
    for event in reversed(events):
        event = _as_dict(event)
        if is_lead_message(event):
            break
        if event.get("event") == "slot" and event.get("name") == STAGE_SLOT and event.get("value"):
            highest = max(highest, int(event["value"]))
    return highest
