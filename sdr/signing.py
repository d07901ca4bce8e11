"""Shared secrets, compared and signed one way everywhere (webhooks in and out, tokens).

Comparisons are constant-time also in the length: both sides are hashed first, so a wrong
secret of another length takes as long as one of the right length.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Optional

__all__ = ["SIGNATURE_PREFIX", "body_signature", "secrets_match", "signature_header_value"]

SIGNATURE_PREFIX = "sha256="


def secrets_match(presented: Optional[str], expected: Optional[str]) -> bool:
    """Fail-closed: with nothing configured, or nothing presented, nothing matches."""
    if not expected or not presented:
        return False
    return hmac.compare_digest(
        hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest(),
        hashlib.sha256(expected.encode("utf-8", "surrogateescape")).digest(),
    )


def body_signature(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of a raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_header_value(secret: str, body: bytes) -> str:
    """``sha256=<hex>``, the form GitHub made common (``X-Signature-256``, ``X-Hub-Signature-256``)."""
    return SIGNATURE_PREFIX + body_signature(secret, body)
