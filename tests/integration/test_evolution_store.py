"""ChannelStore against a real redis-server started for this module.

Each test gets its own key prefix, so tests never see each other's keys.
"""
from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Awaitable, Callable, Dict

import pytest

from whatsapp.store import (
    BUTTONS_TTL_SECONDS,
    HOUR,
    JID_TTL_SECONDS,
    MINUTE,
    RECEIPT_TTL_SECONDS,
    ChannelStore,
)

INSTANCE = "solarprime"
SENDER = "5511987654321"
JID = f"{SENDER}@s.whatsapp.net"
LID_JID = "214748364712345@lid"
DEDUPE_TTL = 3600
# An instant at the start of an hour, so minute and hour windows are predictable.
HOUR_START = 1_761_055_200.0
assert HOUR_START % HOUR == 0




@pytest.fixture
def run(redis_port: int, prefix: str) -> Callable[[Callable[[ChannelStore], Awaitable[Any]]], Any]:
    """run(async fn(store)) → its result, with a fresh store in a fresh event loop."""

    def runner(body: Callable[[ChannelStore], Awaitable[Any]]) -> Any:
        async def main() -> Any:
            store = ChannelStore.connect(host="127.0.0.1", port=redis_port, db=0, password=None, prefix=prefix)
            try:
                return await body(store)
            finally:
                await store.close()

        return asyncio.run(main())

    return runner


def record(message_id: str, text: str = "oi", sender: str = SENDER) -> Dict[str, Any]:
    return {"message_id": message_id, "sender_id": sender, "reply_jid": JID, "text": text, "kind": "text"}


async def accept(store: ChannelStore, message_id: str, *, text: str = "oi", sender: str = SENDER,
                 reply_jid: str = JID, due_at: float = 100.0, instance: str = INSTANCE) -> bool:
    admission = await store.accept(
        instance=instance, message_id=message_id, sender_id=sender, reply_jid=reply_jid,
        record=record(message_id, text, sender), due_at=due_at, dedupe_ttl=DEDUPE_TTL,
    )
    return admission.accepted


# --- accept -----------------------------------------------------------------------------------


def test_accept_records_inbox_due_and_jid(run, raw, prefix):
    async def body(store: ChannelStore):
        accepted = await accept(store, "M1", text="Olá, quero orçamento", reply_jid=LID_JID, due_at=123.5)
        return accepted, await store.inbox(SENDER), await store.reply_jid(SENDER)

    accepted, inbox, jid = run(body)
    assert accepted is True
    assert inbox == [record("M1", "Olá, quero orçamento")]
    assert jid == LID_JID
    assert raw.zscore(f"{prefix}:due", SENDER) == 123.5
    assert raw.exists(f"{prefix}:seen:{INSTANCE}:M1")
    assert 0 < raw.ttl(f"{prefix}:seen:{INSTANCE}:M1") <= DEDUPE_TTL
    # The phone → reply JID mapping is personal data: it expires like remember_jid's.
    assert 0 < raw.ttl(f"{prefix}:jid:{SENDER}") <= JID_TTL_SECONDS
    # Non-ASCII text is stored as UTF-8 JSON, not escaped.
    assert "orçamento" in raw.lindex(f"{prefix}:inbox:{SENDER}", 0)


def test_accept_is_idempotent_per_instance_and_message_id(run, raw, prefix):
    async def body(store: ChannelStore):
        first = await accept(store, "M1", text="primeira", due_at=100.0)
        again = await accept(store, "M1", text="retry da Evolution", due_at=200.0, reply_jid=LID_JID)
        return first, again, await store.inbox(SENDER), await store.reply_jid(SENDER)

    first, again, inbox, jid = run(body)
    assert (first, again) == (True, False)
    # The duplicate changed nothing: inbox, due time and reply JID are the first delivery's.
    assert [r["text"] for r in inbox] == ["primeira"]
    assert raw.zscore(f"{prefix}:due", SENDER) == 100.0
    assert jid == JID


def test_a_burst_admitted_together_keeps_one_copy_of_a_retry_within_it(run, raw, prefix):
    # Webhooks arriving together share one Redis round trip; Evolution's retry
    # of M3 in the same burst must still count as a duplicate.
    ids = ["M1", "M2", "M3", "M4", "M3", "M5"]

    async def body(store: ChannelStore):
        admitted = await asyncio.gather(*(accept(store, message_id, text=message_id) for message_id in ids))
        return admitted, await store.inbox(SENDER)

    admitted, inbox = run(body)
    assert admitted == [True, True, True, True, False, True]
    assert [r["text"] for r in inbox] == ["M1", "M2", "M3", "M4", "M5"]


def test_same_message_id_on_another_instance_is_a_new_message(run):
    async def body(store: ChannelStore):
        one = await accept(store, "M1", instance="solarprime")
        other = await accept(store, "M1", instance="outra")
        return one, other, await store.inbox(SENDER)

    one, other, inbox = run(body)
    assert one and other
    assert len(inbox) == 2


def test_accept_keeps_order_and_the_latest_message_sets_the_due_time(run, raw, prefix):
    async def body(store: ChannelStore):
        for index, due in enumerate([100.0, 101.0, 102.5]):
            await accept(store, f"M{index}", text=f"msg {index}", due_at=due)
        return await store.inbox(SENDER)

    inbox = run(body)
    assert [r["text"] for r in inbox] == ["msg 0", "msg 1", "msg 2"]
    assert raw.zscore(f"{prefix}:due", SENDER) == 102.5


def test_a_rate_limited_message_is_not_recorded_and_its_retry_is_a_duplicate(run, raw, prefix):
    async def body(store: ChannelStore):
        def admit(message_id: str):
            return store.accept(
                instance=INSTANCE, message_id=message_id, sender_id=SENDER, reply_jid=JID,
                record=record(message_id), due_at=1.0, dedupe_ttl=60, now=HOUR_START + 1,
                max_per_minute=1, max_per_hour=10,
            )
        return [await admit("M1"), await admit("M2"), await admit("M2")], await store.inbox(SENDER)

    admissions, inbox = run(body)
    assert [a.status for a in admissions] == ["accepted", "rate_limited", "duplicate"]
    assert [r["message_id"] for r in inbox] == ["M1"]
    assert 0 < raw.ttl(f"{prefix}:seen:{INSTANCE}:M2") <= 60


# --- due senders -----------------------------------------------------------------------------------


def test_due_senders_next_due_at_and_postpone(run):
    async def body(store: ChannelStore):
        empty_next = await store.next_due_at()
        await accept(store, "A1", sender="551100000001", due_at=100.0)
        await accept(store, "B1", sender="551100000002", due_at=105.0)
        await accept(store, "C1", sender="551100000003", due_at=110.0)
        due_at_99 = await store.due_senders(99.0)
        due_at_105 = await store.due_senders(105.0)
        limited = await store.due_senders(1000.0, limit=2)
        first = await store.next_due_at()
        await store.postpone("551100000001", 200.0)
        after_postpone = await store.due_senders(150.0)
        next_after = await store.next_due_at()
        return empty_next, due_at_99, due_at_105, limited, first, after_postpone, next_after

    empty_next, due_99, due_105, limited, first, after_postpone, next_after = run(body)
    assert empty_next is None
    assert due_99 == []
    assert due_105 == ["551100000001", "551100000002"]
    assert limited == ["551100000001", "551100000002"]
    assert first == 100.0
    assert after_postpone == ["551100000002", "551100000003"]
    assert next_after == 105.0


# --- complete -------------------------------------------------------------------------------------------


def test_complete_trims_the_processed_messages_and_removes_the_due_entry(run, raw, prefix):
    async def body(store: ChannelStore):
        await accept(store, "M1")
        await accept(store, "M2")
        taken = await store.inbox(SENDER)
        remaining = await store.complete(SENDER, len(taken))
        return remaining, await store.inbox(SENDER), await store.due_senders(10**10)

    remaining, inbox, due = run(body)
    assert remaining == 0
    assert inbox == []
    assert due == []
    assert not raw.exists(f"{prefix}:inbox:{SENDER}")


def test_a_message_arriving_during_processing_survives_complete(run):
    async def body(store: ChannelStore):
        await accept(store, "M1", text="um")
        await accept(store, "M2", text="dois")
        taken = await store.inbox(SENDER)  # the worker's turn starts with these two
        await accept(store, "M3", text="três", due_at=300.0)  # arrives while the turn runs
        remaining = await store.complete(SENDER, len(taken))
        return remaining, await store.inbox(SENDER), await store.due_senders(10**10), await store.next_due_at()

    remaining, inbox, due, next_due = run(body)
    assert remaining == 1
    assert [r["text"] for r in inbox] == ["três"]
    assert due == [SENDER]
    assert next_due == 300.0


def test_complete_with_nothing_processed_keeps_everything(run):
    async def body(store: ChannelStore):
        await accept(store, "M1")
        remaining = await store.complete(SENDER, 0)
        return remaining, await store.inbox(SENDER), await store.due_senders(10**10)

    remaining, inbox, due = run(body)
    assert remaining == 1
    assert len(inbox) == 1
    assert due == [SENDER]


def test_complete_of_one_sender_leaves_others_alone(run):
    async def body(store: ChannelStore):
        await accept(store, "A1", sender="551100000001")
        await accept(store, "B1", sender="551100000002")
        await store.complete("551100000001", 1)
        return await store.due_senders(10**10), await store.inbox("551100000002")

    due, other_inbox = run(body)
    assert due == ["551100000002"]
    assert len(other_inbox) == 1


def test_dead_letter_keeps_the_records_with_their_sender(run, raw, prefix):
    async def body(store: ChannelStore):
        await store.dead_letter(SENDER, [record("M1", "a"), record("M2", "b")])

    run(body)
    dead = [json.loads(item) for item in raw.lrange(f"{prefix}:dead", 0, -1)]
    assert [(d["sender_id"], d["message_id"], d["text"]) for d in dead] == [(SENDER, "M1", "a"), (SENDER, "M2", "b")]


# --- lock -------------------------------------------------------------------------------------------------


def test_lock_is_exclusive_and_released_only_by_its_owner(run, raw, prefix):
    async def body(store: ChannelStore):
        got_a = await store.lock(SENDER, "owner-a", 30)
        got_b = await store.lock(SENDER, "owner-b", 30)
        await store.unlock(SENDER, "owner-b")  # not the owner: no effect
        still_held = not await store.lock(SENDER, "owner-c", 30)
        holder = await store.redis.get(store.key("lock", SENDER))
        await store.unlock(SENDER, "owner-a")
        got_c = await store.lock(SENDER, "owner-c", 30)
        other_sender = await store.lock("551100000009", "owner-b", 30)
        return got_a, got_b, still_held, holder, got_c, other_sender

    got_a, got_b, still_held, holder, got_c, other_sender = run(body)
    assert got_a is True
    assert got_b is False
    assert still_held is True
    assert holder == "owner-a"
    assert got_c is True
    assert other_sender is True
    assert raw.get(f"{prefix}:lock:{SENDER}") == "owner-c"
    assert 0 < raw.ttl(f"{prefix}:lock:{SENDER}") <= 30


def test_unlock_of_an_expired_lock_does_not_free_the_next_holder(run, raw, prefix):
    async def body(store: ChannelStore):
        await store.lock(SENDER, "slow-owner", 30)
        await store.redis.delete(store.key("lock", SENDER))  # as if it expired
        await store.lock(SENDER, "new-owner", 30)
        await store.unlock(SENDER, "slow-owner")

    run(body)
    assert raw.get(f"{prefix}:lock:{SENDER}") == "new-owner"


# --- rate limit ----------------------------------------------------------------------------------------


def test_admission_counts_per_minute_and_per_hour_windows(run, raw, prefix):
    async def body(store: ChannelStore):
        async def admit(message_id: str, now: float, sender: str = SENDER):
            admission = await store.accept(
                instance=INSTANCE, message_id=message_id, sender_id=sender, reply_jid=JID,
                record=record(message_id, sender=sender), due_at=now, dedupe_ttl=60, now=now,
            )
            return admission.per_minute, admission.per_hour
        counts = [await admit(f"M{i}", HOUR_START + 1 + i) for i in range(3)]
        next_minute = await admit("M10", HOUR_START + MINUTE + 5)
        next_hour = await admit("M11", HOUR_START + HOUR + 5)
        other = await admit("M12", HOUR_START + 2, sender="551100000009")
        return counts, next_minute, next_hour, other

    counts, next_minute, next_hour, other = run(body)
    assert counts == [(1, 1), (2, 2), (3, 3)]
    assert next_minute == (1, 4)
    assert next_hour == (1, 1)
    assert other == (1, 1)
    minute_key = f"{prefix}:rate:{SENDER}:m:{int(HOUR_START // MINUTE)}"
    hour_key = f"{prefix}:rate:{SENDER}:h:{int(HOUR_START // HOUR)}"
    assert raw.get(minute_key) == "3"
    assert 0 < raw.ttl(minute_key) <= 2 * MINUTE
    assert 0 < raw.ttl(hour_key) <= 2 * HOUR


def test_rate_notice_is_claimed_once_per_sender_and_hour(run):
    async def body(store: ChannelStore):
        return [
            await store.claim_rate_notice(SENDER, HOUR_START + 10),
            await store.claim_rate_notice(SENDER, HOUR_START + 20),
            await store.claim_rate_notice(SENDER, HOUR_START + HOUR - 1),
            await store.claim_rate_notice("551100000009", HOUR_START + 30),
            await store.claim_rate_notice(SENDER, HOUR_START + HOUR + 1),
        ]

    assert run(body) == [True, False, False, True, True]


# --- takeover --------------------------------------------------------------------------------------------


def test_takeover_flag_expires(run, raw, prefix):
    async def body(store: ChannelStore):
        before = await store.human_is_talking(SENDER)
        await store.pause_for_human(SENDER, 1)
        during = await store.human_is_talking(SENDER)
        other = await store.human_is_talking("551100000009")
        ttl_ms = await store.redis.pttl(store.key("takeover", SENDER))
        deadline = time.monotonic() + 10
        while await store.human_is_talking(SENDER):
            assert time.monotonic() < deadline, "takeover flag never expired"
            await asyncio.sleep(0.1)
        return before, during, other, ttl_ms

    before, during, other, ttl_ms = run(body)
    assert (before, during, other) == (False, True, False)
    assert 0 < ttl_ms <= 1000
    assert not raw.exists(f"{prefix}:takeover:{SENDER}")


def test_takeover_is_extended_by_a_new_pause(run):
    async def body(store: ChannelStore):
        await store.pause_for_human(SENDER, 1)
        await store.pause_for_human(SENDER, 60)
        return await store.redis.ttl(store.key("takeover", SENDER))

    assert run(body) > 1


# --- buttons, receipts, connection ----------------------------------------------------------------------


def test_buttons_are_offered_read_and_forgotten(run, raw, prefix):
    buttons = [{"title": "Sim", "payload": "/affirm"}, {"title": "Não", "payload": "/deny"}]

    async def body(store: ChannelStore):
        nothing = await store.offered_buttons(SENDER)
        await store.offer_buttons(SENDER, buttons)
        offered = await store.offered_buttons(SENDER)
        other = await store.offered_buttons("551100000009")
        ttl = await store.redis.ttl(store.key("buttons", SENDER))
        await store.forget_buttons(SENDER)
        return nothing, offered, other, ttl, await store.offered_buttons(SENDER)

    nothing, offered, other, ttl, forgotten = run(body)
    assert nothing == []
    assert offered == buttons
    assert other == []
    assert 0 < ttl <= BUTTONS_TTL_SECONDS
    assert forgotten == []


def test_new_buttons_replace_the_old_ones(run):
    async def body(store: ChannelStore):
        await store.offer_buttons(SENDER, [{"title": "A", "payload": "/a"}])
        await store.offer_buttons(SENDER, [{"title": "B", "payload": "/b"}])
        return await store.offered_buttons(SENDER)

    assert run(body) == [{"title": "B", "payload": "/b"}]


def test_receipts_are_kept_per_message_and_status(run, raw, prefix):
    async def body(store: ChannelStore):
        await store.record_receipt("OUT1", "SERVER_ACK", 1.5)
        await store.record_receipt("OUT1", "DELIVERY_ACK", 2.0)
        await store.record_receipt("OUT1", "READ", 3.25)
        await store.record_receipt("OUT2", "DELIVERY_ACK", 4.0)
        return await store.receipts("OUT1"), await store.receipts("OUT2"), await store.receipts("NONE")

    one, two, none = run(body)
    assert one == {"SERVER_ACK": "1.5", "DELIVERY_ACK": "2.0", "READ": "3.25"}
    assert two == {"DELIVERY_ACK": "4.0"}
    assert none == {}
    assert 0 < raw.ttl(f"{prefix}:receipt:OUT1") <= RECEIPT_TTL_SECONDS


def test_connection_state_is_recorded(run, raw, prefix):
    async def body(store: ChannelStore):
        await store.record_connection("close", 401, 10.0)
        first = dict(raw.hgetall(f"{prefix}:connection"))
        await store.record_connection("open", None, 11.0)
        return first

    first = run(body)
    assert first == {"state": "close", "reason": "401", "at": "10.0"}
    assert raw.hgetall(f"{prefix}:connection") == {"state": "open", "reason": "", "at": "11.0"}


def test_remember_jid_and_media(run, raw, prefix):
    async def body(store: ChannelStore):
        missing = await store.reply_jid(SENDER)
        await store.remember_jid(SENDER, LID_JID)
        await store.store_media("M1", "T2dnUwACAAAA")
        return missing, await store.reply_jid(SENDER)

    missing, jid = run(body)
    assert missing is None
    assert jid == LID_JID
    assert 0 < raw.ttl(f"{prefix}:jid:{SENDER}") <= JID_TTL_SECONDS
    assert raw.get(f"{prefix}:media:M1") == "T2dnUwACAAAA"
    assert raw.ttl(f"{prefix}:media:M1") > 0


# --- outbox ---------------------------------------------------------------------------------------------


def test_outbox_is_first_in_first_out(run):
    first = {"operation": "send_text", "call": {"number": JID, "text": "primeira ção"}}
    second = {"operation": "send_media", "call": {"number": JID, "mediatype": "image", "media": "https://x/y.jpg"}}

    async def body(store: ChannelStore):
        empty = (await store.peek_outgoing(), await store.outbox_size())
        await store.queue_outgoing(first)
        await store.queue_outgoing(second)
        size = await store.outbox_size()
        peeked = await store.peek_outgoing()
        peeked_again = await store.peek_outgoing()  # peeking does not consume
        await store.drop_outgoing()
        after_drop = (await store.peek_outgoing(), await store.outbox_size())
        await store.drop_outgoing()
        drained = (await store.peek_outgoing(), await store.outbox_size())
        await store.drop_outgoing()  # dropping from an empty outbox is harmless
        return empty, size, peeked, peeked_again, after_drop, drained, await store.outbox_size()

    empty, size, peeked, peeked_again, after_drop, drained, final = run(body)
    assert empty == (None, 0)
    assert size == 2
    assert peeked == first and peeked_again == first
    assert after_drop == (second, 1)
    assert drained == (None, 0)
    assert final == 0


def test_ping(run):
    async def body(store: ChannelStore):
        return await store.ping()

    assert run(body) is True


def test_keys_live_under_the_prefix(run, raw, prefix):
    async def body(store: ChannelStore):
        await accept(store, "M1")
        await store.lock(SENDER, "o", 30)
        await store.queue_outgoing({"operation": "send_text", "call": {}})

    run(body)
    keys = set(raw.scan_iter(match="*"))
    mine = {key for key in keys if key.startswith(prefix + ":")}
    assert {f"{prefix}:inbox:{SENDER}", f"{prefix}:due", f"{prefix}:jid:{SENDER}",
            f"{prefix}:seen:{INSTANCE}:M1", f"{prefix}:lock:{SENDER}", f"{prefix}:outbox"} <= mine


def test_the_assistants_sent_messages_are_kept_with_their_ids_for_receipts(run, raw, prefix):
    async def body(store: ChannelStore):
        await store.remember_sent(SENDER, "ID1", "Oi!", 10.0)
        await store.remember_sent(SENDER, "ID2", "Tudo bem?", 11.0)
        return await store.sent_messages(SENDER)

    assert run(body) == [{"id": "ID1", "text": "Oi!", "at": 10.0}, {"id": "ID2", "text": "Tudo bem?", "at": 11.0}]
    assert 0 < raw.ttl(f"{prefix}:sent:{SENDER}") <= RECEIPT_TTL_SECONDS


def test_the_last_connection_update_is_read_back_by_any_worker(run):
    async def body(store: ChannelStore):
        before = await store.last_connection()
        await store.record_connection("close", 401, 20.0)
        closed = await store.last_connection()
        await store.record_connection("open", None, 21.0)
        return before, closed, await store.last_connection()

    before, closed, reopened = run(body)
    assert before is None
    assert closed == {"state": "close", "status_reason": 401, "at": 20.0}
    assert reopened == {"state": "open", "status_reason": None, "at": 21.0}
