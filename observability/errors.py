"""Optional error reporting to Sentry (``SENTRY_DSN``); off when unset.

Events leave the machine, so ``scrub_event`` removes what must not: message text
(the leads' words), phone numbers, and secrets (API keys, tokens, Authorization
headers), in the exception values, breadcrumbs, request data and extras alike.
"""
from __future__ import annotations

import logging
import os
import re
from typing import Any, Dict, List, Optional

from observability.logs import REDACTED, redact, secrets_from_env

logger = logging.getLogger(__name__)

DSN_ENV = "SENTRY_DSN"
ENVIRONMENT_ENV = "SENTRY_ENVIRONMENT"
DEFAULT_ENVIRONMENT = "production"

# Keys whose values are a lead's own words or credentials: dropped whatever they hold.
_DROPPED_KEY = re.compile(
    r"(?i)^(text|body|data|message|messages|caption|transcript|conversation|push_?name|"
    r"cookies?|authorization|apikey|api_?key|token|.*_token|.*_key|.*secret.*|password|jwt.*)$"
)


def _scrub(value: Any, secrets: List[str]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {
            key: REDACTED if isinstance(key, str) and _DROPPED_KEY.match(key) else _scrub(item, secrets)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_scrub(item, secrets) for item in value]
    return value


def scrub_event(event: Dict[str, Any], secrets: Optional[List[str]] = None) -> Dict[str, Any]:
    """A copy of a Sentry event with message text, phone numbers and secrets removed.
    Exception messages and log messages are kept but redacted (they explain the error)."""
    known = secrets_from_env() if secrets is None else secrets
    scrubbed: Dict[str, Any] = {}
    for key, value in event.items():
        if key == "request" and isinstance(value, dict):
            # Only where the request went; its body and headers carry messages and keys.
            scrubbed[key] = {k: _scrub(v, known) for k, v in value.items() if k in ("method", "url")}
        elif key == "user":
            scrubbed[key] = {}
        elif key in ("logentry", "exception", "breadcrumbs", "threads"):
            # Structure kept (Sentry needs the frames), strings redacted, frame locals dropped.
            scrubbed[key] = _scrub(_without_locals(value), known)
        else:
            scrubbed[key] = _scrub(value, known)
    return scrubbed


def _without_locals(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_locals(v) for k, v in value.items() if k != "vars"}
    if isinstance(value, list):
        return [_without_locals(item) for item in value]
    return value


def before_send(event: Dict[str, Any], hint: Dict[str, Any]) -> Dict[str, Any]:
    return scrub_event(event)


def init_error_reporting(component: str, dsn: Optional[str] = None) -> bool:
    """Starts Sentry for this process when a DSN is configured; True when it did."""
    dsn = dsn if dsn is not None else os.environ.get(DSN_ENV, "").strip()
    if not dsn:
        return False
    import sentry_sdk  # installed with Rasa; imported only when used

    sentry_sdk.init(
        dsn=dsn,
        environment=os.environ.get(ENVIRONMENT_ENV) or DEFAULT_ENVIRONMENT,
        before_send=before_send,
        before_breadcrumb=lambda crumb, hint: _scrub(crumb, secrets_from_env()),
        send_default_pii=False,
        with_locals=False,  # frame variables hold message text and keys
        request_bodies="never",
        traces_sample_rate=0.0,
    )
    sentry_sdk.set_tag("component", component)
    logger.info("errors.reporting_enabled component=%s", component)
    return True
