"""Live updates over HTTP (server-sent events from /events): a lead's new message reaches
an open conversation's stream; a lead asking for a person raises the handoff alert for
operators (not for viewers) and one WhatsApp message to HANDOFF_NOTIFY_TO; an operator
writing sends Evolution's typing presence; the take-over is in the audit log."""
from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable, Dict, List, Tuple

import httpx
import pytest

from observability.privacy import mask_phone
from tests.integration.whatsapp import WhatsAppLead
from tests.review.conftest import ON_DUTY, OPERATOR, ReviewClient

pytestmark = pytest.mark.integration

EVENT_WAIT_S = 30


class EventStream:
    """Reads one /events stream in a thread and keeps what arrived."""

    def __init__(self, client: ReviewClient, query: str = "") -> None:
        self.client = client
        self.url = "/events" + (f"?c={query}" if query else "")
        self.events: List[Tuple[str, Dict[str, Any]]] = []
        self.status = 0
        self.ready = threading.Event()
        self.stop = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        assert self.ready.wait(10) and self.status == 200

    def _read(self) -> None:
        with self.client.http.stream("GET", self.url, timeout=httpx.Timeout(5, read=None)) as response:
            self.status = response.status_code
            self.ready.set()
            kind = ""
            for line in response.iter_lines():
                if self.stop:
                    return
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    self.events.append((kind, json.loads(line[6:])))

    def wait_for(self, kind: str, predicate: Callable[[Dict[str, Any]], bool] = lambda d: True,
                 after: int = 0) -> Dict[str, Any]:
        """The first matching event from index `after` on: events that arrived before a step
        (a late one for the previous message) must not stand for that step's."""
        deadline = time.monotonic() + EVENT_WAIT_S
        while time.monotonic() < deadline:
            for found_kind, data in list(self.events)[after:]:
                if found_kind == kind and predicate(data):
                    return data
            time.sleep(0.1)
        pytest.fail(f"no {kind} event; got {[k for k, _ in self.events]}")

    def close(self) -> None:
        self.stop = True
        self.client.close()  # ends the stream: the server drops the subscriber


def settled(stream: EventStream, quiet_s: float = 1.0) -> None:
    """Returns once no event has arrived for quiet_s seconds (bounded by EVENT_WAIT_S)."""
    deadline = time.monotonic() + EVENT_WAIT_S
    count, since = len(stream.events), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        if len(stream.events) != count:
            count, since = len(stream.events), time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return


def notes(fake_evolution, ref: str) -> List[str]:
    return [text for text in fake_evolution.sent_texts(ON_DUTY) if ref in text]


def test_live_message_handoff_alert_notification_typing_and_audit(review_server, rasa_server, fake_evolution,
                                                                   as_operator, as_viewer, operator):
    lead = WhatsAppLead(rasa_server.url, fake_evolution)
    lead.say("oi")
    row = operator.wait_listed(lead.phone)
    ref = row["ref"]
    watching = EventStream(ReviewClient(review_server.url, OPERATOR, "senha-da-operadora-1"), ref)
    inbox = EventStream(ReviewClient(review_server.url, "vera", "senha-da-agencia-1"))
    try:
        # The reply to "oi" may still be on its way: wait for the streams to go quiet first.
        settled(watching)
        settled(inbox)
        seen, seen_inbox = len(watching.events), len(inbox.events)
        lead.say("meu nome é Lúcia")
        # The open conversation hears of it without reloading; so does every inbox.
        watching.wait_for("conversation", lambda d: d["ref"] == ref, after=seen)
        inbox.wait_for("conversation", lambda d: d["ref"] == ref, after=seen_inbox)

        lead.say("quero falar com um atendente humano")
        alert = watching.wait_for("handoff", lambda d: d["ref"] == ref)
        assert alert["phone"] == mask_phone(lead.phone) and alert["url"] == f"/conversations/{ref}"
        # Other tests' leads ask for people too: this lead's notes name its reference.
        assert fake_evolution.wait_for(lambda: notes(fake_evolution, ref), 20)
        note = notes(fake_evolution, ref)[-1]
        assert "Atendimento humano" in note and lead.phone not in note and ref in note
        time.sleep(1.0)
        assert not any(kind == "handoff" for kind, _ in inbox.events)  # viewers: no call to act
        assert lead.phone not in json.dumps(inbox.events) + json.dumps(watching.events)
    finally:
        watching.close()
        inbox.close()
    assert len(notes(fake_evolution, ref)) == 1  # once, however many pages listen

    # The operator takes over, types (the lead sees "digitando…"), writes and hands back.
    assert as_operator.post(f"/conversations/{ref}/takeover").json()["ok"]
    assert as_operator.post(f"/conversations/{ref}/typing").json()["sent"] is True
    assert as_operator.post(f"/conversations/{ref}/typing").json()["sent"] is False  # throttled
    assert fake_evolution.wait_for(lambda: any(
        r.json.get("presence") == "composing" and lead.phone in r.json.get("number", "")
        for r in fake_evolution.requests_for("sendPresence")), 10)
    assert as_operator.post(f"/conversations/{ref}/send", text="Oi Lúcia, aqui é a Ana!").json()["ok"]
    assert as_operator.post(f"/conversations/{ref}/handback").json()["ok"]
    trail = operator.http.get("/api/audit", params={"conversation": lead.phone, "user": OPERATOR}).json()["entries"]
    assert [e["action"] for e in trail][:3] == ["handback", "message_sent", "takeover"]
    assert as_viewer.post(f"/conversations/{ref}/takeover").status_code == 403
