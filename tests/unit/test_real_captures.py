"""Real webhook bodies captured by other people (tests/data/evolution_captures/), each through
the parser: the conversation id is the phone whenever any field carries it."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from whatsapp.identity import pairs_in_contacts
from whatsapp.payload import InboundMessage, OwnMessage, PayloadError, parse_webhook_body

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "evolution_captures"
EXPECTED: Dict[str, Dict[str, Any]] = yaml.safe_load((CAPTURES / "expected.yml").read_text())


def capture_body(name: str) -> Dict[str, Any]:
    """The published body; a fragment of `data` gets a minimal envelope."""
    body = json.loads((CAPTURES / name).read_text())["body"]
    return body if "event" in body else {"event": "messages.upsert", "instance": "captured", "data": body}


def test_every_capture_has_an_expectation() -> None:
    assert sorted(EXPECTED) == sorted(p.name for p in CAPTURES.glob("*.json"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_real_capture(name: str) -> None:
    want = EXPECTED[name]
    raw = json.dumps(capture_body(name)).encode()
    if want["outcome"] == "rejected":
        with pytest.raises(PayloadError):
            parse_webhook_body(raw)
        return
    envelope = parse_webhook_body(raw)
    result = envelope.upsert
    if want["outcome"] == "message":
        assert isinstance(result, InboundMessage)
        assert (result.sender_id, result.reply_jid, result.lid) == (want["sender_id"], want["reply_jid"], want["lid"])
        assert ":" not in result.reply_jid.split("@")[0]
    elif want["outcome"] == "own":
        assert isinstance(result, OwnMessage) and result.sender_id == want["sender_id"]
    elif want["outcome"] == "ignored":
        assert result is not None and getattr(result, "reason", None) == want["reason"]
    elif want["outcome"] == "identities":
        pairs = pairs_in_contacts(list(envelope.items) or envelope.data)
        assert [list(pair) for pair in pairs] == want["pairs"]
    else:
        assert want["outcome"] == "recorded" and envelope.event == "connection.update"
