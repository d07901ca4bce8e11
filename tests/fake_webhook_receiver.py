"""A receiver of outbound lead webhooks (n8n, Make, Zapier stand-in): records what arrives,
checks the signature as a receiver should, and can refuse or disappear on demand."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from aiohttp import web

from sdr.signing import signature_header_value
from tests.fake_server import BackgroundServer

__all__ = ["FakeWebhookReceiver", "ReceivedWebhook"]


@dataclass(frozen=True)
class ReceivedWebhook:
    path: str
    headers: Dict[str, str]
    raw: bytes
    signature_valid: bool

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


class FakeWebhookReceiver(BackgroundServer):
    name = "fake-webhook-receiver"

    def __init__(self, secret: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.secret = secret
        self._received: List[ReceivedWebhook] = []
        self._failures: List[int] = []

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{path:.*}", self._receive)
        return app

    @property
    def received(self) -> List[ReceivedWebhook]:
        return list(self._received)

    def events(self, event_type: Optional[str] = None) -> List[Dict[str, Any]]:
        bodies = [hook.json for hook in self._received]
        return [body for body in bodies if event_type is None or body["type"] == event_type]

    def reset(self) -> None:
        self._received.clear()
        self._failures.clear()

    def fail_next(self, count: int, status: int = 500) -> None:
        self._failures.extend([status] * count)

    async def _receive(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if self._failures:
            return web.json_response({"error": "failing on purpose"}, status=self._failures.pop(0))
        presented = request.headers.get("X-Signature-256", "")
        self._received.append(ReceivedWebhook(
            path=request.path, headers=dict(request.headers), raw=raw,
            signature_valid=presented == signature_header_value(self.secret, raw),
        ))
        return web.json_response({"ok": True})
