"""A WhatsApp lead as Evolution would deliver it to the channel, and what came back."""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from typing import Any, Callable, Dict, List, Mapping, Optional

import httpx
import jwt
import pytest

from tests import evolution_samples as samples
from tests.conftest import WEBHOOK_HMAC_SECRET, WEBHOOK_JWT_KEY, WEBHOOK_TOKEN
from tests.fake_evolution import FakeEvolution
from tests.turns import probe_for

WEBHOOK_PATH = "/webhooks/evolution/webhook"
# How long a test waits for the assistant's answer to reach the fake Evolution.
REPLY_WAIT_S = 60
_phones = itertools.count(1)


def new_phone() -> str:
    return f"55119{uuid.uuid4().int % 10**4:04d}{next(_phones):04d}"


def new_key_id() -> str:
    return "3EB0" + uuid.uuid4().hex[:16].upper()


def bearer(token: str = WEBHOOK_TOKEN) -> Dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def evolution_jwt(key: str = WEBHOOK_JWT_KEY, *, expires_in: int = 600, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iat": now, "exp": now + expires_in, "app": "evolution", "action": "webhook", **claims}
    return jwt.encode(payload, key, algorithm="HS256")


def hmac_headers(body: bytes, secret: str = WEBHOOK_HMAC_SECRET) -> Dict[str, str]:
    return {"X-Webhook-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


class WhatsAppLead:
    def __init__(self, rasa_url: str, fake: FakeEvolution, phone: Optional[str] = None,
                 jid: Optional[str] = None, remote_jid_alt: Optional[str] = None) -> None:
        self.rasa_url = rasa_url
        self.fake = fake
        self.phone = phone or new_phone()
        self.jid = jid or f"{self.phone}@s.whatsapp.net"
        self.remote_jid_alt = remote_jid_alt
        self.http = httpx.Client(base_url=rasa_url, timeout=30)

    def body(self, message: Optional[Mapping[str, Any]] = None, *, key_id: Optional[str] = None,
             from_me: bool = False, text: Optional[str] = None, **kwargs: Any) -> Dict[str, Any]:
        if message is None:
            message = samples.text_message(text or "oi")
        return samples.upsert(
            message, remote_jid=self.jid, from_me=from_me, key_id=key_id or new_key_id(),
            remote_jid_alt=self.remote_jid_alt, timestamp=kwargs.pop("timestamp", time.time()),
            push_name=kwargs.pop("push_name", "Maria Souza"), **kwargs,
        )

    def post(self, body: Any, headers: Optional[Dict[str, str]] = None, path: str = WEBHOOK_PATH) -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        return self.http.post(
            path, content=raw,
            headers={"Content-Type": "application/json", **(bearer() if headers is None else headers)},
        )

    def send(self, text: str, **kwargs: Any) -> httpx.Response:
        response = self.post(self.body(text=text, **kwargs))
        assert response.status_code == 200, response.text
        return response

    def replies(self) -> List[str]:
        return self.fake.sent_texts(self.jid)

    def wait_for_replies(self, count: int, timeout_s: float = REPLY_WAIT_S) -> List[str]:
        assert self.fake.wait_for(lambda: len(self.replies()) >= count, timeout_s), (
            f"expected {count} replies to {self.jid}, got {self.replies()}"
        )
        return self.replies()

    def say(self, text: str, **kwargs: Any) -> List[str]:
        """Sends a message and returns the replies it caused (waits for the turn to finish)."""
        before = len(self.replies())
        self.send(text, **kwargs)
        self.wait_for_replies(before + 1)
        self.wait_for_turn()
        return self.replies()[before:]

    def wait_for_turn(self, timeout_s: float = REPLY_WAIT_S) -> None:
        """Waits until this lead's messages have had their whole turn: every reply sent, the
        tracker saved. Where the server's Redis is known (tests/turns.py) the channel says so;
        elsewhere, as `settle()`, once no reply came for a second. For a lead whose messages
        are taken under another id (a LID that became a phone) use `settle()`."""
        probe = probe_for(self.rasa_url)
        if probe is None or not probe.wait_until_idle(self.phone, timeout_s):
            self.settle(timeout_s=timeout_s)

    def settle(self, quiet_s: float = 1.0, timeout_s: float = REPLY_WAIT_S) -> None:
        """Waits until no reply arrived for `quiet_s` (a turn may send several messages)."""
        deadline = time.monotonic() + timeout_s
        count, since = len(self.replies()), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now_count = len(self.replies())
            if now_count != count:
                count, since = now_count, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return

    def tracker(self) -> Dict[str, Any]:
        response = self.http.get(f"/conversations/{self.phone}/tracker")
        response.raise_for_status()
        return response.json()

    def wait_for_user_events(self, count: int, timeout_s: float = REPLY_WAIT_S) -> List[Dict[str, Any]]:
        """The tracker is saved when its turn ends, a moment after the replies went out."""
        assert self.fake.wait_for(lambda: len(self.user_events()) >= count, timeout_s)
        return self.user_events()

    def user_events(self) -> List[Dict[str, Any]]:
        return [e for e in self.tracker()["events"] if e["event"] == "user"]


def wait_until(check: Callable[[], Any], timeout_s: float = 30.0, what: str = "condition") -> Any:
    """What ``check`` returns once it is truthy; the test fails after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")
