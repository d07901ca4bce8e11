"""Opaque references to a conversation, for links that must not carry the lead's phone.

A conversation id is the lead's phone number; a link to it would put the number in browser
histories, proxies' logs and calendar events. A reference is an HMAC of the id under a random
key kept in Redis (``<prefix>:review:ref_key``, made once), so it stays stable across restarts
and cannot be computed from a phone number without the key. The review UI maps it back.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

__all__ = ["REF_PATTERN", "conversation_ref", "load_ref_key", "review_path"]

REF_PATTERN = re.compile(r"^c[0-9a-f]{20}$")
REF_HEX_DIGITS = 20


def ref_key_name(prefix: str) -> str:
    return f"{prefix}:review:ref_key"


def conversation_ref(key: bytes, sender_id: str) -> str:
    return "c" + hmac.new(key, sender_id.encode("utf-8"), hashlib.sha256).hexdigest()[:REF_HEX_DIGITS]


def review_path(key: bytes, sender_id: str) -> str:
    """The review UI's page of the conversation."""
    return "/conversations/" + conversation_ref(key, sender_id)


async def load_ref_key(client: Any, prefix: str) -> bytes:
    """The deployment's key (a ``redis.asyncio`` client with ``decode_responses=True``), made on first use."""
    name = ref_key_name(prefix)
    await client.set(name, secrets.token_hex(32), nx=True)
    return bytes.fromhex(await client.get(name))
