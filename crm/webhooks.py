"""Outbound lead webhooks for n8n, Make, Zapier or an in-house system: signed JSON, one POST per event.

The body is the event's JSON (`LeadEvent.body`); ``X-Signature-256: sha256=<hex HMAC-SHA256 of
the body>`` with ``LEAD_WEBHOOK_SECRET`` lets the receiver check it came from us, and
``X-Event-Id`` lets it drop a redelivery (the outbox delivers at least once: a receiver that
answered 200 after a timeout on our side sees the event again, with the same id).
"""
from __future__ import annotations

import json
from typing import Dict

import httpx

from crm.delivery import DeliveryError
from crm.events import LeadEvent
from sdr.signing import signature_header_value

__all__ = ["SIGNATURE_HEADER", "WebhookSender", "signed_request"]

SIGNATURE_HEADER = "X-Signature-256"
USER_AGENT = "ai-sdr-lead-webhooks/1"


def signed_request(event: LeadEvent, secret: str) -> tuple[bytes, Dict[str, str]]:
    body = json.dumps(event.body(), ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Event-Id": event.id,
        "X-Event-Type": event.type,
        SIGNATURE_HEADER: signature_header_value(secret, body),
    }
    return body, headers


class WebhookSender:
    def __init__(self, client: httpx.AsyncClient, url: str, secret: str) -> None:
        self.client = client
        self.url = url
        self.secret = secret

    async def __call__(self, event: LeadEvent) -> None:
        body, headers = signed_request(event, self.secret)
        try:
            answer = await self.client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException:
            raise DeliveryError("timeout") from None
        except httpx.HTTPError as error:
            raise DeliveryError(f"unreachable ({type(error).__name__})") from None
        if answer.status_code >= 300:
            # Any refusal is retried: a receiver answering 404 or 500 is usually being fixed or
            # redeployed; the dead letter catches the one that never comes back.
            retry_after = answer.headers.get("retry-after", "")
            raise DeliveryError(
                f"HTTP {answer.status_code}", retry_after=float(retry_after) if retry_after.isdigit() else 0.0
            )
