"""Status events read leniently: delivery/read receipts (`messages.update`) and the
WhatsApp session state (`connection.update`).

An update that cannot be used is returned as None, never raised as a `PayloadError`.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from whatsapp.jids import valid_jid_text
from whatsapp.scalars import mapping_or_empty, message_id_or_none

__all__ = ["ReceiptUpdate", "parse_receipt", "ConnectionUpdate", "parse_connection_update"]

# --- messages.update ----------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptUpdate:
    message_id: str
    remote_jid: Optional[str]
    status: str
    from_me: Optional[bool]


# renderStatus.ts order: the proto's numeric status is the index.
_RECEIPT_STATUS_BY_NUMBER: Tuple[str, ...] = ("error", "pending", "sent", "delivered", "read", "played")
_RECEIPT_STATUS_BY_NAME: Dict[str, str] = {
    "ERROR": "error",
    "PENDING": "pending",
    "SERVER_ACK": "sent",
    "DELIVERY_ACK": "delivered",
    "READ": "read",
    "PLAYED": "played",
    # Evolution's fallback when it cannot render a status.
    "DELETED": "deleted",
    **{name.upper(): name for name in _RECEIPT_STATUS_BY_NUMBER},
}


def _receipt_status(value: Any) -> Optional[str]:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) == 1:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < len(_RECEIPT_STATUS_BY_NUMBER):
            return _RECEIPT_STATUS_BY_NUMBER[value]
        return None
    if isinstance(value, str) and len(value) <= 32:
        return _RECEIPT_STATUS_BY_NAME.get(value.strip().upper())
    return None


def parse_receipt(data: Mapping[str, Any]) -> Optional[ReceiptUpdate]:
    """A delivery/read receipt for one message; None when it cannot be used.

    Evolution's shape is flat ({keyId, remoteJid, fromMe, status}); Baileys'
    own {key, update: {status}} is read as well. `messageId` is Evolution's
    database id, not a WhatsApp id, so it is never used.
    """
    if not isinstance(data, Mapping):
        return None
    key = mapping_or_empty(data.get("key"))
    message_id = message_id_or_none(data.get("keyId")) or message_id_or_none(key.get("id"))
    raw_status = data.get("status")
    if raw_status is None:
        raw_status = mapping_or_empty(data.get("update")).get("status")
    status = _receipt_status(raw_status)
    if message_id is None or status is None:
        return None
    remote_jid = valid_jid_text(data.get("remoteJid")) or valid_jid_text(key.get("remoteJid"))
    from_me = data.get("fromMe", key.get("fromMe"))
    return ReceiptUpdate(
        message_id=message_id,
        remote_jid=remote_jid,
        status=status,
        from_me=from_me if isinstance(from_me, bool) else None,
    )


# --- connection.update --------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionUpdate:
    state: str
    status_reason: Optional[int]


_CONNECTION_STATE_SYNTAX = re.compile(r"[a-z][a-z_]{0,31}", re.ASCII)


def parse_connection_update(data: Mapping[str, Any]) -> Optional[ConnectionUpdate]:
    """WhatsApp session state ("open", "connecting", "close", "refused"...); None if unusable."""
    if not isinstance(data, Mapping):
        return None
    state = data.get("state")
    if not isinstance(state, str):
        return None
    state = state.strip().lower()
    if not _CONNECTION_STATE_SYNTAX.fullmatch(state):
        return None
    reason = data.get("statusReason")
    if isinstance(reason, str) and reason.isascii() and reason.isdigit() and len(reason) <= 4:
        reason = int(reason)
    if not (isinstance(reason, int) and not isinstance(reason, bool) and 0 <= reason <= 9999):
        reason = None
    return ConnectionUpdate(state=state, status_reason=reason)
