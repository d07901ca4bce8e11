"""Rasa input and output channel for WhatsApp through Evolution API v2.

Register it in credentials.yml as ``connectors.evolution.EvolutionInput``.

- channel.py: the webhook (authenticate, validate, de-duplicate, record, answer) and its routes;
- worker.py: turns, run after a conversation's burst window, never in the webhook;
- output.py: replies to WhatsApp, and the outbox that holds them while Evolution is down;
- health.py: readiness and detailed health of this Rasa server;
- ``python -m connectors.evolution setup-webhook`` (__main__.py, whatsapp/cli.py).

The names below are imported on first use (PEP 562), so the command line does not pay for
importing Rasa and Sanic.
"""
from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "EvolutionInput",
    "EvolutionOutput",
    "TurnWorker",
    "deliver",
    "drain_outbox",
    "inbox_record",
    "read_receipt_jid",
    "user_text_for",
    "webhook_outcome",
]

_HOMES = {
    "EvolutionInput": "channel", "inbox_record": "channel", "webhook_outcome": "channel",
    "EvolutionOutput": "output", "deliver": "output", "drain_outbox": "output",
    "TurnWorker": "worker", "read_receipt_jid": "worker", "user_text_for": "worker",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
