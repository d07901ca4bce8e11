"""Serialised Rasa trackers (the JSON RedisTrackerStore keeps) turned into what
the UI shows: a one-line summary per conversation and a readable transcript.

Everything here is pure: plain dicts in, dataclasses out, so it is tested with
plain data and the index can run it on thousands of trackers.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from review.text import normalise
from sdr.dialogue import LEAD_PROFILE_SLOTS
from sdr.vocabulary import INITIAL_LEAD_STATUS, LeadStatus
from whatsapp.turn_metadata import TurnMetadata

FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTIONS = frozenset({"action_fallback", "action_default_fallback"})
# Housekeeping actions: not worth a chip under every turn, nor a filter option.
SILENT_ACTIONS = frozenset({"action_listen", "action_session_start"})
# Rasa's bookkeeping slots: the form's cursor, and the channel metadata copied at session start.
SILENT_SLOTS = frozenset({"requested_slot", "session_started_metadata"})
LEAD_FIELDS = LEAD_PROFILE_SLOTS
INITIAL_STATUS = INITIAL_LEAD_STATUS.value
BILL_READING_ACTION = "action_read_bill"
# Slots action_read_bill may set (actions/bill_reading.py bill_slot_updates).
BILL_FACT_SLOTS = frozenset({"monthly_bill_brl", "monthly_kwh", "utility", "city", "state", "property_type"})
# Enough of a conversation's words to search it without keeping all of it in memory.
SEARCH_TEXT_CHARS = 4000
PREVIEW_CHARS = 120


@dataclass
class ConversationSummary:
    sender_id: str
    name: str = ""
    first_activity: float = 0.0
    last_activity: float = 0.0
    turns: int = 0
    event_count: int = 0
    lead_score: Optional[float] = None
    lead_class: Optional[str] = None
    lead_status: str = INITIAL_STATUS
    lead: Dict[str, Any] = field(default_factory=dict)
    intents: List[str] = field(default_factory=list)
    actions: List[str] = field(default_factory=list)
    min_confidence: Optional[float] = None
    confidences: List[float] = field(default_factory=list)
    fallbacks: int = 0
    paused: bool = False
    channel: str = ""
    preview: str = ""
    search_text: str = ""
    # (timestamp, value) each time lead_status / lead_class was set: the funnel.
    status_history: List[Tuple[float, str]] = field(default_factory=list)
    class_history: List[Tuple[float, str]] = field(default_factory=list)
    # Size of the stored tracker when this summary was made: a change means "parse again".
    fingerprint: int = 0

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConversationSummary:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        summary = cls(**known)
        summary.status_history = [tuple(x) for x in summary.status_history]  # type: ignore[misc]
        summary.class_history = [tuple(x) for x in summary.class_history]  # type: ignore[misc]
        return summary

    def low_confidence(self, threshold: float) -> bool:
        return self.min_confidence is not None and self.min_confidence < threshold


def user_intent(event: Mapping[str, Any]) -> Tuple[Optional[str], Optional[float]]:
    intent = (event.get("parse_data") or {}).get("intent") or {}
    confidence = intent.get("confidence")
    return intent.get("name"), (float(confidence) if isinstance(confidence, (int, float)) else None)


def evolution_messages(event: Mapping[str, Any]) -> List[Mapping[str, Any]]:
    """The WhatsApp messages a user event was made of (whatsapp/turn_metadata.py)."""
    return list(TurnMetadata.of(event).messages)


def push_name(event: Mapping[str, Any]) -> Optional[str]:
    return TurnMetadata.of(event).push_name


def is_typed_text(text: Optional[str]) -> bool:
    """Payloads ("/share_bill") are sent by buttons and the channel, not typed by the lead."""
    return bool(text) and not str(text).startswith("/")


def summarise(sender_id: str, events: Sequence[Mapping[str, Any]], fingerprint: int = 0) -> ConversationSummary:
    summary = ConversationSummary(sender_id=sender_id, event_count=len(events), fingerprint=fingerprint)
    intents, actions, words = set(), set(), []
    slots: Dict[str, Any] = {}
    whatsapp_name = None
    for event in events:
        kind = event.get("event")
        timestamp = float(event.get("timestamp") or 0.0)
        if timestamp:
            summary.first_activity = summary.first_activity or timestamp
            summary.last_activity = max(summary.last_activity, timestamp)
        if kind == "user":
            summary.turns += 1
            name, confidence = user_intent(event)
            if name:
                intents.add(name)
            if name == FALLBACK_INTENT:
                summary.fallbacks += 1
            if confidence is not None and is_typed_text(event.get("text")):
                summary.confidences.append(round(confidence, 3))
            summary.channel = event.get("input_channel") or summary.channel
            whatsapp_name = push_name(event) or whatsapp_name
            if event.get("text"):
                words.append(str(event["text"]))
                summary.preview = str(event["text"])[:PREVIEW_CHARS]
        elif kind == "bot":
            if event.get("text"):
                words.append(str(event["text"]))
        elif kind == "action":
            name = event.get("name")
            if name and name not in SILENT_ACTIONS:
                actions.add(name)
            if name in FALLBACK_ACTIONS:
                summary.fallbacks += 1
        elif kind == "slot":
            slot, value = event.get("name"), event.get("value")
            if isinstance(slot, str):
                slots[slot] = value
            if slot == "lead_status" and isinstance(value, str):
                summary.status_history.append((timestamp, value))
            elif slot == "lead_class" and isinstance(value, str):
                summary.class_history.append((timestamp, value))
        elif kind == "pause":
            summary.paused = True
        elif kind in ("resume", "restart"):
            summary.paused = False
            if kind == "restart":
                slots = {}
    summary.intents = sorted(intents)
    summary.actions = sorted(actions)
    summary.min_confidence = min(summary.confidences) if summary.confidences else None
    summary.lead = {name: slots.get(name) for name in LEAD_FIELDS}
    summary.lead_status = slots.get("lead_status") or INITIAL_STATUS
    summary.lead_class = slots.get("lead_class")
    score = slots.get("lead_score")
    summary.lead_score = float(score) if isinstance(score, (int, float)) else None
    summary.name = str(slots.get("customer_name") or whatsapp_name or "")
    summary.search_text = normalise(" ".join([summary.name, sender_id] + words))[:SEARCH_TEXT_CHARS]
    return summary


# --- transcript ---------------------------------------------------------------


@dataclass
class Entry:
    """One line of the transcript. `index` is the event's position in the tracker,
    which is how a message is flagged (stable: trackers only grow)."""

    kind: str  # user | bot | operator | action | slot | system
    index: int
    timestamp: float = 0.0
    text: str = ""
    intent: Optional[str] = None
    confidence: Optional[float] = None
    entities: List[Mapping[str, Any]] = field(default_factory=list)
    ranking: List[Tuple[Optional[str], float]] = field(default_factory=list)  # a nameless intent: None
    media: List[Dict[str, Any]] = field(default_factory=list)
    message_ids: List[str] = field(default_factory=list)
    buttons: List[str] = field(default_factory=list)
    name: str = ""  # action or slot name, or system event
    value: Any = None  # slot value
    policy: str = ""
    bill_facts: Dict[str, Any] = field(default_factory=dict)
    fallback: bool = False


def _media_of(event: Mapping[str, Any]) -> List[Dict[str, Any]]:
    found = []
    for message in evolution_messages(event):
        media = message.get("media") if isinstance(message.get("media"), Mapping) else None
        kind = message.get("kind") or (media or {}).get("kind")
        if not media and kind in (None, "text", "button_reply", "list_reply"):
            continue
        found.append({
            "message_id": message.get("message_id"),
            "kind": kind,
            "mimetype": (media or {}).get("mimetype"),
            "file_name": (media or {}).get("file_name"),
            "seconds": (media or {}).get("seconds"),
            "is_voice_note": bool((media or {}).get("is_voice_note")),
            # A voice note's text is its transcript; an image's, its caption.
            "text": message.get("text"),
            "transcript_unavailable": message.get("transcript_unavailable"),
            "location": message.get("location"),
        })
    return found


def _message_ids(event: Mapping[str, Any]) -> List[str]:
    candidates = [m.get("message_id") for m in evolution_messages(event)]
    ids = [i for i in candidates if isinstance(i, str)]
    if not ids and isinstance(event.get("message_id"), str) and event.get("input_channel") == "evolution":
        ids = [event["message_id"]]
    return ids


def _bot_message_ids(event: Mapping[str, Any]) -> List[str]:
    metadata = event.get("metadata") or {}
    ids = metadata.get("message_ids") or ([metadata["message_id"]] if metadata.get("message_id") else [])
    return [i for i in ids if isinstance(i, str)]


def _compact(text: str) -> str:
    return "".join(str(text or "").split())


def attach_sent_ids(entries: List[Entry], sent: Sequence[Mapping[str, Any]]) -> None:
    """Gives the assistant's messages the WhatsApp ids the channel kept for them
    (ChannelStore.sent_messages, oldest first), so their receipts can be shown.

    Matched in order by text: a long reply went out as several chunks, each a piece of
    it, and a reply with buttons went out with its numbered options appended."""
    # Each kept text compacted once, not once per reply it is compared with.
    texts = [_compact(record["text"]) if record.get("text") else None for record in sent]

    def matches(index: int, wanted: str) -> bool:
        text = texts[index]
        return text is not None and (text in wanted or wanted in text)

    position = 0
    for entry in entries:
        if entry.kind != "bot" or entry.message_ids or not entry.text:
            continue
        wanted = _compact(entry.text)
        start = next((i for i in range(position, len(sent)) if matches(i, wanted)), None)
        if start is None:
            continue
        covered, index = 0, start
        while index < len(sent) and matches(index, wanted) and covered < len(wanted):
            entry.message_ids.append(str(sent[index].get("id")))
            covered += len(texts[index] or "")  # never None here: matches() saw a text
            index += 1
        position = index


def is_operator_message(event: Mapping[str, Any]) -> bool:
    metadata = event.get("metadata") or {}
    return isinstance(metadata, Mapping) and bool((metadata.get("review") or {}).get("operator"))


def transcript(events: Sequence[Mapping[str, Any]]) -> List[Entry]:
    entries: List[Entry] = []
    last_media_entry: Optional[Entry] = None
    reading_bill = False
    values: Dict[str, Any] = {}
    for index, event in enumerate(events):
        kind = event.get("event")
        timestamp = float(event.get("timestamp") or 0.0)
        if kind == "user":
            name, confidence = user_intent(event)
            parse = event.get("parse_data") or {}
            ranking = [
                (r.get("name"), float(r.get("confidence") or 0.0))
                for r in (parse.get("intent_ranking") or [])[:3] if isinstance(r, Mapping)
            ]
            entry = Entry("user", index, timestamp, text=str(event.get("text") or ""), intent=name,
                          confidence=confidence, entities=list(parse.get("entities") or []), ranking=ranking,
                          media=_media_of(event), message_ids=_message_ids(event),
                          fallback=name == FALLBACK_INTENT)
            entries.append(entry)
            if entry.media:
                last_media_entry = entry
            reading_bill = False
        elif kind == "bot":
            data = event.get("data") or {}
            buttons = [
                str(b.get("title") or b.get("payload")) for b in data.get("buttons") or [] if isinstance(b, Mapping)
            ]
            entries.append(Entry("operator" if is_operator_message(event) else "bot", index, timestamp,
                                 text=str(event.get("text") or ""), buttons=buttons,
                                 message_ids=_bot_message_ids(event)))
        elif kind == "action":
            name = str(event.get("name") or "")
            reading_bill = name == BILL_READING_ACTION
            if name in SILENT_ACTIONS:
                continue
            confidence = event.get("confidence")
            entries.append(Entry("action", index, timestamp, name=name, policy=str(event.get("policy") or ""),
                                 confidence=float(confidence) if isinstance(confidence, (int, float)) else None,
                                 fallback=name in FALLBACK_ACTIONS))
        elif kind == "slot":
            name, value = str(event.get("name")), event.get("value")
            # What the bill reading found belongs beside the picture it came from.
            if reading_bill and last_media_entry is not None and value is not None and name in BILL_FACT_SLOTS:
                last_media_entry.bill_facts[name] = value
            # Forms set the same value several times in one turn: show changes only.
            if name in SILENT_SLOTS or (name in values and values[name] == value):
                continue
            values[name] = value
            entries.append(Entry("slot", index, timestamp, name=name, value=value))
        elif kind in ("pause", "resume", "restart", "session_started", "active_loop"):
            if kind == "restart":
                values = {}
            entries.append(Entry("system", index, timestamp, name=kind, value=event.get("name")))
    return entries


def slot_changes(entries: Iterable[Entry]) -> List[Entry]:
    """Slot values as they changed (the requested_slot bookkeeping left out)."""
    return [e for e in entries if e.kind == "slot" and e.name not in SILENT_SLOTS]


def last_status_before_human(events: Sequence[Mapping[str, Any]], human: str = LeadStatus.HUMAN.value) -> str:
    """The lead_status a conversation had before a person took over: where hand-back returns it."""
    previous = INITIAL_STATUS
    for event in events:
        if event.get("event") == "slot" and event.get("name") == "lead_status":
            value = event.get("value")
            if isinstance(value, str) and value != human:
                previous = value
    return previous


def current_slots(events: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    slots: Dict[str, Any] = {}
    for event in events:
        if event.get("event") == "slot":
            slots[str(event.get("name"))] = event.get("value")
        elif event.get("event") == "restart":
            slots = {}
    return slots
