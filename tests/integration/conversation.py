"""A lead talking to the real Rasa server through its REST channel."""
from __future__ import annotations

import uuid
from typing import Any, Dict, List

import httpx


class Conversation:
    def __init__(self, rasa_url: str, sender_id: str = "") -> None:
        self.rasa_url = rasa_url
        self.sender_id = sender_id or f"55119{uuid.uuid4().int % 10**8:08d}"
        self.client = httpx.Client(base_url=rasa_url, timeout=60)

    def say(self, text: str) -> List[str]:
        """Sends one message; returns the texts the assistant answered."""
        response = self.client.post(
            "/webhooks/rest/webhook", json={"sender": self.sender_id, "message": text}
        )
        response.raise_for_status()
        return [message.get("text", "") for message in response.json()]

    def tracker(self) -> Dict[str, Any]:
        response = self.client.get(f"/conversations/{self.sender_id}/tracker")
        response.raise_for_status()
        return response.json()

    def slots(self) -> Dict[str, Any]:
        return self.tracker()["slots"]

    def requested_slot(self) -> Any:
        return self.slots().get("requested_slot")

    def active_loop(self) -> Any:
        return (self.tracker().get("active_loop") or {}).get("name")
