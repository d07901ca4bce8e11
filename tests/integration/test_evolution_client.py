"""EvolutionClient against the FakeEvolution server over loopback HTTP.

Checks every method's request as the server recorded it, the error mapping, the retry policy
(4xx never, 5xx and connection errors yes, read timeouts only when idempotent) and the
circuit breaker.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Iterator

import httpx
import pytest

from sdr.breaker import BreakerState, CircuitBreaker
from tests.fake_evolution import FakeEvolution
from whatsapp.client import (
    EvolutionClient,
    EvolutionError,
    EvolutionUnavailable,
)
from whatsapp.outbound import build_quoted

NUMBER = "5511987654321"
JID = f"{NUMBER}@s.whatsapp.net"
MASKED_NUMBER = "5511*******21"
# Small enough to keep the suite quick, large enough to be distinguishable from "no wait".
FAST_BACKOFF = {"backoff_base_s": 0.01, "backoff_max_s": 0.02}
SHORT_TIMEOUT_S = 0.3
LONG_LATENCY_S = 1.0
SETTLE_TIMEOUT_S = 5.0
BREAKER_RESET_S = 0.2


class CountingTransport(httpx.AsyncBaseTransport):
    """Real loopback transport that counts attempts, including those that never connect."""

    def __init__(self) -> None:
        self.attempts = 0
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
def fake() -> Iterator[FakeEvolution]:
    with FakeEvolution(api_key="test-key", instance="solarprime") as server:
        yield server


def make_client(fake: FakeEvolution, **overrides: Any) -> EvolutionClient:
    options: dict[str, Any] = {"timeout_s": SETTLE_TIMEOUT_S, **FAST_BACKOFF}
    options.update(overrides)
    api_key = options.pop("api_key", fake.api_key)
    instance = options.pop("instance", fake.instance)
    return EvolutionClient(fake.url, api_key, instance, **options)


# --------------------------------------------------------------------------- request shapes


@pytest.mark.asyncio
async def test_send_text_request_and_response_shape(fake: FakeEvolution) -> None:
    quoted = build_quoted("3A5F0C1B2D3E4F5A6B7C", remote_jid=JID, text="Oi")
    async with make_client(fake) as client:
        sent = await client.send_text(
            NUMBER, "Olá! Tudo bem?", delay_ms=1200, quoted=quoted, link_preview=False
        )

    [request] = fake.requests
    assert request.method == "POST"
    assert request.path == "/message/sendText/solarprime"
    assert request.headers["apikey"] == "test-key"
    assert request.headers["content-type"] == "application/json"
    assert request.json == {
        "number": NUMBER,
        "text": "Olá! Tudo bem?",
        "delay": 1200,
        "quoted": quoted,
        "linkPreview": False,
    }
    assert sent["key"]["fromMe"] is True
    assert sent["key"]["remoteJid"] == JID
    assert sent["key"]["id"]
    assert sent["status"] == "PENDING"
    assert sent["message"] == {"conversation": "Olá! Tudo bem?"}
    assert sent["contextInfo"]["stanzaId"] == "3A5F0C1B2D3E4F5A6B7C"
    assert fake.sent_texts(NUMBER) == ["Olá! Tudo bem?"]


@pytest.mark.asyncio
async def test_send_text_omits_unset_options_and_gets_fresh_ids(fake: FakeEvolution) -> None:
    async with make_client(fake) as client:
        first = await client.send_text(JID, "um")
        second = await client.send_text(JID, "dois")
    assert [request.json for request in fake.requests] == [
        {"number": JID, "text": "um"},
        {"number": JID, "text": "dois"},
    ]
    assert first["key"]["id"] != second["key"]["id"]
    assert fake.sent_texts(NUMBER) == ["um", "dois"]


@pytest.mark.asyncio
async def test_send_media_document_request_shape(fake: FakeEvolution) -> None:
    async with make_client(fake) as client:
        sent = await client.send_media(
            NUMBER,
            mediatype="document",
            media="https://files.example.com/proposta.pdf",
            mimetype="application/pdf",
            file_name="proposta.pdf",
            caption="Sua proposta",
            delay_ms=800,
        )
    [request] = fake.requests
    assert request.path == "/message/sendMedia/solarprime"
    assert request.json == {
        "number": NUMBER,
        "mediatype": "document",
        "media": "https://files.example.com/proposta.pdf",
        "mimetype": "application/pdf",
        "fileName": "proposta.pdf",
        "caption": "Sua proposta",
        "delay": 800,
    }
    assert sent["messageType"] == "documentMessage"
    assert sent["message"]["documentMessage"]["mimetype"] == "application/pdf"


@pytest.mark.asyncio
async def test_send_media_image_strips_data_uri_prefix(fake: FakeEvolution) -> None:
    async with make_client(fake) as client:
        sent = await client.send_media(NUMBER, mediatype="image", media="data:image/png;base64,iVBORw0KGgo=")
    assert fake.requests[0].json == {
        "number": NUMBER,
        "mediatype": "image",
        "media": "iVBORw0KGgo=",
        "mimetype": "image/png",
    }
    assert sent["messageType"] == "imageMessage"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "kwargs",
    [
        {"mediatype": "sticker", "media": "https://x.example/a.webp"},
        {"mediatype": "IMAGE", "media": "https://x.example/a.jpg"},
        {"mediatype": "document", "media": "https://x.example/a.pdf"},  # no file_name
        {"mediatype": "image", "media": "https://x.example/a.jpg", "delay_ms": -1},
    ],
)
async def test_send_media_rejects_bad_arguments_locally(fake: FakeEvolution, kwargs: dict[str, Any]) -> None:
    async with make_client(fake) as client:
        with pytest.raises(ValueError):
            await client.send_media(NUMBER, **kwargs)
    assert fake.requests == []


@pytest.mark.asyncio
async def test_send_whatsapp_audio_request_shape(fake: FakeEvolution) -> None:
    async with make_client(fake) as client:
        sent = await client.send_whatsapp_audio(NUMBER, "https://files.example.com/reply.mp3", delay_ms=1500)
    [request] = fake.requests
    assert request.path == "/message/sendWhatsAppAudio/solarprime"
    assert request.json == {"number": NUMBER, "audio": "https://files.example.com/reply.mp3", "delay": 1500}
    assert sent["message"]["audioMessage"]["ptt"] is True


@pytest.mark.asyncio
async def test_send_presence_request_shape(fake: FakeEvolution) -> None:
    async with make_client(fake) as client:
        answer = await client.send_presence(NUMBER, delay_ms=1200)
        await client.send_presence(NUMBER, presence="paused", delay_ms=0)
    assert [(r.path, r.json) for r in fake.requests] == [
        ("/chat/sendPresence/solarprime", {"number": NUMBER, "presence": "composing", "delay": 1200}),
        ("/chat/sendPresence/solarprime", {"number": NUMBER, "presence": "paused", "delay": 0}),
    ]
    assert answer == {"presence": "composing"}


@pytest.mark.asyncio
async def test_send_presence_rejects_unknown_presence(fake: FakeEvolution) -> None:
    async with make_client(fake) as client:
        with pytest.raises(ValueError):
            await client.send_presence(NUMBER, presence="typing", delay_ms=100)
    assert fake.requests == []


@pytest.mark.asyncio
async def test_mark_as_read_request_shape(fake: FakeEvolution) -> None:
    async with make_client(fake) as client:
        answer = await client.mark_as_read(JID, "3A5F0C1B2D3E4F5A6B7C")
    [request] = fake.requests
    assert request.path == "/chat/markMessageAsRead/solarprime"
    assert request.json == {
        "readMessages": [{"remoteJid": JID, "fromMe": False, "id": "3A5F0C1B2D3E4F5A6B7C"}]
    }
    assert answer == {"message": "Read messages", "read": "success"}


@pytest.mark.asyncio
async def test_get_base64_from_media_message(fake: FakeEvolution) -> None:
    fake.set_media("T2dnUwACAAAAAAAAAAA=", "audio/ogg; codecs=opus")
    data = {"key": {"id": "AUDIO1", "remoteJid": JID, "fromMe": False}, "messageType": "audioMessage",
            "message": {"audioMessage": {"mimetype": "audio/ogg; codecs=opus"}}}
    async with make_client(fake) as client:
        media = await client.get_base64_from_media_message(data)
        converted = await client.get_base64_from_media_message({"key": {"id": "AUDIO1"}}, convert_to_mp4=True)
    assert [r.json for r in fake.requests] == [
        {"message": data, "convertToMp4": False},
        {"message": {"key": {"id": "AUDIO1"}}, "convertToMp4": True},
    ]
    assert fake.requests[0].path == "/chat/getBase64FromMediaMessage/solarprime"
    assert media["base64"] == "T2dnUwACAAAAAAAAAAA="
    assert media["mediaType"] == "audioMessage"
    assert media["mimetype"] == "audio/ogg; codecs=opus"
    assert media["fileName"].startswith("AUDIO1.")
    assert converted["mimetype"] == "audio/mp4"


@pytest.mark.asyncio
async def test_get_base64_without_media_is_a_400(fake: FakeEvolution) -> None:
    async with make_client(fake) as client:
        with pytest.raises(EvolutionError) as caught:
            await client.get_base64_from_media_message({"key": {"id": "NOPE"}})
    assert caught.value.status == 400
    assert caught.value.message == "Message not found"
    assert len(fake.requests) == 1


@pytest.mark.asyncio
async def test_fetch_profile_picture_url(fake: FakeEvolution) -> None:
    fake.set_profile_picture_url("https://pps.whatsapp.net/v/abc.jpg")
    async with make_client(fake) as client:
        answer = await client.fetch_profile_picture_url(NUMBER)
        fake.set_profile_picture_url(None)
        hidden = await client.fetch_profile_picture_url(NUMBER)
    assert fake.requests[0].path == "/chat/fetchProfilePictureUrl/solarprime"
    assert fake.requests[0].json == {"number": NUMBER}
    assert answer == {"wuid": JID, "profilePictureUrl": "https://pps.whatsapp.net/v/abc.jpg"}
    assert hidden["profilePictureUrl"] is None


@pytest.mark.asyncio
async def test_connection_state(fake: FakeEvolution) -> None:
    async with make_client(fake) as client:
        opened = await client.connection_state()
        fake.set_connection_state("close")
        closed = await client.connection_state()
    assert [(r.method, r.path, r.json) for r in fake.requests] == [
        ("GET", "/instance/connectionState/solarprime", None),
        ("GET", "/instance/connectionState/solarprime", None),
    ]
    assert opened == {"instance": {"instanceName": "solarprime", "state": "open"}}
    assert closed["instance"]["state"] == "close"


@pytest.mark.asyncio
async def test_set_and_find_webhook(fake: FakeEvolution) -> None:
    events = ["MESSAGES_UPSERT", "MESSAGES_UPDATE", "SEND_MESSAGE", "CONNECTION_UPDATE"]
    async with make_client(fake) as client:
        assert await client.find_webhook() is None
        stored = await client.set_webhook(
            "https://rasa.example.com/webhooks/evolution/webhook",
            events=events,
            headers={"jwt_key": "secret"},
        )
        found = await client.find_webhook()
    set_request = fake.requests[1]
    assert set_request.path == "/webhook/set/solarprime"
    assert set_request.json == {
        "webhook": {
            "enabled": True,
            "url": "https://rasa.example.com/webhooks/evolution/webhook",
            "byEvents": False,
            "base64": True,
            "events": events,
            "headers": {"jwt_key": "secret"},
        }
    }
    assert fake.requests[2].method == "GET"
    assert fake.requests[2].path == "/webhook/find/solarprime"
    assert stored["webhookBase64"] is True
    assert stored["events"] == events
    assert found == stored


@pytest.mark.asyncio
async def test_set_webhook_always_sends_events(fake: FakeEvolution) -> None:
    async with make_client(fake) as client:
        await client.set_webhook("http://rasa:5005/webhooks/evolution/webhook", events=[], base64=False)
    assert fake.requests[0].json["webhook"]["events"] == []
    assert "headers" not in fake.requests[0].json["webhook"]
    assert fake.webhook is not None and fake.webhook["webhookBase64"] is False


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "url, events, error",
    [
        ("rasa:5005/webhook", [], ValueError),
        ("", [], ValueError),
        ("ftp://rasa/webhook", [], ValueError),
        ("https://rasa/webhook", "MESSAGES_UPSERT", TypeError),
    ],
)
async def test_set_webhook_rejects_bad_arguments(
    fake: FakeEvolution, url: str, events: Any, error: type[Exception]
) -> None:
    async with make_client(fake) as client:
        with pytest.raises(error):
            await client.set_webhook(url, events=events)
    assert fake.requests == []


# --------------------------------------------------------------------------- post_custom


@pytest.mark.asyncio
async def test_post_custom_substitutes_instance(fake: FakeEvolution) -> None:
    poll = {"number": NUMBER, "name": "Melhor horário?", "selectableCount": 1, "values": ["Manhã", "Tarde"]}
    async with make_client(fake) as client:
        sent = await client.post_custom("/message/sendPoll/{instance}", poll)
    [request] = fake.requests
    assert request.path == "/message/sendPoll/solarprime"
    assert request.json == poll
    assert sent["messageType"] == "pollCreationMessageV3"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "endpoint",
    [
        "http://evil.example/message/sendPoll/{instance}",
        "https://evil.example/x",
        "//evil.example/message/sendPoll",
        "message/sendPoll/{instance}",
        "",
        "/message/../instance/delete/{instance}",
        "/message/%2e%2e/instance/logout/{instance}",
        "/message/./sendPoll/{instance}",
        "/..",
        "/message/sendPoll/{instance}#x",
        "/message/send Poll/{instance}",
        "/message\\sendPoll/{instance}",
        "/message/sendPoll/{instanceName}",
    ],
)
async def test_post_custom_refuses_unsafe_endpoints(fake: FakeEvolution, endpoint: str) -> None:
    async with make_client(fake) as client:
        with pytest.raises(ValueError):
            await client.post_custom(endpoint, {"number": NUMBER})
    assert fake.requests == []


@pytest.mark.asyncio
async def test_post_custom_send_is_not_retried_on_read_timeout(fake: FakeEvolution) -> None:
    fake.set_latency(LONG_LATENCY_S)
    async with make_client(fake, timeout_s=SHORT_TIMEOUT_S) as client:
        with pytest.raises(EvolutionUnavailable) as caught:
            await client.post_custom(
                "/message/sendLocation/{instance}",
                {"number": NUMBER, "latitude": -23.5, "longitude": -46.6, "name": "SolarX", "address": "SP"},
            )
    assert caught.value.maybe_delivered is True
    assert fake.wait_for(lambda: fake.requests and fake.requests[0].status == 201, SETTLE_TIMEOUT_S)
    assert len(fake.requests_for("sendLocation")) == 1


# --------------------------------------------------------------------------- 4xx


@pytest.mark.asyncio
async def test_wrong_api_key_is_401_and_not_retried(fake: FakeEvolution) -> None:
    async with make_client(fake, api_key="wrong-key") as client:
        with pytest.raises(EvolutionError) as caught:
            await client.send_text(NUMBER, "Oi")
    assert caught.value.status == 401
    assert caught.value.message == "Unauthorized"
    assert len(fake.requests) == 1
    assert fake.sent_texts() == []


@pytest.mark.asyncio
async def test_unknown_instance_is_404(fake: FakeEvolution) -> None:
    async with make_client(fake, instance="other") as client:
        with pytest.raises(EvolutionError) as caught:
            await client.connection_state()
    assert caught.value.status == 404
    assert caught.value.message == 'The "other" instance does not exist'
    assert len(fake.requests) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "number, text, message",
    [
        (NUMBER, "   ", "Text is required"),
        (NUMBER, "", "Text is required"),
    ],
)
async def test_validation_error_message_from_evolution_body(
    fake: FakeEvolution, number: str, text: str, message: str
) -> None:
    async with make_client(fake) as client:
        with pytest.raises(EvolutionError) as caught:
            await client.send_text(number, text)
    assert caught.value.status == 400
    assert caught.value.message == message
    assert caught.value.body["response"]["message"] == [message]
    assert len(fake.requests) == 1


@pytest.mark.asyncio
async def test_missing_field_is_400_with_schema_message(fake: FakeEvolution) -> None:
    async with make_client(fake) as client:
        with pytest.raises(EvolutionError) as caught:
            await client.post_custom("/message/sendText/{instance}", {"number": NUMBER})
    assert caught.value.status == 400
    assert caught.value.message == 'instance requires property "text"'


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 429])
async def test_4xx_is_never_retried(fake: FakeEvolution, status: int) -> None:
    fake.fail_next(5, status=status)
    async with make_client(fake, max_retries=3) as client:
        with pytest.raises(EvolutionError) as caught:
            await client.connection_state()
    assert caught.value.status == status
    assert len(fake.requests) == 1


@pytest.mark.asyncio
async def test_unregistered_number_error_masks_the_number(fake: FakeEvolution) -> None:
    fake.set_unregistered(NUMBER)
    async with make_client(fake) as client:
        with pytest.raises(EvolutionError) as caught:
            await client.send_text(NUMBER, "Oi")
    assert caught.value.status == 400
    assert caught.value.body["response"]["message"][0]["exists"] is False
    assert NUMBER not in caught.value.message
    assert NUMBER not in str(caught.value)
    assert MASKED_NUMBER in caught.value.message


@pytest.mark.asyncio
async def test_4xx_does_not_open_the_breaker(fake: FakeEvolution) -> None:
    fake.fail_next(4, status=400)
    async with make_client(fake, breaker_failures=2) as client:
        for _ in range(4):
            with pytest.raises(EvolutionError):
                await client.connection_state()
        assert client.breaker.state is BreakerState.CLOSED
        assert (await client.connection_state())["instance"]["state"] == "open"


# --------------------------------------------------------------------------- 5xx and connection errors


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_retried_then_succeeds(fake: FakeEvolution, status: int) -> None:
    fake.fail_next(2, status=status)
    async with make_client(fake, max_retries=3) as client:
        sent = await client.send_text(NUMBER, "Oi de novo")
    requests = fake.requests_for("sendText")
    assert [request.status for request in requests] == [status, status, 201]
    assert all(request.json == {"number": NUMBER, "text": "Oi de novo"} for request in requests)
    assert sent["key"]["id"]
    assert fake.sent_texts() == ["Oi de novo"]


@pytest.mark.asyncio
async def test_5xx_until_retries_run_out_is_unavailable(fake: FakeEvolution) -> None:
    fake.fail_next(10, status=500)
    async with make_client(fake, max_retries=2) as client:
        with pytest.raises(EvolutionUnavailable) as caught:
            await client.send_text(NUMBER, "Oi")
    assert caught.value.status == 500
    assert caught.value.maybe_delivered is False
    assert len(fake.requests) == 3


@pytest.mark.asyncio
async def test_closed_whatsapp_socket_is_unavailable(fake: FakeEvolution) -> None:
    fake.set_connection_state("close")
    async with make_client(fake, max_retries=1) as client:
        with pytest.raises(EvolutionUnavailable) as caught:
            await client.send_text(NUMBER, "Oi")
    assert caught.value.status == 500
    assert "Connection Closed" in str(caught.value)
    assert fake.sent_texts() == []


@pytest.mark.asyncio
async def test_gateway_timeout_on_send_is_not_retried(fake: FakeEvolution) -> None:
    fake.fail_next(3, status=504)
    async with make_client(fake, max_retries=3) as client:
        with pytest.raises(EvolutionUnavailable) as caught:
            await client.send_text(NUMBER, "Oi")
        assert caught.value.maybe_delivered is True
        assert len(fake.requests) == 1
        # Idempotent calls may retry the same status.
        state = await client.connection_state()
    assert state["instance"]["state"] == "open"
    assert [request.status for request in fake.requests_for("connectionState")] == [504, 504, 200]


@pytest.mark.asyncio
async def test_connection_refused_is_retried_then_unavailable(fake: FakeEvolution) -> None:
    fake.go_down()
    transport = CountingTransport()
    async with make_client(fake, max_retries=2, transport=transport) as client:
        with pytest.raises(EvolutionUnavailable) as caught:
            await client.send_text(NUMBER, "Oi")
    assert transport.attempts == 3
    assert caught.value.maybe_delivered is False
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert fake.requests == []


@pytest.mark.asyncio
async def test_connection_refused_recovers_when_evolution_comes_back(fake: FakeEvolution) -> None:
    async def come_back_later() -> None:
        await asyncio.sleep(0.15)
        await asyncio.to_thread(fake.come_back)

    transport = CountingTransport()
    client = make_client(fake, max_retries=8, backoff_base_s=0.05, backoff_max_s=0.1, transport=transport)
    async with client:
        await client.connection_state()  # leaves a pooled keep-alive connection behind
        fake.go_down()
        revival = asyncio.create_task(come_back_later())
        sent = await client.send_text(NUMBER, "Voltei")
        await revival
    assert sent["key"]["id"]
    assert transport.attempts >= 3  # the state call, at least one refused attempt, the success
    assert fake.sent_texts() == ["Voltei"]


@pytest.mark.asyncio
async def test_read_timeout_on_send_is_not_retried(fake: FakeEvolution) -> None:
    fake.set_latency(LONG_LATENCY_S)
    transport = CountingTransport()
    async with make_client(fake, timeout_s=SHORT_TIMEOUT_S, max_retries=3, transport=transport) as client:
        with pytest.raises(EvolutionUnavailable) as caught:
            await client.send_text(NUMBER, "Talvez duplicada")
    assert caught.value.maybe_delivered is True
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert transport.attempts == 1
    # Evolution still delivers it: that is why a blind retry would send it twice (P12).
    assert fake.wait_for(lambda: fake.sent_texts() == ["Talvez duplicada"], SETTLE_TIMEOUT_S)
    assert len(fake.requests_for("sendText")) == 1


@pytest.mark.asyncio
async def test_read_timeout_on_get_is_retried(fake: FakeEvolution) -> None:
    fake.set_latency(LONG_LATENCY_S)
    transport = CountingTransport()
    async with make_client(fake, timeout_s=SHORT_TIMEOUT_S, max_retries=1, transport=transport) as client:
        with pytest.raises(EvolutionUnavailable) as caught:
            await client.connection_state()
    assert caught.value.maybe_delivered is False
    assert transport.attempts == 2
    assert fake.wait_for(lambda: len(fake.requests_for("connectionState")) == 2, SETTLE_TIMEOUT_S)


@pytest.mark.asyncio
async def test_typing_delay_extends_the_read_timeout() -> None:
    # Evolution holds a send open for its `delay`; the client must not time out meanwhile.
    with FakeEvolution(apply_delays=True) as fake:
        async with make_client(fake, timeout_s=1.0, max_retries=0) as client:
            sent = await client.send_text(NUMBER, "Digitando...", delay_ms=1500)
    assert sent["key"]["id"]
    assert fake.sent_texts() == ["Digitando..."]


# --------------------------------------------------------------------------- circuit breaker


@pytest.mark.asyncio
async def test_breaker_opens_after_consecutive_failures_and_half_opens(fake: FakeEvolution) -> None:
    transport = CountingTransport()
    client = make_client(
        fake, max_retries=0, breaker_failures=3, breaker_reset_s=BREAKER_RESET_S, transport=transport
    )
    async with client:
        fake.go_down()
        for _ in range(3):
            with pytest.raises(EvolutionUnavailable):
                await client.connection_state()
        assert transport.attempts == 3
        assert client.breaker.state is BreakerState.OPEN

        fake.come_back()
        with pytest.raises(EvolutionUnavailable) as caught:
            await client.send_text(NUMBER, "Bloqueada")
        assert caught.value.retry_after_s is not None and caught.value.retry_after_s > 0
        assert transport.attempts == 3  # rejected without touching the network
        assert fake.requests == []

        await asyncio.sleep(BREAKER_RESET_S * 1.5)
        assert client.breaker.state is BreakerState.HALF_OPEN
        sent = await client.send_text(NUMBER, "Liberada")
        assert sent["key"]["id"]
        assert client.breaker.state is BreakerState.CLOSED
    assert fake.sent_texts() == ["Liberada"]


@pytest.mark.asyncio
async def test_a_health_probe_passes_an_open_breaker_once_and_closes_it_when_evolution_is_back(
    fake: FakeEvolution,
) -> None:
    transport = CountingTransport()
    client = make_client(fake, max_retries=3, breaker_failures=1, breaker_reset_s=60.0, transport=transport)
    async with client:
        fake.go_down()
        with pytest.raises(EvolutionUnavailable):
            await client.send_text(NUMBER, "Perdida")
        assert client.breaker.state is BreakerState.OPEN
        attempts = transport.attempts
        with pytest.raises(EvolutionUnavailable):
            await client.connection_state(probe=True)  # Evolution still down: one attempt, no retries
        assert transport.attempts == attempts + 1
        assert client.breaker.state is BreakerState.OPEN

        fake.come_back()
        with pytest.raises(EvolutionUnavailable):
            await client.connection_state()  # an ordinary call still waits for the breaker
        assert transport.attempts == attempts + 1
        answer = await client.connection_state(probe=True)
        assert answer["instance"]["state"] == "open"
        assert client.breaker.state is BreakerState.CLOSED
        assert (await client.send_text(NUMBER, "Liberada"))["key"]["id"]


@pytest.mark.asyncio
async def test_breaker_failed_trial_reopens(fake: FakeEvolution) -> None:
    transport = CountingTransport()
    client = make_client(
        fake, max_retries=0, breaker_failures=2, breaker_reset_s=BREAKER_RESET_S, transport=transport
    )
    async with client:
        fake.fail_next(10, status=503)
        for _ in range(2):
            with pytest.raises(EvolutionUnavailable):
                await client.connection_state()
        await asyncio.sleep(BREAKER_RESET_S * 1.5)
        with pytest.raises(EvolutionUnavailable) as trial:
            await client.connection_state()
        assert trial.value.status == 503
        assert transport.attempts == 3
        assert client.breaker.state is BreakerState.OPEN
        with pytest.raises(EvolutionUnavailable) as rejected:
            await client.connection_state()
        assert rejected.value.status is None
        assert transport.attempts == 3


@pytest.mark.asyncio
async def test_breaker_half_open_lets_a_single_trial_through(fake: FakeEvolution) -> None:
    client = make_client(fake, max_retries=0, breaker_failures=1, breaker_reset_s=BREAKER_RESET_S)
    async with client:
        fake.fail_next(1, status=500)
        with pytest.raises(EvolutionUnavailable):
            await client.connection_state()
        await asyncio.sleep(BREAKER_RESET_S * 1.5)
        fake.clear()
        fake.set_latency(0.3)
        results = await asyncio.gather(
            client.connection_state(), client.connection_state(), return_exceptions=True
        )
    successes = [result for result in results if isinstance(result, dict)]
    rejections = [result for result in results if isinstance(result, EvolutionUnavailable)]
    assert len(successes) == 1 and len(rejections) == 1
    assert len(fake.requests) == 1
    assert client.breaker.state is BreakerState.CLOSED


@pytest.mark.asyncio
async def test_cancelled_trial_frees_the_half_open_slot(fake: FakeEvolution) -> None:
    client = make_client(fake, max_retries=0, breaker_failures=1, breaker_reset_s=BREAKER_RESET_S)
    async with client:
        fake.fail_next(1, status=500)
        with pytest.raises(EvolutionUnavailable):
            await client.connection_state()
        await asyncio.sleep(BREAKER_RESET_S * 1.5)
        fake.set_latency(LONG_LATENCY_S)
        trial = asyncio.create_task(client.connection_state())
        assert await fake.async_wait_for(lambda: len(fake.requests) == 2, SETTLE_TIMEOUT_S)
        trial.cancel()
        with pytest.raises(asyncio.CancelledError):
            await trial
        fake.set_latency(0)
        state = await client.connection_state()
    assert state["instance"]["state"] == "open"
    assert client.breaker.state is BreakerState.CLOSED


@pytest.mark.asyncio
async def test_retries_stop_when_the_breaker_opens(fake: FakeEvolution) -> None:
    fake.fail_next(10, status=500)
    async with make_client(fake, max_retries=5, breaker_failures=2, breaker_reset_s=60.0) as client:
        with pytest.raises(EvolutionUnavailable):
            await client.send_text(NUMBER, "Oi")
    assert len(fake.requests) == 2


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_circuit_breaker_state_machine() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(2, 10.0, clock=clock)
    assert breaker.allow() and breaker.state is BreakerState.CLOSED
    breaker.record_failure()
    breaker.record_success()  # resets the consecutive count
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    assert breaker.retry_after_s == pytest.approx(10.0)
    clock.now += 10.0
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # one trial at a time
    breaker.release()  # e.g. the trial was cancelled
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.now += 10.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.retry_after_s == 0.0


@pytest.mark.parametrize("threshold, reset", [(0, 1.0), (-1, 1.0), (1, -0.1)])
def test_circuit_breaker_rejects_bad_parameters(threshold: int, reset: float) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(threshold, reset)


# --------------------------------------------------------------------------- concurrency, lifecycle, logging


@pytest.mark.asyncio
async def test_many_concurrent_sends_share_the_pool(fake: FakeEvolution) -> None:
    count = 60
    async with make_client(fake) as client:
        results = await asyncio.gather(
            *(client.send_text(f"55119876{index:05d}", f"mensagem {index}") for index in range(count))
        )
    assert len({result["key"]["id"] for result in results}) == count
    assert sorted(fake.sent_texts()) == sorted(f"mensagem {index}" for index in range(count))
    assert fake.sent_texts("5511987600007") == ["mensagem 7"]


@pytest.mark.asyncio
async def test_closed_client_refuses_calls(fake: FakeEvolution) -> None:
    client = make_client(fake)
    async with client:
        await client.connection_state()
    with pytest.raises(RuntimeError):
        await client.connection_state()
    await client.aclose()  # closing twice is harmless


@pytest.mark.asyncio
async def test_aclose_without_use_is_harmless(fake: FakeEvolution) -> None:
    client = make_client(fake)
    await client.aclose()
    assert fake.requests == []


@pytest.mark.asyncio
async def test_logs_never_show_api_key_or_full_number(
    fake: FakeEvolution, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_next(1, status=500)
    async with make_client(fake) as client:
        await client.send_text(NUMBER, "Oi")
        await client.send_presence(JID, delay_ms=100)
        await client.mark_as_read(JID, "ID1")
        await client.send_media(NUMBER, mediatype="image", media="https://x.example/a.jpg")
    assert "retry 1/3" in caplog.text
    assert MASKED_NUMBER in caplog.text
    assert "test-key" not in caplog.text
    assert NUMBER not in caplog.text
    assert "test-key" not in repr(client)


@pytest.mark.parametrize(
    "args, kwargs",
    [
        (("localhost:8080", "key", "solarprime"), {}),
        (("http://localhost:8080", "", "solarprime"), {}),
        (("http://localhost:8080", "key", ""), {}),
        (("http://localhost:8080", "key", "solarprime"), {"timeout_s": 0}),
        (("http://localhost:8080", "key", "solarprime"), {"max_retries": -1}),
        (("http://localhost:8080", "key", "solarprime"), {"breaker_failures": 0}),
    ],
)
def test_constructor_rejects_bad_configuration(args: tuple[str, str, str], kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        EvolutionClient(*args, **kwargs)
