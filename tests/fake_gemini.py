"""A fake Gemini API (Generative Language REST, v1beta) for tests.

Real HTTP on loopback: an aiohttp app in a background thread with its own event loop (the
same design as ``tests/fake_evolution.py``), so the google-generativeai SDK talks to it over
a socket exactly as it talks to Google. Point the SDK at it with
``genai.configure(api_key=fake.api_key, transport="rest",
client_options={"api_endpoint": fake.url})``: the REST transport keeps an explicit
``http://`` scheme (a bare host would mean https).

    with FakeGemini() as fake:                   # api_key="test-gemini-key"
        fake.queue_text('{"lead_score": 80, ...}')
        ...
        assert fake.requests[0].generation_config["responseMimeType"] == "application/json"

Wire format: ``POST /v1beta/models/{model}:generateContent`` (and ``:streamGenerateContent``,
answered as a JSON array, or as server-sent events with ``alt=sse``); the request's
``contents``/``systemInstruction``/``generationConfig`` are checked the way Google checks
them; the answer has ``candidates[0].content.parts[0].text``, ``finishReason`` (a name, or a
number when the SDK asks for ``$alt=json;enum-encoding=int``), ``usageMetadata``; errors use
Google's ``{"error": {"code", "message", "status"}}``. The key is read from the
``x-goog-api-key`` header or the ``key`` query parameter: missing → 403, wrong → 400.

Injection: ``queue_text`` (the model's next texts; then ``default_text``), ``queue_raw`` (a
whole response body), ``queue_blocked`` (prompt blocked, no candidates), ``malformed_next``
(a 200 whose body is not JSON), ``fail_next`` (500/429/400/503 with Google's error bodies),
``set_latency``.

Standalone: ``python -m tests.fake_gemini --port 8082`` (Ctrl-C stops).
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from aiohttp import web

from tests.fake_server import DEFAULT_HOST, EPHEMERAL_PORT, BackgroundServer, serve_until_signalled

logger = logging.getLogger(__name__)

DEFAULT_API_KEY = "test-gemini-key"
DEFAULT_TEXT = "{}"
DEFAULT_CLI_PORT = 8082
API_VERSIONS = ("v1", "v1beta")
METHODS = ("generateContent", "streamGenerateContent")
MAX_BODY_BYTES = 20 * 1024 * 1024  # Google's inline request limit
MALFORMED_BODY = '{"candidates": [{"content": '
CHARS_PER_TOKEN = 4  # a rough count for usageMetadata
ROLES = ("user", "model")
JSON_MIME_TYPES = ("application/json", "text/x.enum")

HTTP_BAD_REQUEST = 400
HTTP_FORBIDDEN = 403
HTTP_NOT_FOUND = 404
HTTP_INTERNAL_ERROR = 500

# google.rpc status names and the messages Google sends with them.
_STATUSES = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    403: ("PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established "
          "identity). Please use API Key or other form of API consumer identity to call this API."),
    404: ("NOT_FOUND", "Requested entity was not found."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    500: ("INTERNAL", "An internal error has occurred. Please retry or report in "
          "https://developers.generativeai.google/guide/troubleshooting"),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
}
# google.ai.generativelanguage.v1beta Candidate.FinishReason, for enum-encoding=int.
FINISH_REASONS = {
    "FINISH_REASON_UNSPECIFIED": 0, "STOP": 1, "MAX_TOKENS": 2, "SAFETY": 3, "RECITATION": 4,
    "OTHER": 5, "LANGUAGE": 6, "BLOCKLIST": 7, "PROHIBITED_CONTENT": 8, "SPII": 9,
}
BLOCK_REASONS = {
    "BLOCK_REASON_UNSPECIFIED": 0, "SAFETY": 1, "OTHER": 2, "BLOCKLIST": 3, "PROHIBITED_CONTENT": 4,
}


@dataclass
class RecordedGeneration:
    """One request as the fake received it. ``headers`` has lower-case names."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    model: str  # from the path, e.g. "gemini-2.5-flash"
    rpc: str  # "generateContent" or "streamGenerateContent"
    time: float  # time.monotonic() at arrival
    status: Optional[int] = None  # set once answered

    @property
    def system_text(self) -> str:
        instruction = self.json.get("systemInstruction") if isinstance(self.json, dict) else None
        return _parts_text(instruction)

    @property
    def user_text(self) -> str:
        contents = self.json.get("contents") if isinstance(self.json, dict) else None
        return "\n".join(_parts_text(content) for content in contents or [])

    @property
    def generation_config(self) -> dict[str, Any]:
        config = self.json.get("generationConfig") if isinstance(self.json, dict) else None
        return config if isinstance(config, dict) else {}


def _parts_text(content: Any) -> str:
    if not isinstance(content, dict):
        return ""
    return "".join(str(part.get("text", "")) for part in content.get("parts") or [] if isinstance(part, dict))


def error_body(status: int, message: Optional[str] = None, *, reason: Optional[str] = None) -> dict[str, Any]:
    """Google's error shape (google.rpc.Status as JSON)."""
    name, default_message = _STATUSES.get(status, ("UNKNOWN", "Unknown error."))
    error: dict[str, Any] = {"code": status, "message": message or default_message, "status": name}
    if reason:
        error["details"] = [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
             "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}
        ]
    return {"error": error}


def _error(status: int, message: Optional[str] = None, *, reason: Optional[str] = None) -> web.Response:
    return web.json_response(error_body(status, message, reason=reason), status=status)


@dataclass(frozen=True)
class _Answer:
    kind: str  # "text", "raw", "blocked", "malformed"
    text: str = ""
    finish_reason: str = "STOP"
    body: Optional[dict[str, Any]] = None


class FakeGemini(BackgroundServer):
    """The Gemini REST API on 127.0.0.1, in a background thread. Thread-safe to drive and inspect."""

    name = "fake-gemini"

    def __init__(
        self, api_key: str = DEFAULT_API_KEY, *, host: str = DEFAULT_HOST, port: int = EPHEMERAL_PORT
    ) -> None:
        super().__init__(host=host, port=port)
        self.api_key = api_key
        self.default_text = DEFAULT_TEXT
        self._lock = threading.Lock()
        self._requests: list[RecordedGeneration] = []
        self._answers: collections.deque[_Answer] = collections.deque()
        self._failures: collections.deque[int] = collections.deque()
        self._latency_s = 0.0

    # ----------------------------------------------------------------- lifecycle

    def build_app(self) -> web.Application:
        """GEMINI_API_ENDPOINT is this server's `url`."""
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post("/{version}/models/{target}", self._models_route)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    # ----------------------------------------------------------------- inspection

    @property
    def requests(self) -> list[RecordedGeneration]:
        """A snapshot of every request received, in arrival order."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget the requests and undo every injection."""
        with self._lock:
            self._requests.clear()
            self._answers.clear()
            self._failures.clear()
            self._latency_s = 0.0
            self.default_text = DEFAULT_TEXT

    # ----------------------------------------------------------------- injection

    def queue_text(self, *texts: str, finish_reason: str = "STOP") -> None:
        """The model's text for the next successful requests, in order."""
        if finish_reason not in FINISH_REASONS:
            raise ValueError(f"finish_reason must be one of {sorted(FINISH_REASONS)}")
        with self._lock:
            self._answers.extend(_Answer("text", text, finish_reason) for text in texts)

    def queue_json(self, *objects: Any) -> None:
        """``queue_text`` of each object serialised as JSON."""
        self.queue_text(*(json.dumps(obj, ensure_ascii=False) for obj in objects))

    def queue_raw(self, body: dict[str, Any]) -> None:
        """The whole body of the next successful answer (HTTP 200), as given."""
        with self._lock:
            self._answers.append(_Answer("raw", body=body))

    def queue_blocked(self, reason: str = "SAFETY") -> None:
        """The next prompt is blocked: a 200 with ``promptFeedback`` and no candidates."""
        if reason not in BLOCK_REASONS:
            raise ValueError(f"reason must be one of {sorted(BLOCK_REASONS)}")
        with self._lock:
            self._answers.append(_Answer("blocked", finish_reason=reason))

    def malformed_next(self, count: int = 1) -> None:
        """The next ``count`` answers are 200 with a JSON content type and a body that is not JSON."""
        with self._lock:
            self._answers.extend(_Answer("malformed") for _ in range(count))

    def fail_next(self, count: int, status: int = HTTP_INTERNAL_ERROR) -> None:
        """Answer the next ``count`` authenticated requests with ``status`` and Google's error body."""
        if count < 0 or status < HTTP_BAD_REQUEST:
            raise ValueError("count must be >= 0 and status an HTTP error status")
        with self._lock:
            self._failures.extend([status] * count)

    def set_latency(self, seconds: float) -> None:
        """Delay every answer by ``seconds`` (the request is recorded on arrival)."""
        if seconds < 0:
            raise ValueError("latency must not be negative")
        with self._lock:
            self._latency_s = seconds

    # ----------------------------------------------------------------- routes

    async def _not_found(self, request: web.Request) -> web.Response:
        return _error(HTTP_NOT_FOUND, f"Method not found: {request.method} {request.path}")

    async def _models_route(self, request: web.Request) -> web.StreamResponse:
        model, _, rpc = request.match_info["target"].partition(":")
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = RecordedGeneration(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers={name.lower(): value for name, value in request.headers.items()},
            json=body,
            model=model,
            rpc=rpc,
            time=time.monotonic(),
        )
        with self._lock:
            self._requests.append(record)
            latency_s = self._latency_s
        response = self._answer(request, record, raw)
        if latency_s:
            await asyncio.sleep(latency_s)
        record.status = response.status
        logger.info("%s %s -> %d", request.method, request.path, response.status)
        return response

    def _answer(self, request: web.Request, record: RecordedGeneration, raw: bytes) -> web.Response:
        if request.match_info["version"] not in API_VERSIONS or record.rpc not in METHODS:
            return _error(HTTP_NOT_FOUND, f"Method not found: {request.path}")
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if not key:
            return _error(HTTP_FORBIDDEN)
        if key != self.api_key:
            return _error(
                HTTP_BAD_REQUEST, "API key not valid. Please pass a valid API key.", reason="API_KEY_INVALID"
            )
        with self._lock:
            injected = self._failures.popleft() if self._failures else None
        if injected is not None:
            return _error(injected)
        if raw and record.json is None:
            return _error(HTTP_BAD_REQUEST, "Invalid JSON payload received.")
        problem = _check_request(record.json)
        if problem:
            return _error(HTTP_BAD_REQUEST, problem)
        with self._lock:
            answer = self._answers.popleft() if self._answers else _Answer("text", self.default_text)
        if answer.kind == "malformed":
            return web.Response(text=MALFORMED_BODY, content_type="application/json")
        ints = "enum-encoding=int" in request.query.get("$alt", "")
        if answer.kind == "raw":
            body = answer.body
        elif answer.kind == "blocked":
            reason = BLOCK_REASONS[answer.finish_reason] if ints else answer.finish_reason
            body = {"promptFeedback": {"blockReason": reason}}
        else:
            body = self._candidate_body(record, answer, ints=ints)
        assert body is not None
        if record.rpc == "streamGenerateContent":
            if request.query.get("alt") == "sse":
                event = f"data: {json.dumps(body)}\r\n\r\n"
                return web.Response(text=event, content_type="text/event-stream")
            return web.json_response([body])
        return web.json_response(body)

    def _candidate_body(self, record: RecordedGeneration, answer: _Answer, *, ints: bool) -> dict[str, Any]:
        prompt_tokens = max(1, len(record.system_text + record.user_text) // CHARS_PER_TOKEN)
        answer_tokens = max(1, len(answer.text) // CHARS_PER_TOKEN)
        finish = FINISH_REASONS[answer.finish_reason] if ints else answer.finish_reason
        return {
            "candidates": [
                {
                    "content": {"parts": [{"text": answer.text}], "role": "model"},
                    "finishReason": finish,
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": prompt_tokens,
                "candidatesTokenCount": answer_tokens,
                "totalTokenCount": prompt_tokens + answer_tokens,
            },
            "modelVersion": record.model,
            "responseId": uuid.uuid4().hex[:22],
        }


def _check_request(body: Any) -> Optional[str]:
    """Google's validation of a GenerateContentRequest, for the fields this project sends."""
    if not isinstance(body, dict):
        return "Invalid JSON payload received. Expected an object."
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        return "* GenerateContentRequest.contents: contents is not specified"
    for index, content in enumerate(contents):
        parts = content.get("parts") if isinstance(content, dict) else None
        if not isinstance(parts, list) or not parts:
            return f"* GenerateContentRequest.contents[{index}].parts: contents.parts must not be empty."
        if content.get("role", "user") not in ROLES:
            return f"Please use a valid role: {', '.join(ROLES)}."
    instruction = body.get("systemInstruction")
    instruction_parts = instruction.get("parts") if isinstance(instruction, dict) else None
    if instruction is not None and not isinstance(instruction_parts, list):
        return "* GenerateContentRequest.system_instruction.parts: must be a list"
    config = body.get("generationConfig", {})
    if not isinstance(config, dict):
        return "* GenerateContentRequest.generation_config: must be an object"
    if "responseSchema" in config and config.get("responseMimeType") not in JSON_MIME_TYPES:
        return (
            "* GenerateContentRequest.generation_config.response_mime_type: "
            "response_mime_type must be application/json or text/x.enum when response_schema is set."
        )
    return None


# --------------------------------------------------------------------------- command line


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Fake Gemini REST API for local tests.")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_CLI_PORT)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--text", default=DEFAULT_TEXT, help="the model's text for every request")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    fake = FakeGemini(args.api_key, host=args.host, port=args.port)
    fake.default_text = args.text
    fake.set_latency(args.latency)
    fake.start()  # the banner names its URL
    return serve_until_signalled(fake, f"Fake Gemini at {fake.url} (GEMINI_API_ENDPOINT)")

if __name__ == "__main__":
    raise SystemExit(main())
