"""The turn metadata: one writer (the channel), one defensive reader (actions, review UI)."""
from __future__ import annotations

from whatsapp.turn_metadata import TurnMetadata, build

RECORDS = [
    {"message_id": "A", "reply_jid": "5511@s.whatsapp.net", "kind": "image", "media": {"id": "A"},
     "instance": "solar", "push_name": "Ana", "request_id": "r1"},
    {"message_id": "B", "reply_jid": "5511@s.whatsapp.net", "kind": "audio", "media": None,
     "transcript_unavailable": "too_long", "instance": "solar", "push_name": "Ana", "request_id": "r2"},
]


def test_what_the_channel_writes_the_readers_read() -> None:
    metadata = build(RECORDS)
    assert metadata["request_id"] == "r2"
    turn = TurnMetadata.of({"metadata": metadata})
    assert (turn.reply_jid, turn.instance, turn.push_name) == ("5511@s.whatsapp.net", "solar", "Ana")
    assert [m["message_id"] for m in turn.media(("image", "document"))] == ["A"]
    assert turn.media(("audio",)) == []  # no media reference
    assert turn.transcript_unavailable == "too_long"


def test_the_reader_tolerates_anything() -> None:
    for metadata in (None, {}, {"evolution": None}, {"evolution": "x"}, {"evolution": {"messages": "x"}},
                     {"evolution": {"messages": [1, None, "m"], "push_name": "  ", "reply_jid": 5}}):
        turn = TurnMetadata.read(metadata)
        assert turn.messages == () and turn.push_name is None and turn.reply_jid == ""
    assert TurnMetadata.of(None) == TurnMetadata()
