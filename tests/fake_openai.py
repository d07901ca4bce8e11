"""A fake OpenAI-compatible speech-to-text server for tests.

Real HTTP on loopback: an aiohttp app in a background thread with its own event loop (the
same design as ``tests/fake_evolution.py``). It speaks ``POST /v1/audio/transcriptions`` the
way OpenAI does: multipart form with ``file``, ``model``, optional ``language``,
``response_format`` (``json``, ``text``, ``verbose_json``); ``Authorization: Bearer <key>``;
OpenAI's error body ``{"error": {"message", "type", "param", "code"}}``; 413 over 25 MB.

    with FakeOpenAI() as fake:                   # api_key="test-openai-key"
        settings = TranscriptionSettings(api_key=fake.api_key, base_url=fake.base_url)
        fake.queue_text("minha conta vem uns 450 reais")
        ...
        assert fake.requests[0].fields["language"] == "pt"

Injection: ``queue_text`` (the next transcripts, in order; then ``default_text``),
``fail_next`` (status codes), ``set_latency``, ``malformed_next`` (a 200 whose body is not
JSON). It does not decode audio: any bytes are "transcribed".

Standalone: ``python -m tests.fake_openai --port 8081`` (Ctrl-C stops).
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from aiohttp import web

from tests.fake_server import DEFAULT_HOST, EPHEMERAL_PORT, BackgroundServer, serve_until_signalled

logger = logging.getLogger(__name__)

DEFAULT_API_KEY = "test-openai-key"
DEFAULT_TEXT = "Olá, tudo bem?"
DEFAULT_CLI_PORT = 8081
# OpenAI's limit for an uploaded audio file; the body may be a little larger (form fields).
MAX_FILE_BYTES = 25 * 1024 * 1024
# Room for the multipart framing so that a file at the limit still reaches the size check.
MAX_BODY_BYTES = MAX_FILE_BYTES + 1024 * 1024
MALFORMED_BODY = '{"text": "unterminated'
RESPONSE_FORMATS = ("json", "text", "verbose_json")

HTTP_BAD_REQUEST = 400
HTTP_UNAUTHORIZED = 401
HTTP_NOT_FOUND = 404
HTTP_TOO_LARGE = 413
HTTP_INTERNAL_ERROR = 500
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    413: "invalid_request_error",
    429: "requests",
    500: "server_error",
    502: "server_error",
    503: "server_error",
}


@dataclass
class RecordedTranscription:
    """One request as the fake received it. ``headers`` has lower-case names; ``fields`` holds
    the non-file form fields; the file part is in ``file_name``/``file_type``/``file_bytes``."""

    method: str
    path: str
    headers: dict[str, str]
    fields: dict[str, str] = field(default_factory=dict)
    file_name: Optional[str] = None
    file_type: Optional[str] = None
    file_bytes: bytes = b""
    time: float = 0.0  # time.monotonic() at arrival
    status: Optional[int] = None  # set once answered


def error_body(status: int, message: str, *, param: Optional[str] = None, code: Optional[str] = None) -> dict:
    return {
        "error": {
            "message": message,
            "type": _ERROR_TYPES.get(status, "server_error"),
            "param": param,
            "code": code,
        }
    }


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response(error_body(status, message, **extra), status=status)


class FakeOpenAI(BackgroundServer):
    """OpenAI's /v1/audio/transcriptions on 127.0.0.1, in a background thread. Thread-safe."""

    name = "fake-openai"

    def __init__(
        self, api_key: str = DEFAULT_API_KEY, *, host: str = DEFAULT_HOST, port: int = EPHEMERAL_PORT
    ) -> None:
        super().__init__(host=host, port=port)
        self.api_key = api_key
        self.default_text = DEFAULT_TEXT
        self._lock = threading.Lock()
        self._requests: list[RecordedTranscription] = []
        self._texts: collections.deque[str] = collections.deque()
        self._failures: collections.deque[int] = collections.deque()
        self._malformed_remaining = 0
        self._latency_s = 0.0

    # ----------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """What OPENAI_BASE_URL should be set to (the SDK appends /audio/transcriptions)."""
        return f"{self.url}/v1"

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post("/v1/audio/transcriptions", self._transcriptions)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    # ----------------------------------------------------------------- inspection

    @property
    def requests(self) -> list[RecordedTranscription]:
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget the requests and undo every injection."""
        with self._lock:
            self._requests.clear()
            self._texts.clear()
            self._failures.clear()
            self._malformed_remaining = 0
            self._latency_s = 0.0
            self.default_text = DEFAULT_TEXT

    # ----------------------------------------------------------------- injection

    def queue_text(self, *texts: str) -> None:
        """The transcripts of the next successful requests, in order."""
        with self._lock:
            self._texts.extend(texts)

    def fail_next(self, count: int, status: int = HTTP_INTERNAL_ERROR) -> None:
        """Answer the next ``count`` authenticated requests with ``status`` and an OpenAI error body."""
        if count < 0 or status < HTTP_BAD_REQUEST:
            raise ValueError("count must be >= 0 and status an HTTP error status")
        with self._lock:
            self._failures.extend([status] * count)

    def malformed_next(self, count: int = 1) -> None:
        """Answer the next ``count`` requests 200 with a JSON content type and a body that is not JSON."""
        with self._lock:
            self._malformed_remaining += count

    def set_latency(self, seconds: float) -> None:
        """Delay every answer by ``seconds`` (the request is recorded on arrival)."""
        if seconds < 0:
            raise ValueError("latency must not be negative")
        with self._lock:
            self._latency_s = seconds

    # ----------------------------------------------------------------- route

    async def _not_found(self, request: web.Request) -> web.Response:
        return _error(HTTP_NOT_FOUND, f"Invalid URL ({request.method} {request.path})")

    async def _transcriptions(self, request: web.Request) -> web.Response:
        record = RecordedTranscription(
            method=request.method,
            path=request.path,
            headers={name.lower(): value for name, value in request.headers.items()},
            time=time.monotonic(),
        )
        with self._lock:
            self._requests.append(record)
            latency_s = self._latency_s
        response = await self._answer(request, record)
        if latency_s:
            await asyncio.sleep(latency_s)
        record.status = response.status
        logger.info("%s %s -> %d", request.method, request.path, response.status)
        return response

    async def _answer(self, request: web.Request, record: RecordedTranscription) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(
                HTTP_UNAUTHORIZED, "Incorrect API key provided.", code="invalid_api_key"
            )
        if not request.content_type.startswith("multipart/"):
            return _error(HTTP_BAD_REQUEST, "Expected a multipart/form-data body.")
        try:
            await self._read_form(request, record)
        except web.HTTPRequestEntityTooLarge:
            return _error(HTTP_TOO_LARGE, f"Maximum content size limit ({MAX_FILE_BYTES}) exceeded.")
        except ValueError as error:
            return _error(HTTP_BAD_REQUEST, f"Could not parse multipart form: {error}")

        with self._lock:
            injected = self._failures.popleft() if self._failures else None
            malformed = False
            if injected is None and self._malformed_remaining > 0:
                self._malformed_remaining -= 1
                malformed = True
        if injected is not None:
            return _error(injected, "Injected failure (fake OpenAI)")

        problem = self._validate(record)
        if problem is not None:
            return problem
        if malformed:
            return web.Response(text=MALFORMED_BODY, content_type="application/json")
        with self._lock:
            text = self._texts.popleft() if self._texts else self.default_text
        response_format = record.fields.get("response_format", "json")
        if response_format == "text":
            return web.Response(text=text, content_type="text/plain")
        if response_format == "verbose_json":
            return web.json_response(
                {"task": "transcribe", "language": record.fields.get("language", "portuguese"),
                 "duration": 1.0, "text": text, "segments": []}
            )
        return web.json_response({"text": text})

    @staticmethod
    async def _read_form(request: web.Request, record: RecordedTranscription) -> None:
        reader = await request.multipart()
        async for part in reader:
            if part.name == "file":
                record.file_name = part.filename
                record.file_type = part.headers.get("Content-Type")
                record.file_bytes = bytes(await part.read())
                if len(record.file_bytes) > MAX_FILE_BYTES:
                    raise web.HTTPRequestEntityTooLarge(
                        max_size=MAX_FILE_BYTES, actual_size=len(record.file_bytes)
                    )
            elif part.name:
                record.fields[part.name] = await part.text()

    @staticmethod
    def _validate(record: RecordedTranscription) -> Optional[web.Response]:
        if record.file_name is None:
            return _error(HTTP_BAD_REQUEST, "you must provide a file", param="file")
        if not record.file_bytes:
            return _error(HTTP_BAD_REQUEST, "Audio file is empty.", param="file")
        if not record.fields.get("model"):
            return _error(HTTP_BAD_REQUEST, "you must provide a model parameter", param="model")
        response_format = record.fields.get("response_format", "json")
        if response_format not in RESPONSE_FORMATS:
            return _error(
                HTTP_BAD_REQUEST,
                f"response_format must be one of {', '.join(RESPONSE_FORMATS)} (fake)",
                param="response_format",
            )
        return None


# --------------------------------------------------------------------------- command line


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible transcription server.")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_CLI_PORT)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--text", default=DEFAULT_TEXT, help="the transcript of every request")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    fake = FakeOpenAI(args.api_key, host=args.host, port=args.port)
    fake.default_text = args.text
    fake.set_latency(args.latency)
    fake.start()  # the banner names its URL
    return serve_until_signalled(fake, f"Fake OpenAI transcription at {fake.base_url}")

if __name__ == "__main__":
    raise SystemExit(main())
