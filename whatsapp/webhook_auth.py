"""Authentication of Evolution's webhook calls, fail-closed.

Three ways, any of those configured may vouch for a request:
- a static secret sent as `Authorization: Bearer <token>` (set through the webhook's `headers`);
- Evolution's `jwt_key` mode: an HS256 JWT in `Authorization: Bearer`, with
  `app=evolution`, `action=webhook` and an expiry;
- `X-Webhook-Signature`: hex HMAC-SHA256 of the raw body (for a signing proxy).
Comparisons are constant-time.
"""
from __future__ import annotations

import hmac
from typing import Mapping, Optional

import jwt

from sdr.signing import body_signature, secrets_match

JWT_APP = "evolution"
JWT_ACTION = "webhook"
JWT_LEEWAY_SECONDS = 30
SIGNATURE_HEADER = "x-webhook-signature"


class AuthError(Exception):
    """Rejected: str() is a short reason, safe to log (never the presented secret)."""


def _bearer(headers: Mapping[str, str]) -> Optional[str]:
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _jwt_valid(presented: str, key: str) -> bool:
    try:
        claims = jwt.decode(
            presented,
            key,
            algorithms=["HS256"],
            options={"require": ["exp"]},
            leeway=JWT_LEEWAY_SECONDS,
        )
    except jwt.PyJWTError:
        return False
    return claims.get("app") == JWT_APP and claims.get("action") == JWT_ACTION


def _signature_valid(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    presented = (headers.get(SIGNATURE_HEADER) or "").strip().lower()
    presented = presented.removeprefix("sha256=")
    # Bytes: compare_digest raises TypeError on non-ASCII str, and header values may hold any latin-1 char.
    return bool(presented) and hmac.compare_digest(presented.encode(), body_signature(secret, body).encode())


def verify_webhook(
    headers: Mapping[str, str],
    body: bytes,
    *,
    token: Optional[str],
    jwt_key: Optional[str],
    hmac_secret: Optional[str],
) -> str:
    """Returns the method that vouched for the request; raises AuthError otherwise.

    `headers` must have lower-case names.
    """
    if not (token or jwt_key or hmac_secret):
        raise AuthError("no webhook authentication configured")
    bearer = _bearer(headers)
    if bearer and token and secrets_match(bearer, token):
        return "token"
    if bearer and jwt_key and _jwt_valid(bearer, jwt_key):
        return "jwt"
    if hmac_secret and _signature_valid(headers, body, hmac_secret):
        return "hmac"
    if bearer is None and SIGNATURE_HEADER not in headers:
        raise AuthError("missing credentials")
    raise AuthError("invalid credentials")
