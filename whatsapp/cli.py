"""`python -m connectors.evolution setup-webhook --url PUBLIC_URL`

Points the Evolution instance's webhook at this assistant, with the events the
channel uses and the authentication header it expects, then prints what
Evolution stored (secrets masked).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any, Dict, List, Optional

from whatsapp.client import EvolutionClient, EvolutionError, EvolutionUnavailable
from whatsapp.settings import EvolutionSettings, load_settings

WEBHOOK_PATH = "/webhooks/evolution/webhook"
# The contacts, chats and group-participants events may show a contact's LID beside its
# phone: the channel learns the LID -> phone map from them (connectors/evolution/channel.py).
EVENTS = [
    "MESSAGES_UPSERT", "MESSAGES_UPDATE", "MESSAGES_EDITED", "CONNECTION_UPDATE",
    "CONTACTS_UPSERT", "CONTACTS_UPDATE", "CHATS_UPSERT", "GROUP_PARTICIPANTS_UPDATE",
]
SECRET_HEADERS = {"authorization", "jwt_key"}


def webhook_headers(settings: EvolutionSettings) -> Dict[str, str]:
    """The header Evolution must send: its own JWT mode first, else the static token."""
    if settings.webhook_jwt_key:
        return {"jwt_key": settings.webhook_jwt_key}
    if settings.webhook_token:
        return {"Authorization": f"Bearer {settings.webhook_token}"}
    return {}


def webhook_url(public_url: str) -> str:
    public_url = public_url.rstrip("/")
    return public_url if public_url.endswith(WEBHOOK_PATH) else public_url + WEBHOOK_PATH


def masked(stored: Any) -> Any:
    if not isinstance(stored, dict):
        return stored
    headers = stored.get("headers")
    if isinstance(headers, dict):
        stored = {**stored, "headers": {k: ("***" if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}}
    return stored


async def setup_webhook(settings: EvolutionSettings, public_url: str) -> Optional[Dict[str, Any]]:
    async with EvolutionClient(settings.evolution_url, settings.api_key or "", settings.instance) as client:
        await client.set_webhook(
            webhook_url(public_url), events=EVENTS, headers=webhook_headers(settings), base64=True
        )
        return await client.find_webhook()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connectors.evolution", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    setup = commands.add_parser("setup-webhook", help="configure the instance's webhook")
    setup.add_argument("--url", required=True, help="public base URL of the Rasa server")
    args = parser.parse_args(argv)

    settings = load_settings()
    if not settings.api_key:
        print("error: set EVOLUTION_API_KEY", file=sys.stderr)
        return 2
    if not (settings.webhook_jwt_key or settings.webhook_token):
        print(
            "error: set EVOLUTION_WEBHOOK_JWT_KEY or EVOLUTION_WEBHOOK_TOKEN: the channel refuses "
            "unauthenticated webhooks (WEBHOOK_HMAC_SECRET needs a signing proxy Evolution lacks)",
            file=sys.stderr,
        )
        return 2
    try:
        stored = asyncio.run(setup_webhook(settings, args.url))
    except (EvolutionError, EvolutionUnavailable) as error:
        print(f"error: Evolution refused or is unreachable: {error}", file=sys.stderr)
        return 1
    except ValueError as error:
        # A malformed --url or EVOLUTION_URL: the client refuses it before any request.
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(masked(stored), indent=2, ensure_ascii=False))
    return 0
