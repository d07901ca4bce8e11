"""EvolutionOutput (and deliver) against the real FakeEvolution over loopback HTTP and a real Redis.

Also the pure helpers the worker uses to build a turn: user_text_for, turn_metadata, inbox_record.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional

import pytest

from connectors.evolution import (
    EvolutionInput,
    EvolutionOutput,
    deliver,
    inbox_record,
    user_text_for,
)
from tests import evolution_samples as samples
from tests.conftest import EVOLUTION_API_KEY, EVOLUTION_INSTANCE
from tests.fake_evolution import FakeEvolution
from whatsapp.client import EvolutionClient
from whatsapp.outbound import build_quoted
from whatsapp.payload import parse_upsert
from whatsapp.settings import EvolutionSettings, load_settings
from whatsapp.store import ChannelStore
from whatsapp.turn_metadata import build as turn_metadata

API_KEY = EVOLUTION_API_KEY
INSTANCE = EVOLUTION_INSTANCE
SENDER = "5511987654321"
JID = f"{SENDER}@s.whatsapp.net"
LID_JID = "214748364712345@lid"
BUTTONS = [
    {"title": "Sim", "payload": "/affirm"},
    {"title": "Não", "payload": "/deny"},
    {"title": "Talvez depois", "payload": '/inform{"timeline":"sem_previsao"}'},
]




def make_settings(fake: FakeEvolution, redis_port: int, prefix: str, **overrides: Any) -> EvolutionSettings:
    base = load_settings(
        {"typing_delay": False, "http_max_retries": 1},
        environ={
            "EVOLUTION_URL": fake.url, "EVOLUTION_API_KEY": API_KEY, "EVOLUTION_INSTANCE": INSTANCE,
            "EVOLUTION_WEBHOOK_TOKEN": "webhook-token", "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": str(redis_port), "REDIS_KEY_PREFIX": prefix.rsplit(":evo", 1)[0],
        },
    )
    return dataclasses.replace(base, **overrides)


class Harness:
    def __init__(self, client: EvolutionClient, store: ChannelStore, settings: EvolutionSettings) -> None:
        self.client, self.store, self.settings = client, store, settings

    def output(self, reply_jid: Optional[str] = JID, quoted: Optional[Dict[str, Any]] = None,
               **overrides: Any) -> EvolutionOutput:
        settings = dataclasses.replace(self.settings, **overrides) if overrides else self.settings
        return EvolutionOutput(self.client, self.store, settings, reply_jid=reply_jid, quoted=quoted)

    async def outbox(self) -> List[Dict[str, Any]]:
        return [json.loads(item) for item in await self.store.redis.lrange(self.store.key("outbox"), 0, -1)]


@pytest.fixture
def run(fake: FakeEvolution, redis_port: int, prefix: str) -> Callable[..., Any]:
    """run(async fn(harness), **settings overrides) → its result; fresh client and store each time."""

    def runner(body: Callable[[Harness], Awaitable[Any]], **overrides: Any) -> Any:
        settings = make_settings(fake, redis_port, prefix, **overrides)

        async def main() -> Any:
            store = ChannelStore.connect(
                host="127.0.0.1", port=redis_port, db=0, password=None, prefix=settings.redis_prefix
            )
            client = EvolutionClient(
                fake.url, API_KEY, INSTANCE, timeout_s=5.0, max_retries=settings.http_max_retries,
                backoff_base_s=0.01, backoff_max_s=0.02,
            )
            try:
                return await body(Harness(client, store, settings))
            finally:
                await client.aclose()
                await store.close()

        return asyncio.run(main())

    return runner


def sends(fake: FakeEvolution, action: str) -> List[Dict[str, Any]]:
    return [request.json for request in fake.requests_for(action)]


# --- text ---------------------------------------------------------------------------------------------


def test_text_goes_to_the_exact_reply_jid(run, fake):
    async def body(h: Harness):
        await h.output(reply_jid=LID_JID).send_text_message(SENDER, "Olá! Tudo bem? ☀️")

    run(body)
    assert sends(fake, "sendText") == [{"number": LID_JID, "text": "Olá! Tudo bem? ☀️"}]
    assert [request.status for request in fake.requests_for("sendText")] == [201]


def test_long_text_is_split_at_max_text_chars_in_order(run, fake):
    sentences = [f"Frase número {index} sobre energia solar." for index in range(12)]
    text = " ".join(sentences)

    async def body(h: Harness):
        await h.output().send_text_message(SENDER, text)

    run(body, max_text_chars=80)
    chunks = fake.sent_texts(JID)
    assert len(chunks) > 1
    assert all(0 < len(chunk) <= 80 for chunk in chunks)
    assert " ".join(chunks) == text
    # Cuts fall at sentence ends, never inside one.
    assert all(chunk.endswith(".") for chunk in chunks)


def test_text_within_the_limit_is_one_message(run, fake):
    async def body(h: Harness):
        await h.output().send_text_message(SENDER, "x" * 80)

    run(body, max_text_chars=80)
    assert fake.sent_texts(JID) == ["x" * 80]


def test_typing_delay_grows_with_length_and_is_capped(run, fake):
    texts = ["Oi!", "a" * 40, "b" * 100, "c" * 1000]

    async def body(h: Harness):
        output = h.output()
        for text in texts:
            await output.send_text_message(SENDER, text)

    run(body, typing_delay=True, typing_ms_per_char=30, typing_min_ms=500, typing_max_ms=4000)
    delays = [request["delay"] for request in sends(fake, "sendText")]
    assert delays == [500, 1200, 3000, 4000]


def test_no_typing_delay_when_off(run, fake):
    async def body(h: Harness):
        await h.output().send_text_message(SENDER, "a" * 500)

    run(body, typing_delay=False)
    [request] = sends(fake, "sendText")
    assert "delay" not in request


def test_each_chunk_gets_its_own_typing_delay(run, fake):
    text = "Primeira parte bem curta.\n\n" + "Segunda parte. " * 5

    async def body(h: Harness):
        await h.output().send_text_message(SENDER, text)

    run(body, typing_delay=True, max_text_chars=60, typing_ms_per_char=10, typing_min_ms=100, typing_max_ms=10_000)
    requests = sends(fake, "sendText")
    assert len(requests) >= 2
    assert [r["delay"] for r in requests] == [max(100, len(r["text"]) * 10) for r in requests]


QUOTED = build_quoted(samples.KEY_ID, remote_jid=JID, text="Quero um orçamento")


def test_quote_only_on_the_first_chunk_of_the_turn(run, fake):
    async def body(h: Harness):
        output = h.output(quoted=QUOTED)
        await output.send_text_message(SENDER, "Primeira frase aqui. Segunda frase aqui. Terceira frase.")
        await output.send_text_message(SENDER, "Outra mensagem do mesmo turno.")

    run(body, quote_replies=True, max_text_chars=25)
    requests = sends(fake, "sendText")
    assert len(requests) >= 3
    assert requests[0]["quoted"] == QUOTED
    assert all("quoted" not in r for r in requests[1:])
    assert all(r.status == 201 for r in fake.requests_for("sendText"))


def test_no_quote_when_quote_replies_is_off(run, fake):
    async def body(h: Harness):
        await h.output(quoted=QUOTED).send_text_message(SENDER, "Oi")

    run(body, quote_replies=False)
    assert all("quoted" not in r for r in sends(fake, "sendText"))


def test_no_quote_without_a_quoted_message(run, fake):
    async def body(h: Harness):
        await h.output(quoted=None).send_text_message(SENDER, "Oi")

    run(body, quote_replies=True)
    assert all("quoted" not in r for r in sends(fake, "sendText"))


# --- buttons ----------------------------------------------------------------------------------------


def test_buttons_become_numbered_options_and_map_back(run, fake):
    async def body(h: Harness):
        await h.output().send_text_with_buttons(SENDER, "Você é o dono do imóvel?", BUTTONS)
        return await h.store.offered_buttons(SENDER)

    stored = run(body)
    [text] = fake.sent_texts(JID)
    assert text == "Você é o dono do imóvel?\n\n1. Sim\n2. Não\n3. Talvez depois"
    assert stored == BUTTONS
    assert user_text_for([{"text": "2"}], stored) == "/deny"
    assert user_text_for([{"text": "Não"}], stored) == "/deny"
    assert user_text_for([{"text": "nao"}], stored) == "/deny"
    assert user_text_for([{"text": " sim! "}], stored) == "/affirm"
    assert user_text_for([{"text": "opção 3"}], stored) == BUTTONS[2]["payload"]
    # Anything else stays the lead's own words.
    assert user_text_for([{"text": "4"}], stored) == "4"
    assert user_text_for([{"text": "moro de aluguel"}], stored) == "moro de aluguel"


def test_buttons_are_stored_under_the_recipient(run, fake):
    async def body(h: Harness):
        await h.output(reply_jid=LID_JID).send_text_with_buttons(SENDER, "Escolha:", BUTTONS[:2])
        return await h.store.offered_buttons(SENDER), await h.store.offered_buttons("5511000000000")

    mine, other = run(body)
    assert mine == BUTTONS[:2]
    assert other == []
    assert sends(fake, "sendText")[0]["number"] == LID_JID


# --- user_text_for, turn_metadata, inbox_record ----------------------------------------------------------


def test_user_text_for_joins_a_burst_and_prefers_a_single_payload():
    records = [{"text": "Oi"}, {"text": ""}, {"text": "minha conta é 450"}]
    assert user_text_for(records, []) == "Oi\nminha conta é 450"
    assert user_text_for([{"text": "Casa", "payload": "property_residencial"}], BUTTONS) == "property_residencial"
    # A burst of several messages is not mistaken for one option.
    assert user_text_for([{"text": "2"}, {"text": "3"}], BUTTONS) == "2\n3"


def _parsed(message=None, **kwargs):
    envelope = samples.upsert(message, **kwargs)
    return parse_upsert(envelope["data"], own_jid=envelope["sender"])


def test_inbox_record_keeps_everything_but_media_bytes_and_is_json():
    message = _parsed(samples.image_message(base64="iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB"))
    record = inbox_record(message, INSTANCE, 1234.5)
    encoded = json.dumps(record, ensure_ascii=False)
    assert "iVBORw0KGgo" not in encoded
    assert record["instance"] == INSTANCE and record["received_at"] == 1234.5
    assert record["message_id"] == samples.KEY_ID
    assert record["sender_id"] == SENDER
    assert record["reply_jid"] == JID
    assert record["text"] == "Minha conta de luz"
    assert record["media"]["mimetype"] == "image/jpeg"
    assert json.loads(encoded) == json.loads(json.dumps(record))


def test_turn_metadata_describes_the_burst_and_replies_to_the_last_jid():
    first = inbox_record(_parsed(key_id="ID1"), INSTANCE, 1.0)
    last = inbox_record(
        _parsed(samples.text_message("segunda"), key_id="ID2", remote_jid=samples.CONTACT_LID_JID,
                remote_jid_alt=JID),
        INSTANCE, 2.0,
    )
    metadata = turn_metadata([first, last])["evolution"]
    assert metadata["message_ids"] == ["ID1", "ID2"]
    assert metadata["reply_jid"] == samples.CONTACT_LID_JID
    assert metadata["instance"] == INSTANCE
    assert metadata["push_name"] == "Maria Souza"
    assert [m["message_id"] for m in metadata["messages"]] == ["ID1", "ID2"]
    assert set(metadata["messages"][0]) == {
        "message_id", "kind", "message_type", "media", "location", "contacts", "timestamp", "quoted_message_id",
        "text", "transcript_unavailable", "referral",
    }
    json.dumps(metadata)  # goes into the tracker: must be JSON


# --- media ---------------------------------------------------------------------------------------------


def test_send_image_url_uses_send_media_with_a_jpg_name(run, fake):
    async def body(h: Harness):
        await h.output().send_image_url(SENDER, "https://cdn.example.com/fotos/painel-solar")

    run(body)
    [request] = sends(fake, "sendMedia")
    assert request["number"] == JID
    assert request["mediatype"] == "image"
    assert request["media"] == "https://cdn.example.com/fotos/painel-solar"
    assert request["fileName"] == "painel-solar.jpg"
    assert [r.status for r in fake.requests_for("sendMedia")] == [201]


def test_send_attachment_dict_with_mimetype_is_a_document_with_the_right_extension(run, fake):
    attachment = {"url": "https://cdn.example.com/docs/proposta?id=7", "mimetype": "application/pdf",
                  "caption": "Sua proposta"}

    async def body(h: Harness):
        await h.output().send_attachment(SENDER, attachment)

    run(body)
    [request] = sends(fake, "sendMedia")
    assert request["mediatype"] == "document"
    assert request["fileName"] == "proposta.pdf"
    assert request["mimetype"] == "application/pdf"
    assert request["caption"] == "Sua proposta"
    assert request["number"] == JID
    sent = fake.requests_for("sendMedia")[0]
    assert sent.status == 201


@pytest.mark.parametrize(
    "url, mediatype, file_name",
    [
        ("https://cdn.example.com/files/contrato.pdf", "document", "contrato.pdf"),
        ("https://cdn.example.com/videos/instalacao.mp4", "video", "instalacao.mp4"),
        ("https://cdn.example.com/img/telhado.png", "image", "telhado.png"),
    ],
)
def test_send_attachment_url_string_guesses_the_mediatype_from_the_name(run, fake, url, mediatype, file_name):
    async def body(h: Harness):
        await h.output().send_attachment(SENDER, url)

    run(body)
    [request] = sends(fake, "sendMedia")
    assert (request["mediatype"], request["fileName"], request["media"]) == (mediatype, file_name, url)


def test_send_attachment_that_is_not_a_url_is_sent_as_text(run, fake):
    async def body(h: Harness):
        await h.output().send_attachment(SENDER, "segue o anexo")

    run(body)
    assert sends(fake, "sendMedia") == []
    assert fake.sent_texts(JID) == ["segue o anexo"]


# --- custom json -------------------------------------------------------------------------------------


POLL = {"name": "Qual é o seu telhado?", "selectableCount": 1, "values": ["Cerâmica", "Metálico", "Laje"]}


def test_custom_json_reaches_the_given_endpoint_with_number_defaulted(run, fake):
    async def body(h: Harness):
        await h.output().send_custom_json(
            SENDER, {"evolution": {"endpoint": "/message/sendPoll/{instance}", "body": POLL}}
        )

    run(body)
    [request] = fake.requests_for("sendPoll")
    assert request.path == f"/message/sendPoll/{INSTANCE}"
    assert request.json == {**POLL, "number": JID}
    assert request.status == 201


def test_custom_json_keeps_an_explicit_number(run, fake):
    async def body(h: Harness):
        await h.output().send_custom_json(
            SENDER,
            {"evolution": {"endpoint": "/message/sendPoll/{instance}", "body": {**POLL, "number": "5511000000001"}}},
        )

    run(body)
    [request] = fake.requests_for("sendPoll")
    assert request.json["number"] == "5511000000001"


@pytest.mark.parametrize(
    "custom",
    [{"facebook": {"text": "oi"}}, {"evolution": {"body": POLL}}, {"evolution": "sendPoll"}, {}],
    ids=["other-channel", "no-endpoint", "not-a-dict", "empty"],
)
def test_custom_json_for_something_else_is_ignored(run, fake, custom):
    async def body(h: Harness):
        await h.output().send_custom_json(SENDER, custom)
        return await h.store.outbox_size()

    assert run(body) == 0
    assert fake.requests == []


# --- Evolution down or refusing -------------------------------------------------------------------------


def test_evolution_down_queues_the_reply_in_the_outbox(run, fake):
    fake.go_down()

    async def body(h: Harness):
        await h.output().send_text_message(SENDER, "Resposta importante")
        return await h.outbox()

    outbox = run(body)
    # The instance that would have sent it: the outbox sends it through the same one later.
    assert outbox == [{"operation": "send_text", "call": {"number": JID, "text": "Resposta importante"},
                       "instance": INSTANCE}]
    fake.come_back()
    assert fake.sent_texts() == []


def test_later_replies_queue_behind_the_backlog_to_keep_order(run, fake):
    async def body(h: Harness):
        output = h.output()
        fake.go_down()
        await output.send_text_message(SENDER, "primeira")
        fake.come_back()
        # Evolution is back, but sending now would overtake "primeira".
        await output.send_text_message(SENDER, "segunda")
        await output.send_image_url(SENDER, "https://cdn.example.com/a.jpg")
        await output.send_custom_json(SENDER, {"evolution": {"endpoint": "/message/sendPoll/{instance}", "body": POLL}})
        return await h.outbox()

    outbox = run(body)
    assert [item["operation"] for item in outbox] == ["send_text", "send_text", "send_media", "post_custom"]
    assert [item["call"].get("text") for item in outbox[:2]] == ["primeira", "segunda"]
    assert outbox[2]["call"]["media"] == "https://cdn.example.com/a.jpg"
    assert outbox[3]["call"] == {"endpoint": "/message/sendPoll/{instance}", "body": {**POLL, "number": JID}}
    assert fake.requests_for("sendText") == [] and fake.requests_for("sendMedia") == []


def test_a_queued_reply_can_be_replayed_as_it_was_queued(run, fake):
    """What the outbox keeps is a call the client takes as is, once Evolution is back."""

    async def body(h: Harness):
        fake.go_down()
        await h.output(quoted=QUOTED).send_text_message(SENDER, "Olá de novo")
        fake.come_back()
        queued = await h.store.peek_outgoing()
        await getattr(h.client, queued["operation"])(**queued["call"])
        await h.store.drop_outgoing()
        return await h.store.outbox_size()

    assert run(body, quote_replies=True, typing_delay=True) == 0
    [request] = sends(fake, "sendText")
    assert request["text"] == "Olá de novo" and request["quoted"] == QUOTED and request["delay"] >= 500


def test_evolution_5xx_after_retries_queues_the_reply(run, fake):
    fake.fail_next(10, status=500)

    async def body(h: Harness):
        await h.output().send_text_message(SENDER, "tentando")
        return await h.outbox()

    outbox = run(body, http_max_retries=1)
    assert [item["call"]["text"] for item in outbox] == ["tentando"]
    assert len(fake.requests_for("sendText")) == 2  # one try and one retry


def test_unregistered_number_is_logged_and_not_queued(run, fake, caplog):
    caplog.set_level(logging.INFO, logger="connectors.evolution")
    fake.set_unregistered(SENDER)

    async def body(h: Harness):
        await h.output().send_text_message(SENDER, "Oi")
        return await h.store.outbox_size()

    assert run(body) == 0
    assert [r.status for r in fake.requests_for("sendText")] == [400]
    rejected = [r for r in caplog.records if "send_rejected" in r.getMessage()]
    assert rejected and "400" in rejected[0].getMessage()
    assert rejected[0].levelno >= logging.ERROR


def test_validation_error_is_logged_and_not_queued_and_later_replies_still_go(run, fake, caplog):
    caplog.set_level(logging.INFO, logger="connectors.evolution")

    async def body(h: Harness):
        output = h.output()
        bad_poll = {"name": "Sem opções"}  # no values, no selectableCount: 400
        await output.send_custom_json(
            SENDER, {"evolution": {"endpoint": "/message/sendPoll/{instance}", "body": bad_poll}}
        )
        await output.send_text_message(SENDER, "depois do erro")
        return await h.store.outbox_size()

    assert run(body) == 0
    assert [r.status for r in fake.requests_for("sendPoll")] == [400]
    assert fake.sent_texts(JID) == ["depois do erro"]
    assert any("send_rejected" in r.getMessage() for r in caplog.records)


def test_deliver_sends_directly_when_nothing_is_queued(run, fake):
    async def body(h: Harness):
        await deliver(h.client, h.store, "send_text", {"number": JID, "text": "direto"})
        return await h.store.outbox_size()

    assert run(body) == 0
    assert fake.sent_texts(JID) == ["direto"]


# --- the recipient JID ---------------------------------------------------------------------------------


def test_without_reply_jid_the_stored_jid_is_used(run, fake):
    async def body(h: Harness):
        await h.store.remember_jid(SENDER, LID_JID)
        await h.output(reply_jid=None).send_text_message(SENDER, "lembrete")

    run(body)
    assert sends(fake, "sendText") == [{"number": LID_JID, "text": "lembrete"}]


def test_without_reply_jid_the_jid_recorded_by_accept_is_used(run, fake):
    async def body(h: Harness):
        await h.store.accept(
            instance=INSTANCE, message_id="M1", sender_id=SENDER, reply_jid=LID_JID,
            record={"message_id": "M1"}, due_at=0.0, dedupe_ttl=60,
        )
        await h.output(reply_jid=None).send_image_url(SENDER, "https://cdn.example.com/a.jpg")

    run(body)
    assert sends(fake, "sendMedia")[0]["number"] == LID_JID


def test_without_reply_jid_or_stored_jid_the_phone_jid_is_used(run, fake):
    async def body(h: Harness):
        await h.output(reply_jid=None).send_text_message(SENDER, "lembrete")

    run(body)
    assert sends(fake, "sendText") == [{"number": JID, "text": "lembrete"}]


def test_get_output_channel_sends_to_the_stored_jid(fake, redis_port, prefix):
    settings = make_settings(fake, redis_port, prefix)

    async def main():
        channel = EvolutionInput(settings)
        output = channel.get_output_channel()
        try:
            assert isinstance(output, EvolutionOutput)
            await channel.store.remember_jid(SENDER, LID_JID)
            await output.send_text_message(SENDER, "lembrete com LID")
            await output.send_text_message("5511000000002", "sem JID guardado")
        finally:
            await channel.client.aclose()
            await channel.store.close()

    asyncio.run(main())
    assert sends(fake, "sendText") == [
        {"number": LID_JID, "text": "lembrete com LID"},
        {"number": "5511000000002@s.whatsapp.net", "text": "sem JID guardado"},
    ]
