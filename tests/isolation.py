"""Tests never reach a service the user configured.

``make`` includes and exports the user's ``.env``, so without this a test process would inherit a
real Evolution URL and key, a sales team's WhatsApp number, a Gemini key, a production Redis…
Every variable that points at or authenticates an outside service is removed before any test
runs (``tests/conftest.py`` calls ``scrub``; ``scripts/test.sh`` unsets them for the Rasa
commands too). Tests that need a service start a fake one on loopback and pass its address
explicitly.

    python -m tests.isolation     # prints the `unset …` line scripts/test.sh evaluates
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable, MutableMapping

__all__ = ["SERVICE_PREFIXES", "SERVICE_VARIABLES", "scrub", "service_variables"]

# Whole families: anything of theirs names, addresses or authenticates an outside service.
SERVICE_PREFIXES = (
    "EVOLUTION_", "GEMINI_", "OPENAI_", "TRANSCRIPTION_", "KOMMO_", "LEAD_WEBHOOK_", "GOOGLE_",
    "SENTRY_", "REDIS_",
)
# Single variables that do the same.
SERVICE_VARIABLES = frozenset({
    "ACTION_SERVER_URL", "RASA_URL", "RASA_AUTH_TOKEN", "WEBHOOK_HMAC_SECRET", "REVIEW_TOKEN",
    "SALES_WHATSAPP_NUMBER", "HANDOFF_NOTIFY_TO", "WEEKLY_REPORT_TO",
})


def service_variables(names: Iterable[str]) -> list[str]:
    return sorted(n for n in names if n in SERVICE_VARIABLES or n.startswith(SERVICE_PREFIXES))


def scrub(environ: MutableMapping[str, str]) -> list[str]:
    """Removes every outside-service variable from ``environ``; returns their names."""
    removed = service_variables(environ)
    for name in removed:
        del environ[name]
    return removed


if __name__ == "__main__":
    names = service_variables(os.environ)
    sys.stdout.write(f"unset {' '.join(names)}\n" if names else ":\n")
