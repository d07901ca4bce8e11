"""Opaque conversation references for URLs and for viewers.

A conversation id is the lead's phone number, so a URL carrying it would put the number in
the browser history, proxies' logs and over a viewer's shoulder. Pages link to
`/conversations/c<20 hex>` instead: an HMAC of the id under a random key kept in Redis
(`<prefix>:review:ref_key`, made once), so references stay stable across restarts and
cannot be computed from a phone number without the key. The UI maps them back through
the conversation index.
"""
from __future__ import annotations

from typing import Dict, Optional

from redis import asyncio as aioredis

from sdr.conversation_refs import REF_PATTERN, conversation_ref, load_ref_key

__all__ = ["ConversationRefs", "REF_PATTERN"]


class ConversationRefs:
    def __init__(self, key: bytes) -> None:
        self.key = key
        self._back: Dict[str, str] = {}
        self._known = 0

    @classmethod
    async def load(cls, client: aioredis.Redis, prefix: str) -> ConversationRefs:
        return cls(await load_ref_key(client, prefix))

    def ref(self, sender_id: str) -> str:
        found = conversation_ref(self.key, sender_id)
        self._back[found] = sender_id
        return found

    def path(self, sender_id: str) -> str:
        return "/conversations/" + self.ref(sender_id)

    def resolve(self, ref: str, senders: list[str]) -> Optional[str]:
        """The conversation a reference names; `senders` (the index's ids) fill the map when
        it has none for it, so a new conversation is found as soon as the index has it."""
        if not REF_PATTERN.match(ref):
            return None
        if ref not in self._back and len(senders) != self._known:
            for sender in senders:
                self.ref(sender)
            self._known = len(senders)
        return self._back.get(ref)
