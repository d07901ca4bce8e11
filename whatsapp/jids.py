"""WhatsApp JIDs as Evolution's webhooks carry them: syntax, kind and the contact they name.

A JID is ``user[:device]@server``; the device suffix is accepted and dropped. Phone JIDs
(``@s.whatsapp.net``, ``@c.us``, ``@hosted``) and LIDs (``@lid``, ``@hosted.lid``) are the
chats the assistant answers; groups, broadcasts, status and newsletters are told apart so
they can be ignored.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, Optional

from whatsapp.scalars import MAX_ID_LENGTH, PayloadError

__all__ = [
    "Jid",
    "jid_or_none",
    "valid_jid_text",
    "required_jid",
    "chat_ignore_reason",
]

_JID_SYNTAX = re.compile(
    r"(?P<user>[0-9A-Za-z][0-9A-Za-z._-]{0,99})(?::(?P<device>[0-9]{1,5}))?@(?P<server>[a-z][a-z0-9.]{0,31})",
    re.ASCII,
)
_PHONE_SERVERS = frozenset({"s.whatsapp.net", "c.us", "hosted"})
_LID_SERVERS = frozenset({"lid", "hosted.lid"})
_USER_SYNTAX_BY_SERVER: Dict[str, re.Pattern[str]] = {
    "s.whatsapp.net": re.compile(r"[0-9]{5,20}", re.ASCII),
    "c.us": re.compile(r"[0-9]{5,20}", re.ASCII),
    "hosted": re.compile(r"[0-9]{5,20}", re.ASCII),
    "lid": re.compile(r"[0-9]{5,25}", re.ASCII),
    "hosted.lid": re.compile(r"[0-9]{5,25}", re.ASCII),
    "g.us": re.compile(r"[0-9][0-9-]{4,63}", re.ASCII),
    "newsletter": re.compile(r"[0-9]{5,25}", re.ASCII),
}


@dataclass(frozen=True)
class Jid:
    user: str
    server: str

    @property
    def is_phone(self) -> bool:
        return self.server in _PHONE_SERVERS

    @property
    def is_lid(self) -> bool:
        return self.server in _LID_SERVERS


def jid_or_none(value: Any) -> Optional[Jid]:
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH:
        return None
    match = _JID_SYNTAX.fullmatch(value)
    if match is None:
        return None
    user, server = match.group("user"), match.group("server")
    user_syntax = _USER_SYNTAX_BY_SERVER.get(server)
    if user_syntax is not None and not user_syntax.fullmatch(user):
        return None
    return Jid(user=user, server=server)


def valid_jid_text(value: Any) -> Optional[str]:
    return value if jid_or_none(value) is not None else None


def required_jid(value: Any, what: str) -> Jid:
    if value is None:
        raise PayloadError(f"{what} is missing")
    if not isinstance(value, str):
        raise PayloadError(f"{what} is not a string")
    if len(value) > MAX_ID_LENGTH:
        raise PayloadError(f"{what} is too long")
    jid = jid_or_none(value)
    if jid is None:
        raise PayloadError(f"{what} is not a valid JID")
    return jid


def chat_ignore_reason(chat: Jid) -> Optional[str]:
    if chat.server == "g.us":
        return "group"
    if chat.server == "broadcast":
        return "status" if chat.user == "status" else "broadcast"
    if chat.server == "newsletter":
        return "newsletter"
    if not (chat.is_phone or chat.is_lid):
        return "unsupported_chat"
    return None
