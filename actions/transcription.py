"""Voice notes to text, through any OpenAI-compatible speech-to-text server.

Evolution can transcribe voice notes itself (its `speechToText` field); when it
did, `transcript_from_evolution` is all that is needed and no request is made.
Otherwise `transcribe` sends the audio through the openai SDK to
`OPENAI_BASE_URL` (OpenAI, a self-hosted faster-whisper, Groq, ...).

It never raises for a bad voice note or a failing server: the result carries
either the text or a reason, and the caller answers with `please_type_message`
(a polite request to type) so the conversation goes on.

    result = await transcribe(audio, mimetype="audio/ogg; codecs=opus", seconds=12)
    text = result.text if result.ok else please_type_message(result.reason)

The checks that need no network (key, size, type, duration) run first, from the
bytes themselves: the declared mimetype comes from the sender and is not trusted.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Literal, Optional

import openai

from sdr.env import env_number

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- configuration

API_KEY_ENV = "OPENAI_API_KEY"
BASE_URL_ENV = "OPENAI_BASE_URL"
MODEL_ENV = "TRANSCRIPTION_MODEL"
TIMEOUT_ENV = "TRANSCRIPTION_TIMEOUT_S"
MAX_RETRIES_ENV = "TRANSCRIPTION_MAX_RETRIES"
MAX_SECONDS_ENV = "TRANSCRIPTION_MAX_SECONDS"
MAX_BYTES_ENV = "TRANSCRIPTION_MAX_BYTES"

DEFAULT_MODEL = "whisper-1"
# A minute of voice note transcribes in a few seconds; past this the lead is
# better served by a request to type than by more waiting.
DEFAULT_TIMEOUT_S = 20.0
# One retry absorbs a dropped connection or a 429/5xx blip without doubling the
# worst-case wait more than once (the SDK backs off between attempts).
DEFAULT_MAX_RETRIES = 1
# Long monologues cost money and rarely qualify a lead better than a short
# answer; ten minutes covers any honest voice note.
DEFAULT_MAX_SECONDS = 10 * 60
# OpenAI's hard limit for /audio/transcriptions; other servers accept at least this.
DEFAULT_MAX_BYTES = 25 * 1024 * 1024
# The leads speak Brazilian Portuguese; naming it avoids misdetection on short notes.
LANGUAGE = "pt"
RESPONSE_FORMAT: Literal["json"] = "json"  # a Literal: the SDK overloads on it


@dataclass(frozen=True)
class TranscriptionSettings:
    api_key: Optional[str] = None
    base_url: Optional[str] = None  # None: the SDK's default (OpenAI's)
    model: str = DEFAULT_MODEL
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_retries: int = DEFAULT_MAX_RETRIES
    max_seconds: int = DEFAULT_MAX_SECONDS
    max_bytes: int = DEFAULT_MAX_BYTES

    @classmethod
    def from_env(cls) -> TranscriptionSettings:
        return cls(
            api_key=os.environ.get(API_KEY_ENV) or None,
            base_url=os.environ.get(BASE_URL_ENV) or None,
            model=os.environ.get(MODEL_ENV) or DEFAULT_MODEL,
            timeout_s=env_number(TIMEOUT_ENV, DEFAULT_TIMEOUT_S, minimum=0.001),
            max_retries=int(env_number(MAX_RETRIES_ENV, DEFAULT_MAX_RETRIES, minimum=0)),
            max_seconds=int(env_number(MAX_SECONDS_ENV, DEFAULT_MAX_SECONDS, minimum=1)),
            max_bytes=int(env_number(MAX_BYTES_ENV, DEFAULT_MAX_BYTES, minimum=1)),
        )


# --------------------------------------------------------------------------- results

Reason = Literal["no_key", "too_big", "too_long", "wrong_type", "server_error", "timeout", "empty"]


@dataclass(frozen=True)
class TranscriptionResult:
    text: Optional[str] = None
    reason: Optional[Reason] = None
    detail: str = ""  # for logs only, never shown to the lead

    @property
    def ok(self) -> bool:
        return self.text is not None


# What the lead reads when a voice note cannot be used (pt-BR, WhatsApp tone).
_PLEASE_TYPE = "Desculpe, não consegui ouvir seu áudio agora 😕 Pode me mandar por escrito, por favor?"
_PLEASE_TYPE_BY_REASON = {
    "too_long": "Seu áudio ficou um pouco longo para eu ouvir 😅 Pode me resumir por escrito, por favor?",
    "too_big": "Seu áudio ficou um pouco longo para eu ouvir 😅 Pode me resumir por escrito, por favor?",
    "wrong_type": "Não consegui abrir esse arquivo de áudio 😕 Pode me mandar por escrito, por favor?",
    "empty": "Não consegui entender o que foi dito no áudio 😕 Pode me mandar por escrito, por favor?",
}


def please_type_message(reason: Optional[str]) -> str:
    """The polite request to type for a voice note that could not be transcribed."""
    return _PLEASE_TYPE_BY_REASON.get(reason or "", _PLEASE_TYPE)


# --------------------------------------------------------------------------- Evolution

EVOLUTION_PREFIX = "[audio]"


def transcript_from_evolution(speech_to_text: Optional[str]) -> Optional[str]:
    """Evolution's own transcript without its "[audio] " prefix; None when there is none."""
    if not isinstance(speech_to_text, str):
        return None
    text = speech_to_text.strip()
    if text.startswith(EVOLUTION_PREFIX):
        text = text[len(EVOLUTION_PREFIX):].strip()
    return text or None


# --------------------------------------------------------------------------- audio inspection (pure)


@dataclass(frozen=True)
class AudioFormat:
    name: str
    file_name: str  # servers (OpenAI's included) tell the format by the extension
    mimetype: str


OGG = AudioFormat("ogg", "audio.ogg", "audio/ogg")
MP3 = AudioFormat("mp3", "audio.mp3", "audio/mpeg")
M4A = AudioFormat("m4a", "audio.m4a", "audio/mp4")
WAV = AudioFormat("wav", "audio.wav", "audio/wav")
WEBM = AudioFormat("webm", "audio.webm", "audio/webm")

_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_MPEG_SYNC = 0xFFE0  # 11 set bits of an MPEG audio frame header
_MPEG_LAYER_BITS = 0x06  # 00 there is ADTS AAC, not MP3


def detect_format(audio: bytes) -> Optional[AudioFormat]:
    """The container, from its magic bytes; None when it is none of the supported ones."""
    if audio[:4] == b"OggS":
        return OGG
    if audio[:3] == b"ID3":
        return MP3
    if len(audio) >= 2:
        header = int.from_bytes(audio[:2], "big")
        if header & _MPEG_SYNC == _MPEG_SYNC and header & _MPEG_LAYER_BITS:
            return MP3
    if audio[4:8] == b"ftyp":
        return M4A
    if audio[:4] == b"RIFF" and audio[8:12] == b"WAVE":
        return WAV
    if audio[:4] == _EBML_MAGIC:
        return WEBM
    return None


_OGG_PAGE_MAGIC = b"OggS"
_OGG_GRANULE = slice(6, 14)
_OPUS_HEAD = b"OpusHead"
_OPUS_HEAD_OFFSET = 28  # the first page's 27-byte header plus one lacing byte
_OPUS_PRESKIP = slice(10, 12)
_OPUS_RATE = 48_000  # Opus granule positions always count 48 kHz samples
_NO_GRANULE = (1 << 64) - 1
_WAV_CHUNKS_START = 12
_WAV_BYTE_RATE = slice(8, 12)  # within the fmt chunk's body


def estimate_seconds(audio: bytes, audio_format: Optional[AudioFormat]) -> Optional[float]:
    """Duration read from the container where that is cheap (Ogg Opus, WAV); None otherwise.

    Used when Evolution gives no `seconds`, and to catch a `seconds` that understates.
    """
    if audio_format is OGG:
        return _ogg_opus_seconds(audio)
    if audio_format is WAV:
        return _wav_seconds(audio)
    return None


def _ogg_opus_seconds(audio: bytes) -> Optional[float]:
    head = _OPUS_HEAD_OFFSET
    if audio[head:head + len(_OPUS_HEAD)] != _OPUS_HEAD:
        return None
    last_page = audio.rfind(_OGG_PAGE_MAGIC)
    granule_bytes = audio[last_page + _OGG_GRANULE.start:last_page + _OGG_GRANULE.stop]
    if last_page < 0 or len(granule_bytes) != _OGG_GRANULE.stop - _OGG_GRANULE.start:
        return None
    granule = int.from_bytes(granule_bytes, "little")
    if granule == _NO_GRANULE:
        return None
    preskip = int.from_bytes(audio[head + _OPUS_PRESKIP.start:head + _OPUS_PRESKIP.stop], "little")
    return max(0, granule - preskip) / _OPUS_RATE


def _wav_seconds(audio: bytes) -> Optional[float]:
    offset, byte_rate = _WAV_CHUNKS_START, 0
    while offset + 8 <= len(audio):
        chunk_id = audio[offset:offset + 4]
        size = int.from_bytes(audio[offset + 4:offset + 8], "little")
        body = offset + 8
        if chunk_id == b"fmt ":
            rate_bytes = audio[body + _WAV_BYTE_RATE.start:body + _WAV_BYTE_RATE.stop]
            byte_rate = int.from_bytes(rate_bytes, "little")
        elif chunk_id == b"data":
            if not byte_rate:
                return None
            # Streamed WAVs leave the size at 0 or 0xFFFFFFFF: count what is there.
            available = len(audio) - body
            return (min(size, available) if size else available) / byte_rate
        offset = body + size + (size & 1)  # chunks are word-aligned
    return None


def check_audio(
    audio: bytes, *, seconds: Optional[int], settings: TranscriptionSettings
) -> tuple[Optional[AudioFormat], Optional[TranscriptionResult]]:
    """The local checks: (format, None) when the audio may be sent, else (None, failure)."""
    if not settings.api_key:
        return None, TranscriptionResult(reason="no_key", detail=f"{API_KEY_ENV} is not set")
    if not isinstance(audio, (bytes, bytearray, memoryview)):
        return None, TranscriptionResult(reason="wrong_type", detail=f"audio is {type(audio).__name__}")
    audio = bytes(audio)
    if not audio:
        return None, TranscriptionResult(reason="empty", detail="no audio bytes")
    if len(audio) > settings.max_bytes:
        return None, TranscriptionResult(
            reason="too_big", detail=f"{len(audio)} bytes > {settings.max_bytes}"
        )
    audio_format = detect_format(audio)
    if audio_format is None:
        return None, TranscriptionResult(reason="wrong_type", detail=f"unknown magic {audio[:12]!r}")
    declared = seconds if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else None
    estimated = estimate_seconds(audio, audio_format)
    longest = max((value for value in (declared, estimated) if value is not None), default=None)
    if longest is not None and longest > settings.max_seconds:
        return None, TranscriptionResult(
            reason="too_long", detail=f"{longest:.0f} s > {settings.max_seconds} s"
        )
    return audio_format, None


# --------------------------------------------------------------------------- I/O


async def transcribe(
    audio: bytes,
    *,
    mimetype: str,
    seconds: Optional[int],
    settings: Optional[TranscriptionSettings] = None,
) -> TranscriptionResult:
    """The voice note's text, or the reason there is none. Never raises.

    `settings` defaults to `TranscriptionSettings.from_env()`, read at call time
    (not at import time) so a changed environment is honoured.
    """
    settings = settings or TranscriptionSettings.from_env()
    audio_format, failure = check_audio(audio, seconds=seconds, settings=settings)
    if failure is not None:
        if failure.reason != "no_key":
            logger.info(
                "voice note not transcribed: %s (%s; declared %s)", failure.reason, failure.detail, mimetype
            )
        return failure
    assert audio_format is not None
    try:
        async with openai.AsyncOpenAI(
            api_key=settings.api_key,
            base_url=settings.base_url,
            timeout=settings.timeout_s,
            max_retries=settings.max_retries,
        ) as client:
            transcription = await client.audio.transcriptions.create(
                model=settings.model,
                file=(audio_format.file_name, bytes(audio), audio_format.mimetype),
                language=LANGUAGE,
                response_format=RESPONSE_FORMAT,
            )
    except openai.APITimeoutError as error:
        logger.warning("transcription timed out after %s s: %s", settings.timeout_s, error)
        return TranscriptionResult(reason="timeout", detail=str(error))
    except openai.APIStatusError as error:
        logger.warning("transcription server answered %s: %s", error.status_code, error.message)
        return TranscriptionResult(reason="server_error", detail=f"HTTP {error.status_code}")
    except Exception as error:  # noqa: BLE001 - connection errors, unparseable bodies, SDK bugs
        logger.warning("transcription failed: %r", error)
        return TranscriptionResult(reason="server_error", detail=repr(error))
    text = getattr(transcription, "text", None)
    if not isinstance(text, str) or not text.strip():
        return TranscriptionResult(reason="empty", detail="the server returned no text")
    return TranscriptionResult(text=text.strip())
