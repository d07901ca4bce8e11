"""Voice-note transcription against a real OpenAI-compatible server on loopback (the fake)."""
from __future__ import annotations

import socket
import struct
from typing import Iterator

import httpx
import pytest

from actions import transcription
from actions.transcription import (
    TranscriptionSettings,
    detect_format,
    estimate_seconds,
    please_type_message,
    transcribe,
    transcript_from_evolution,
)
from tests.fake_openai import FakeOpenAI

OPUS_PRESKIP = 312
OPUS_RATE = 48_000


# --------------------------------------------------------------------------- audio samples


def _ogg_page(granule: int, sequence: int, payload: bytes, header_type: int = 0) -> bytes:
    # capture pattern, version, header type, granule, serial, sequence, CRC (unchecked), one segment
    header = b"OggS" + struct.pack("<BBqIIIB", 0, header_type, granule, 0x5EED, sequence, 0, 1)
    return header + bytes([len(payload)]) + payload


def ogg_opus(seconds: float, filler: int = 64) -> bytes:
    """A voice note as WhatsApp records it, as far as the container goes: OpusHead, then a last
    page whose granule position says how long it is."""
    opus_head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, OPUS_PRESKIP, OPUS_RATE, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 0) + struct.pack("<I", 0)
    granule = OPUS_PRESKIP + int(seconds * OPUS_RATE)
    return (
        _ogg_page(0, 0, opus_head, header_type=2)
        + _ogg_page(0, 1, tags)
        + _ogg_page(granule, 2, b"\x00" * filler, header_type=4)
    )


def wav(seconds: float, byte_rate: int = 32_000) -> bytes:
    data = b"\x00" * int(seconds * byte_rate)
    fmt = struct.pack("<HHIIHH", 1, 1, byte_rate // 2, byte_rate, 2, 16)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


MP3_ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" + b"\x00" * 64
MP3_FRAME = b"\xff\xfb\x90\x00" + b"\x00" * 64
M4A = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + b"\x00" * 64
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01" + b"\x00" * 64

NOT_AUDIO = {
    "png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
    "pdf": b"%PDF-1.7\n" + b"\x00" * 64,
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 64,
    "text": b"minha conta vem 450",
    "aac_adts": b"\xff\xf1\x50\x80" + b"\x00" * 64,  # frame sync but layer 00: AAC, not MP3
    "zip": b"PK\x03\x04" + b"\x00" * 64,
}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.reset()
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TRANSCRIPTION_MODEL", "TRANSCRIPTION_TIMEOUT_S",
                 "TRANSCRIPTION_MAX_RETRIES", "TRANSCRIPTION_MAX_SECONDS", "TRANSCRIPTION_MAX_BYTES"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def settings(fake: FakeOpenAI) -> TranscriptionSettings:
    return TranscriptionSettings(api_key=fake.api_key, base_url=fake.base_url, timeout_s=5.0, max_retries=0)


async def reason_of(audio: bytes, seconds, settings: TranscriptionSettings, mimetype: str = "audio/ogg"):
    return (await transcribe(audio, mimetype=mimetype, seconds=seconds, settings=settings)).reason


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- success


@pytest.mark.asyncio
async def test_a_voice_note_is_transcribed_in_portuguese(fake, settings):
    fake.queue_text("  Minha conta vem uns 450 reais  ")
    audio = ogg_opus(12)

    result = await transcribe(audio, mimetype="audio/ogg; codecs=opus", seconds=12, settings=settings)

    assert result.ok and result.text == "Minha conta vem uns 450 reais" and result.reason is None
    [request] = fake.requests
    assert request.path == "/v1/audio/transcriptions"
    assert request.headers["authorization"] == f"Bearer {fake.api_key}"
    assert request.fields == {"model": "whisper-1", "language": "pt", "response_format": "json"}
    assert (request.file_name, request.file_type, request.file_bytes) == ("audio.ogg", "audio/ogg", audio)


@pytest.mark.asyncio
async def test_the_configured_model_is_used(fake, settings):
    custom = TranscriptionSettings(api_key=fake.api_key, base_url=fake.base_url, model="whisper-large-v3")
    await transcribe(ogg_opus(3), mimetype="audio/ogg", seconds=3, settings=custom)
    assert fake.requests[0].fields["model"] == "whisper-large-v3"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "audio, file_name, file_type",
    [
        (ogg_opus(5), "audio.ogg", "audio/ogg"),
        (MP3_ID3, "audio.mp3", "audio/mpeg"),
        (MP3_FRAME, "audio.mp3", "audio/mpeg"),
        (M4A, "audio.m4a", "audio/mp4"),
        (wav(2), "audio.wav", "audio/wav"),
        (WEBM, "audio.webm", "audio/webm"),
    ],
    ids=["ogg", "mp3-id3", "mp3-frame", "m4a", "wav", "webm"],
)
async def test_the_format_comes_from_the_bytes_not_the_declared_mimetype(
    fake, settings, audio, file_name, file_type
):
    # Every one declared as a voice note: the server still gets the real format's name and type.
    result = await transcribe(audio, mimetype="audio/ogg; codecs=opus", seconds=5, settings=settings)
    assert result.ok
    assert (fake.requests[0].file_name, fake.requests[0].file_type) == (file_name, file_type)


@pytest.mark.asyncio
async def test_settings_come_from_the_environment_at_call_time(fake, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", fake.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("TRANSCRIPTION_MODEL", "gpt-4o-mini-transcribe")
    fake.queue_text("oi")
    result = await transcribe(ogg_opus(2), mimetype="audio/ogg", seconds=2)
    assert result.text == "oi"
    assert fake.requests[0].fields["model"] == "gpt-4o-mini-transcribe"


# --------------------------------------------------------------------------- refused before any request


@pytest.mark.asyncio
async def test_no_key_makes_no_request(fake):
    result = await transcribe(ogg_opus(5), mimetype="audio/ogg", seconds=5,
                              settings=TranscriptionSettings(base_url=fake.base_url))
    assert (result.ok, result.reason) == (False, "no_key")
    assert fake.requests == []


@pytest.mark.asyncio
async def test_no_key_in_the_environment_makes_no_request(fake, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    result = await transcribe(ogg_opus(5), mimetype="audio/ogg", seconds=5)
    assert result.reason == "no_key"
    assert fake.requests == []


@pytest.mark.asyncio
async def test_a_file_over_25_mb_is_refused_without_a_request(fake, settings):
    huge = ogg_opus(5) + b"\x00" * (25 * 1024 * 1024)
    result = await transcribe(huge, mimetype="audio/ogg", seconds=5, settings=settings)
    assert result.reason == "too_big"
    assert fake.requests == []


@pytest.mark.asyncio
async def test_the_size_limit_is_configurable_and_inclusive(fake, settings):
    audio = ogg_opus(1)
    at_limit = TranscriptionSettings(api_key=fake.api_key, base_url=fake.base_url, max_bytes=len(audio))
    below = TranscriptionSettings(api_key=fake.api_key, base_url=fake.base_url, max_bytes=len(audio) - 1)
    assert (await transcribe(audio, mimetype="audio/ogg", seconds=1, settings=at_limit)).ok
    assert (await transcribe(audio, mimetype="audio/ogg", seconds=1, settings=below)).reason == "too_big"
    assert len(fake.requests) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("name", sorted(NOT_AUDIO))
async def test_what_is_not_audio_is_refused_without_a_request(fake, settings, name):
    assert await reason_of(NOT_AUDIO[name], 5, settings, mimetype="audio/ogg; codecs=opus") == "wrong_type"
    assert fake.requests == []


@pytest.mark.asyncio
@pytest.mark.parametrize("audio", ["not bytes", None, 450, ["OggS"]], ids=["str", "none", "int", "list"])
async def test_a_wrong_python_type_is_refused(fake, settings, audio):
    assert await reason_of(audio, 5, settings) == "wrong_type"
    assert fake.requests == []


@pytest.mark.asyncio
async def test_no_bytes_at_all_is_empty(fake, settings):
    assert (await transcribe(b"", mimetype="audio/ogg", seconds=0, settings=settings)).reason == "empty"
    assert fake.requests == []


@pytest.mark.asyncio
async def test_a_voice_note_over_the_duration_limit_is_refused(fake, settings):
    short_limit = TranscriptionSettings(api_key=fake.api_key, base_url=fake.base_url, max_seconds=60)
    assert await reason_of(ogg_opus(1), 61, short_limit) == "too_long"
    assert (await transcribe(ogg_opus(1), mimetype="audio/ogg", seconds=60, settings=short_limit)).ok
    assert len(fake.requests) == 1


@pytest.mark.asyncio
async def test_the_default_duration_limit_is_ten_minutes(fake, settings):
    assert await reason_of(ogg_opus(1), 601, settings) == "too_long"
    assert (await transcribe(ogg_opus(1), mimetype="audio/ogg", seconds=600, settings=settings)).ok


@pytest.mark.asyncio
async def test_the_duration_is_read_from_the_file_when_not_given_or_understated(fake, settings):
    long_note = ogg_opus(11 * 60)
    assert await reason_of(long_note, None, settings) == "too_long"
    assert await reason_of(long_note, 5, settings) == "too_long"
    short_limit = TranscriptionSettings(api_key=fake.api_key, base_url=fake.base_url, max_seconds=1)
    assert await reason_of(wav(2), None, short_limit, mimetype="audio/wav") == "too_long"
    assert fake.requests == []


# --------------------------------------------------------------------------- server failures


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [500, 502, 503, 429, 400])
async def test_an_error_status_is_a_server_error(fake, settings, status):
    fake.fail_next(1, status)
    result = await transcribe(ogg_opus(5), mimetype="audio/ogg", seconds=5, settings=settings)
    assert (result.ok, result.reason) == (False, "server_error")
    assert str(status) in result.detail


@pytest.mark.asyncio
async def test_a_failure_is_retried_when_retries_are_configured(fake):
    retrying = TranscriptionSettings(api_key=fake.api_key, base_url=fake.base_url, max_retries=1)
    fake.fail_next(1, 500)
    fake.queue_text("segunda tentativa")
    result = await transcribe(ogg_opus(5), mimetype="audio/ogg", seconds=5, settings=retrying)
    assert result.text == "segunda tentativa"
    assert [request.status for request in fake.requests] == [500, 200]


@pytest.mark.asyncio
async def test_a_slow_server_is_a_timeout(fake):
    fake.set_latency(1.0)
    impatient = TranscriptionSettings(
        api_key=fake.api_key, base_url=fake.base_url, timeout_s=0.2, max_retries=0
    )
    result = await transcribe(ogg_opus(5), mimetype="audio/ogg", seconds=5, settings=impatient)
    assert result.reason == "timeout"
    assert len(fake.requests) == 1


@pytest.mark.asyncio
async def test_a_malformed_body_is_a_server_error(fake, settings):
    fake.malformed_next()
    result = await transcribe(ogg_opus(5), mimetype="audio/ogg", seconds=5, settings=settings)
    assert result.reason == "server_error"


@pytest.mark.asyncio
async def test_a_wrong_key_is_a_server_error(fake):
    wrong = TranscriptionSettings(api_key="sk-wrong", base_url=fake.base_url, max_retries=0)
    result = await transcribe(ogg_opus(5), mimetype="audio/ogg", seconds=5, settings=wrong)
    assert result.reason == "server_error" and "401" in result.detail


@pytest.mark.asyncio
async def test_a_server_that_is_down_is_a_server_error():
    down = TranscriptionSettings(api_key="k", base_url=f"http://127.0.0.1:{_closed_port()}/v1", max_retries=0)
    result = await transcribe(ogg_opus(5), mimetype="audio/ogg", seconds=5, settings=down)
    assert result.reason == "server_error"


@pytest.mark.asyncio
@pytest.mark.parametrize("text", ["", "   ", "\n"])
async def test_a_blank_transcript_is_empty(fake, settings, text):
    fake.queue_text(text)
    result = await transcribe(ogg_opus(5), mimetype="audio/ogg", seconds=5, settings=settings)
    assert (result.ok, result.reason) == (False, "empty")


# --------------------------------------------------------------------------- the lead's side


@pytest.mark.parametrize(
    "reason", ["no_key", "too_big", "too_long", "wrong_type", "server_error", "timeout", "empty", None]
)
def test_every_failure_has_a_polite_request_to_type(reason):
    message = please_type_message(reason)
    assert "escrito" in message and "por favor" in message


@pytest.mark.parametrize(
    "speech_to_text, expected",
    [
        ("[audio] Quanto custa a instalação?", "Quanto custa a instalação?"),
        ("[audio]minha conta vem 450", "minha conta vem 450"),
        ("  [audio]   tenho interesse  ", "tenho interesse"),
        ("sem prefixo", "sem prefixo"),
        ("[audio] ", None),
        ("", None),
        (None, None),
        (3, None),
    ],
)
def test_evolutions_transcript_loses_its_prefix(speech_to_text, expected):
    assert transcript_from_evolution(speech_to_text) == expected


# --------------------------------------------------------------------------- pure helpers and settings


def test_format_detection():
    assert detect_format(ogg_opus(1)) is transcription.OGG
    assert detect_format(MP3_ID3) is transcription.MP3
    assert detect_format(M4A) is transcription.M4A
    assert detect_format(wav(1)) is transcription.WAV
    assert detect_format(WEBM) is transcription.WEBM
    assert detect_format(b"") is None
    assert detect_format(b"\xff") is None


def test_duration_estimates():
    assert estimate_seconds(ogg_opus(42.5), transcription.OGG) == pytest.approx(42.5)
    assert estimate_seconds(wav(3), transcription.WAV) == pytest.approx(3.0)
    assert estimate_seconds(MP3_ID3, transcription.MP3) is None
    assert estimate_seconds(b"OggS" + b"\x00" * 10, transcription.OGG) is None  # no OpusHead
    truncated = wav(1)[:44]  # header only, data cut off
    assert estimate_seconds(truncated, transcription.WAV) == 0.0


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("TRANSCRIPTION_MAX_SECONDS", "120")
    monkeypatch.setenv("TRANSCRIPTION_TIMEOUT_S", "not-a-number")
    monkeypatch.setenv("TRANSCRIPTION_MAX_RETRIES", "-3")
    settings = TranscriptionSettings.from_env()
    assert (settings.api_key, settings.base_url) == ("sk-test", "http://127.0.0.1:9/v1")
    assert settings.model == "whisper-1"
    assert settings.max_seconds == 120
    assert settings.timeout_s == transcription.DEFAULT_TIMEOUT_S
    assert settings.max_retries == transcription.DEFAULT_MAX_RETRIES
    assert settings.max_bytes == 25 * 1024 * 1024


def test_defaults_without_environment():
    settings = TranscriptionSettings.from_env()
    assert settings.api_key is None and settings.base_url is None
    assert (settings.model, settings.max_seconds) == ("whisper-1", 600)


# --------------------------------------------------------------------------- the fake itself


def test_the_fake_checks_the_bearer_token_and_the_form(fake):
    files = {"file": ("a.ogg", ogg_opus(1), "audio/ogg")}
    url = f"{fake.base_url}/audio/transcriptions"
    assert httpx.post(url, files=files, data={"model": "whisper-1"}).status_code == 401
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    missing_model = httpx.post(url, files=files, headers=headers)
    assert missing_model.status_code == 400 and missing_model.json()["error"]["param"] == "model"
    srt = httpx.post(url, files=files, data={"model": "m", "response_format": "srt"}, headers=headers)
    assert srt.status_code == 400
    fake.queue_text("texto puro")
    plain = httpx.post(url, files=files, data={"model": "m", "response_format": "text"}, headers=headers)
    assert (plain.status_code, plain.text) == (200, "texto puro")
    assert httpx.get(f"{fake.url}/v1/models", headers=headers).status_code == 404
