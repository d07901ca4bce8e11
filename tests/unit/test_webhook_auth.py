"""verify_webhook: static bearer token, Evolution's HS256 JWT mode and the body HMAC, alone and combined."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any, Dict, Optional

import jwt
import pytest

from whatsapp.webhook_auth import (
    JWT_LEEWAY_SECONDS,
    SIGNATURE_HEADER,
    AuthError,
    body_signature,
    verify_webhook,
)

TOKEN = "static-webhook-token-0123456789abcdef"
JWT_KEY = "evolution-jwt-key-long-enough-for-hs256-0123456789"
HMAC_SECRET = "signing-proxy-secret-0123456789abcdef"
BODY = b'{"event":"messages.upsert","instance":"solarprime","data":{"text":"ol\xc3\xa1"}}'


def evolution_jwt(
    key: str = JWT_KEY,
    *,
    app: Optional[str] = "evolution",
    action: Optional[str] = "webhook",
    iat_offset: int = 0,
    lifetime: Optional[int] = 600,
    algorithm: str = "HS256",
) -> str:
    """A token as Evolution signs it: {iat, exp: iat + 600, app, action}, HS256."""
    now = int(time.time()) + iat_offset
    claims: Dict[str, Any] = {"iat": now}
    if lifetime is not None:
        claims["exp"] = now + lifetime
    if app is not None:
        claims["app"] = app
    if action is not None:
        claims["action"] = action
    return jwt.encode(claims, key, algorithm=algorithm)


def _b64(value: Dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def unsigned_jwt(header: Dict[str, Any], claims: Dict[str, Any], signature: str = "") -> str:
    return f"{_b64(header)}.{_b64(claims)}.{signature}"


def valid_claims() -> Dict[str, Any]:
    now = int(time.time())
    return {"iat": now, "exp": now + 600, "app": "evolution", "action": "webhook"}


def bearer(value: str) -> Dict[str, str]:
    return {"authorization": f"Bearer {value}"}


def signed(body: bytes = BODY, secret: str = HMAC_SECRET, *, prefix: str = "", upper: bool = False) -> Dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {SIGNATURE_HEADER: prefix + (digest.upper() if upper else digest)}


def verify(headers: Dict[str, str], body: bytes = BODY, **configured: Optional[str]) -> str:
    options = {"token": None, "jwt_key": None, "hmac_secret": None, **configured}
    return verify_webhook(headers, body, **options)


def rejection(headers: Dict[str, str], body: bytes = BODY, **configured: Optional[str]) -> str:
    with pytest.raises(AuthError) as caught:
        verify(headers, body, **configured)
    return str(caught.value)


# --- nothing configured: fail closed ----------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, bearer(TOKEN), signed(), {**bearer(evolution_jwt()), **signed()}],
    ids=["nothing", "bearer", "signature", "everything"],
)
def test_without_any_configured_method_every_request_is_rejected(headers):
    reason = rejection(headers)
    assert "configured" in reason


def test_empty_strings_count_as_not_configured():
    with pytest.raises(AuthError):
        verify(bearer(""), token="", jwt_key="", hmac_secret="")


# --- static bearer token ------------------------------------------------------------------------


def test_right_bearer_token_passes():
    assert verify(bearer(TOKEN), token=TOKEN) == "token"


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_bearer_scheme_is_case_insensitive(scheme):
    assert verify({"authorization": f"{scheme} {TOKEN}"}, token=TOKEN) == "token"


@pytest.mark.parametrize(
    "presented",
    [TOKEN + "x", TOKEN[:-1], TOKEN.upper(), "wrong", "ç-" + TOKEN],
    ids=["longer", "prefix", "other-case", "wrong", "non-ascii"],
)
def test_wrong_bearer_token_is_invalid(presented):
    assert rejection(bearer(presented), token=TOKEN) == "invalid credentials"


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": ""}, {"authorization": "Bearer"}, {"authorization": "Bearer    "}],
    ids=["no-header", "empty", "scheme-only", "blank-token"],
)
def test_missing_bearer_token_is_missing(headers):
    assert rejection(headers, token=TOKEN) == "missing credentials"


@pytest.mark.parametrize("header", [f"Basic {TOKEN}", TOKEN, f"Token {TOKEN}"])
def test_token_under_another_scheme_is_not_accepted(header):
    with pytest.raises(AuthError):
        verify({"authorization": header}, token=TOKEN)


def test_token_in_another_header_is_not_accepted():
    with pytest.raises(AuthError):
        verify({"x-api-key": TOKEN, "apikey": TOKEN}, token=TOKEN)


# --- Evolution's JWT mode -------------------------------------------------------------------------


def test_valid_evolution_jwt_passes():
    assert verify(bearer(evolution_jwt()), jwt_key=JWT_KEY) == "jwt"


def test_jwt_expired_within_leeway_still_passes():
    # Issued 10 min ago with the 600 s lifetime: expired a few seconds ago, inside the leeway.
    token = evolution_jwt(iat_offset=-(600 + JWT_LEEWAY_SECONDS // 3), lifetime=600)
    assert verify(bearer(token), jwt_key=JWT_KEY) == "jwt"


def test_jwt_expired_beyond_leeway_is_rejected():
    token = evolution_jwt(iat_offset=-(600 + JWT_LEEWAY_SECONDS + 60), lifetime=600)
    assert rejection(bearer(token), jwt_key=JWT_KEY) == "invalid credentials"


def test_jwt_signed_with_another_key_is_rejected():
    token = evolution_jwt(key="another-key-that-is-also-long-enough-0123456789")
    assert rejection(bearer(token), jwt_key=JWT_KEY) == "invalid credentials"


@pytest.mark.parametrize("app", ["evolution-api", "Evolution", "", None])
def test_jwt_for_another_app_is_rejected(app):
    assert rejection(bearer(evolution_jwt(app=app)), jwt_key=JWT_KEY) == "invalid credentials"


@pytest.mark.parametrize("action", ["websocket", "Webhook", "", None])
def test_jwt_for_another_action_is_rejected(action):
    assert rejection(bearer(evolution_jwt(action=action)), jwt_key=JWT_KEY) == "invalid credentials"


def test_jwt_without_expiry_is_rejected():
    token = evolution_jwt(lifetime=None)
    assert "exp" not in jwt.decode(token, JWT_KEY, algorithms=["HS256"])
    assert rejection(bearer(token), jwt_key=JWT_KEY) == "invalid credentials"


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_unsigned_alg_none_jwt_is_rejected(alg):
    token = unsigned_jwt({"alg": alg, "typ": "JWT"}, valid_claims())
    assert rejection(bearer(token), jwt_key=JWT_KEY) == "invalid credentials"


def test_rs256_header_signed_with_the_key_as_hmac_secret_is_rejected():
    # The classic confusion attack: header says RS256, signature is an HMAC with the shared key.
    header = _b64({"alg": "RS256", "typ": "JWT"})
    payload = _b64(valid_claims())
    mac = hmac.new(JWT_KEY.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    assert rejection(bearer(token), jwt_key=JWT_KEY) == "invalid credentials"


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_jwt_with_another_hmac_algorithm_is_rejected():
    # Right key and claims, but HS512: only HS256 (what Evolution signs with) is allowed.
    token = evolution_jwt(algorithm="HS512")
    assert rejection(bearer(token), jwt_key=JWT_KEY) == "invalid credentials"


@pytest.mark.parametrize("garbage", ["not-a-jwt", "a.b.c", "....", "eyJhbGciOiJIUzI1NiJ9"])
def test_malformed_jwt_is_rejected_not_crashing(garbage):
    assert rejection(bearer(garbage), jwt_key=JWT_KEY) == "invalid credentials"


def test_tampered_jwt_claims_are_rejected():
    token = evolution_jwt()
    header, _, signature = token.split(".")
    forged = {**valid_claims(), "exp": int(time.time()) + 10**8}
    assert rejection(bearer(f"{header}.{_b64(forged)}.{signature}"), jwt_key=JWT_KEY) == "invalid credentials"


def test_missing_jwt_is_missing():
    assert rejection({}, jwt_key=JWT_KEY) == "missing credentials"


# --- HMAC signature of the raw body ------------------------------------------------------------------


def test_hex_signature_of_the_raw_body_passes():
    assert verify(signed(), hmac_secret=HMAC_SECRET) == "hmac"


def test_body_signature_is_hex_hmac_sha256():
    expected = hmac.new(HMAC_SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert body_signature(HMAC_SECRET, BODY) == expected


def test_sha256_prefixed_signature_passes():
    assert verify(signed(prefix="sha256="), hmac_secret=HMAC_SECRET) == "hmac"


def test_uppercase_hex_signature_passes():
    assert verify(signed(upper=True), hmac_secret=HMAC_SECRET) == "hmac"
    assert verify(signed(upper=True, prefix="SHA256="), hmac_secret=HMAC_SECRET) == "hmac"


def test_signature_with_surrounding_whitespace_passes():
    headers = {SIGNATURE_HEADER: "  " + body_signature(HMAC_SECRET, BODY) + " "}
    assert verify(headers, hmac_secret=HMAC_SECRET) == "hmac"


@pytest.mark.parametrize(
    "tampered",
    [BODY + b" ", BODY.replace(b"solarprime", b"solarprim3"), b"", BODY[:-1]],
    ids=["trailing-space", "changed-byte", "empty", "truncated"],
)
def test_signature_over_another_body_is_rejected(tampered):
    assert rejection(signed(BODY), tampered, hmac_secret=HMAC_SECRET) == "invalid credentials"


def test_signature_made_with_another_secret_is_rejected():
    headers = signed(secret="some-other-secret")
    assert rejection(headers, hmac_secret=HMAC_SECRET) == "invalid credentials"


@pytest.mark.parametrize(
    "value",
    ["", "sha256=", "zz" * 32, "sha1=" + hashlib.sha1(BODY).hexdigest()],
    ids=["empty", "prefix-only", "not-hex", "sha1"],
)
def test_empty_or_malformed_signature_is_rejected(value):
    with pytest.raises(AuthError):
        verify({SIGNATURE_HEADER: value}, hmac_secret=HMAC_SECRET)


def test_non_ascii_signature_is_rejected_not_crashing():
    # Header values can carry any latin-1 byte; a comparison must not blow up with TypeError.
    value = "é" + body_signature(HMAC_SECRET, BODY)[1:]
    assert rejection({SIGNATURE_HEADER: value}, hmac_secret=HMAC_SECRET) == "invalid credentials"


def test_missing_signature_is_missing():
    assert rejection({}, hmac_secret=HMAC_SECRET) == "missing credentials"


# --- combined ---------------------------------------------------------------------------------------

ALL = {"token": TOKEN, "jwt_key": JWT_KEY, "hmac_secret": HMAC_SECRET}


def test_with_all_methods_each_one_alone_vouches():
    assert verify(bearer(TOKEN), **ALL) == "token"
    assert verify(bearer(evolution_jwt()), **ALL) == "jwt"
    assert verify(signed(), **ALL) == "hmac"


def test_token_and_jwt_share_the_bearer_header():
    # A JWT in Authorization is not the static token, but the JWT check still gets its turn.
    assert verify(bearer(evolution_jwt()), token=TOKEN, jwt_key=JWT_KEY) == "jwt"
    assert verify(bearer(TOKEN), token=TOKEN, jwt_key=JWT_KEY) == "token"


def test_wrong_bearer_with_a_valid_signature_passes_by_hmac():
    assert verify({**bearer("wrong"), **signed()}, **ALL) == "hmac"


def test_valid_bearer_with_a_wrong_signature_passes_by_token():
    assert verify({**bearer(TOKEN), **signed(secret="wrong")}, **ALL) == "token"


def test_everything_wrong_is_invalid():
    headers = {**bearer(evolution_jwt(key="wrong-key-long-enough-for-hs256-000000")), **signed(secret="wrong")}
    assert rejection(headers, **ALL) == "invalid credentials"


def test_nothing_presented_is_missing_with_all_methods():
    assert rejection({"content-type": "application/json"}, **ALL) == "missing credentials"


def test_a_method_that_is_not_configured_does_not_vouch():
    assert rejection(bearer(TOKEN), jwt_key=JWT_KEY, hmac_secret=HMAC_SECRET) == "invalid credentials"
    assert rejection(bearer(evolution_jwt()), token=TOKEN, hmac_secret=HMAC_SECRET) == "invalid credentials"
    assert rejection(signed(), token=TOKEN, jwt_key=JWT_KEY) == "invalid credentials"


def test_jwt_signed_with_the_static_token_as_key_is_not_accepted():
    # The static token is not a JWT key: a JWT signed with it must not pass as either.
    token = evolution_jwt(key=TOKEN)
    assert rejection(bearer(token), token=TOKEN, jwt_key=JWT_KEY) == "invalid credentials"


# --- no secrets in error messages --------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        bearer("presented-secret-value-123"),
        bearer(evolution_jwt(key="wrong-key-long-enough-for-hs256-000000")),
        bearer(evolution_jwt(app="other")),
        {SIGNATURE_HEADER: "deadbeef" * 8},
        {**bearer("presented-secret-value-123"), SIGNATURE_HEADER: "sha256=" + "ab" * 32},
    ],
    ids=["nothing", "wrong-token", "wrong-jwt-key", "wrong-app", "wrong-signature", "both-wrong"],
)
def test_error_messages_never_contain_secrets_or_the_presented_credentials(headers):
    reason = rejection(headers, **ALL)
    presented = [value.partition(" ")[2] or value for value in headers.values()]
    leaks = [TOKEN, JWT_KEY, HMAC_SECRET, body_signature(HMAC_SECRET, BODY)] + presented
    for secret in leaks:
        assert secret not in reason
    assert reason in {"missing credentials", "invalid credentials"}
