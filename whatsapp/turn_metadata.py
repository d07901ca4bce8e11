"""What the Evolution channel tells the rest of the assistant about a turn.

A turn is one user message made of a burst of WhatsApp messages. The channel writes what it
knows of them into the user message's metadata under ``"evolution"`` (``build``, the one
writer); the actions (media, bills, voice notes) and the review UI read it back through
``TurnMetadata.read`` (the one reader), which never trusts the shape: a tracker may hold
metadata written by an older version, or none at all.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = ["METADATA_KEY", "MESSAGE_FIELDS", "TurnMetadata", "build"]

# The key under the user message's metadata; also the channel's name.
METADATA_KEY = "evolution"
# What is kept of each WhatsApp message of the burst.
MESSAGE_FIELDS = (
    "message_id", "kind", "message_type", "media", "location", "contacts", "timestamp",
    "quoted_message_id", "text", "transcript_unavailable", "referral",
)


def build(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The metadata of a turn made of ``records`` (the channel's inbox records, oldest first)."""
    last = records[-1]
    return {
        METADATA_KEY: {
            "instance": last.get("instance"),
            "reply_jid": last["reply_jid"],
            "push_name": last.get("push_name"),
            "message_ids": [r["message_id"] for r in records],
            "request_ids": [r.get("request_id") for r in records],
            "messages": [{k: r.get(k) for k in MESSAGE_FIELDS} for r in records],
        },
        # Actions log it (observability.logs), so one id follows the turn end to end.
        "request_id": last.get("request_id"),
    }


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True)
class TurnMetadata:
    """The channel's view of one turn, read defensively from a user message's metadata."""

    reply_jid: str = ""
    instance: Optional[str] = None
    push_name: Optional[str] = None
    messages: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

    @classmethod
    def read(cls, metadata: Any) -> TurnMetadata:
        """From a user message's (or a tracker user event's) ``metadata``; empty when absent."""
        channel = metadata.get(METADATA_KEY) if isinstance(metadata, Mapping) else None
        if not isinstance(channel, Mapping):
            return cls()
        messages = channel.get("messages")
        return cls(
            reply_jid=_text(channel.get("reply_jid")) or "",
            instance=_text(channel.get("instance")),
            push_name=_text(channel.get("push_name")),
            messages=tuple(m for m in messages if isinstance(m, Mapping)) if isinstance(messages, list) else (),
        )

    @classmethod
    def of(cls, message: Optional[Mapping[str, Any]]) -> TurnMetadata:
        """From a latest_message / user event dict (its ``metadata`` key)."""
        return cls.read((message or {}).get("metadata"))

    def media(self, kinds: Sequence[str]) -> list[Mapping[str, Any]]:
        """The messages of ``kinds`` ("image", "document", "audio") that carry media."""
        return [m for m in self.messages if m.get("kind") in kinds and m.get("media")]

    @property
    def referral(self) -> Optional[Mapping[str, Any]]:
        """The click-to-WhatsApp ad one of this turn's messages came from (whatsapp/referral.py)."""
        return next((m["referral"] for m in self.messages if isinstance(m.get("referral"), Mapping)), None)

    @property
    def transcript_unavailable(self) -> Optional[str]:
        """Why a voice note of this turn could not be transcribed, if one could not."""
        return next((m["transcript_unavailable"] for m in self.messages if m.get("transcript_unavailable")), None)
