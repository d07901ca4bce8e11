"""Who wrote: the contact's phone number and LID, from whichever key fields carry them.

WhatsApp moved contacts to LIDs (``100000000000001@lid``), and Evolution/Baileys versions put the
phone in different places: ``key.remoteJidAlt`` (Baileys 7), ``key.senderPn`` (Evolution 2.3.x
on some Baileys 6 builds), ``participantPn``/``participantAlt``; a phone ``remoteJid`` may come
with ``key.senderLid``. The conversation id is the phone's digits whenever any field carries it,
else the LID's (docs/evolution-api-v2.md §2.3); a device suffix ("…:24@…") is never part of either.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Optional

from whatsapp.jids import Jid, jid_or_none

__all__ = ["ContactIdentity", "PHONE_FIELDS", "LID_FIELDS", "identify", "pairs_in_contacts"]

# Key fields that may carry the contact's phone JID, in the order they are trusted.
PHONE_FIELDS = ("remoteJidAlt", "senderPn", "participantPn", "participantAlt")
# Key fields that may carry the contact's LID beside a phone remoteJid.
LID_FIELDS = ("remoteJidAlt", "senderLid", "participantLid", "participantAlt")


@dataclass(frozen=True)
class ContactIdentity:
    """A contact's phone digits and LID digits, each None when no field carried it."""

    phone: Optional[str]
    lid: Optional[str]

    @property
    def conversation_id(self) -> str:
        found = self.phone or self.lid
        assert found is not None  # identify() always knows one of them
        return found

    @property
    def both(self) -> bool:
        return self.phone is not None and self.lid is not None


def _first(key: Mapping[str, Any], fields: Iterable[str], *, phone: bool, own: Optional[Jid]) -> Optional[str]:
    for field in fields:
        jid = jid_or_none(key.get(field))
        if jid is None or (jid.is_phone if phone else jid.is_lid) is False:
            continue
        # For our own messages an alternative may be the business number's other form (P8).
        if own is not None and jid.user == own.user:
            continue
        return jid.user
    return None


def identify(chat: Jid, key: Mapping[str, Any], own: Optional[Jid] = None) -> ContactIdentity:
    """The contact of a 1:1 chat ``chat`` (key.remoteJid), with what the other key fields add."""
    if chat.is_phone:
        return ContactIdentity(phone=chat.user, lid=_first(key, LID_FIELDS, phone=False, own=own))
    if chat.is_lid:
        return ContactIdentity(phone=_first(key, PHONE_FIELDS, phone=True, own=own), lid=chat.user)
    # Groups, broadcasts and the like are ignored before anyone asks who wrote.
    raise ValueError(f"not a 1:1 chat: @{chat.server}")


def pairs_in_contacts(data: Any) -> list[tuple[str, str]]:
    """(lid, phone) pairs an event shows together: contacts.upsert/update and chats.upsert
    entries (``remoteJid`` with ``remoteJidAlt``, ``lid``, ``senderPn`` or ``phoneNumber``,
    either way round) and group-participants.update participants (``id`` with ``phoneNumber``).
    Anything else is skipped: these events only ever add to what is known."""
    entries: list[Any]
    if isinstance(data, Mapping) and isinstance(data.get("participants"), list):
        entries = data["participants"]
    elif isinstance(data, list):
        entries = data
    else:
        entries = [data]
    found: list[tuple[str, str]] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        ids = [entry.get(field) for field in ("id", "remoteJid", "remoteJidAlt", "lid", "senderPn",
                                               "phoneNumber", "jid")]
        phones = [jid.user for jid in map(jid_or_none, ids) if jid is not None and jid.is_phone]
        lids = [jid.user for jid in map(jid_or_none, ids) if jid is not None and jid.is_lid]
        if len(set(phones)) == 1 and len(set(lids)) == 1:
            found.append((lids[0], phones[0]))
    return found
