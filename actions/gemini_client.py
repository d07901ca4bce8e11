"""The call to Gemini: the SDK configured once per process, the request with its timeout,
counted retries with backoff, and the process-wide circuit breakers.

SDK notes (google-generativeai 0.8.6):
- The transport is REST, so GEMINI_API_ENDPOINT can name any HTTP server: a proxy, or the
  fake of the tests. Give it with its scheme (`http://127.0.0.1:8082`): the REST transport
  keeps an explicit `http://` and assumes https only for a bare host.
- `generate_content_async` cannot be used with the REST transport: the SDK's async client
  then wraps the synchronous transport and fails with "object GenerateContentResponse can't
  be used in 'await' expression" (google-gemini/deprecated-generative-ai-python#203, #499)
  after the request was sent. The synchronous `generate_content` runs in a worker thread
  instead (`asyncio.to_thread`), bounded by the HTTP timeout given to the SDK.
- `genai.configure` is process-wide: one Gemini key and endpoint per process.
- The SDK's own retry is switched off (`retry=None`); retries here are counted, backed off
  and seen by the circuit breaker.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import warnings
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

from actions.gemini_prompt import build_prompts
from actions.gemini_schema import InvalidOutput, ModelOutput, parse_model_output, response_schema
from actions.gemini_settings import GeminiSettings
from sdr.breaker import CircuitBreaker
from sdr.scoring import ScoringRules

__all__ = [
    "RETRYABLE_STATUS",
    "TEMPERATURE",
    "THREAD_GRACE_S",
    "GeminiFailure",
    "ask_gemini",
    "breaker_for",
    "generate_json",
    "reset_breakers",
]

# The qualifier's one logger, whichever of its modules writes: log filters name it.
logger = logging.getLogger("actions.gemini_qualifier")

# Extraction wants the same answer for the same conversation, not creativity.
TEMPERATURE = 0.2
# The worker thread ends by the SDK's HTTP timeout; this margin only covers the SDK's own work.
THREAD_GRACE_S = 2.0
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})

# --------------------------------------------------------------------------- circuit breaker

_breakers: Dict[Tuple[Any, ...], CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(settings: GeminiSettings) -> CircuitBreaker:
    """The process-wide breaker of one endpoint and model."""
    key = (settings.api_endpoint, settings.model, settings.breaker_failures, settings.breaker_reset_s)
    with _breakers_lock:
        breaker = _breakers.get(key)
        if breaker is None:
            breaker = _breakers[key] = CircuitBreaker(
                settings.breaker_failures, settings.breaker_reset_s, name="Gemini"
            )
        return breaker


def reset_breakers() -> None:
    with _breakers_lock:
        _breakers.clear()


# --------------------------------------------------------------------------- I/O


class GeminiFailure(Exception):
    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


_sdk_lock = threading.Lock()
_sdk_configuration: Optional[Tuple[Optional[str], Optional[str]]] = None


def _configured_sdk(settings: GeminiSettings) -> Any:
    """google.generativeai, configured for these settings (imported only when a key is set)."""
    global _sdk_configuration
    with warnings.catch_warnings():
        # The package announces its end of support on import; the deprecation is known.
        warnings.simplefilter("ignore", FutureWarning)
        import google.generativeai as genai
    wanted = (settings.api_key, settings.api_endpoint)
    with _sdk_lock:
        if _sdk_configuration != wanted:
            options = {"api_endpoint": settings.api_endpoint} if settings.api_endpoint else None
            genai.configure(api_key=settings.api_key, transport="rest", client_options=options)
            _sdk_configuration = wanted
    return genai


def _generate_sync(system: str, user: str, schema: Mapping[str, Any], settings: GeminiSettings) -> str:
    genai = _configured_sdk(settings)
    model = genai.GenerativeModel(settings.model, system_instruction=system)
    response = model.generate_content(
        user,
        generation_config={
            "response_mime_type": "application/json",
            "response_schema": dict(schema),
            "temperature": TEMPERATURE,
        },
        request_options={"timeout": settings.timeout_s, "retry": None},
    )
    candidates = list(response.candidates)
    if not candidates:
        raise GeminiFailure("blocked", str(response.prompt_feedback.block_reason))
    finish = getattr(candidates[0].finish_reason, "name", str(candidates[0].finish_reason))
    if finish != "STOP":
        raise GeminiFailure("unfinished", finish)  # MAX_TOKENS, SAFETY...: the JSON is not whole
    return response.text


def _classify(error: BaseException) -> Tuple[str, bool]:
    """(kind for the logs, worth retrying)."""
    if isinstance(error, asyncio.TimeoutError):
        return "timeout", True
    code = getattr(error, "code", None)
    status = int(code) if isinstance(code, int) else None  # HTTPStatus is an int
    if status is not None and 400 <= status < 600:
        return f"http_{status}", status in RETRYABLE_STATUS
    name = type(error).__name__
    if "Timeout" in name:  # requests' ReadTimeout/ConnectTimeout
        return "timeout", True
    if "ConnectionError" in name:
        return "connection", True
    return "error", False


async def ask_gemini(
    conversation: Any, fields: Mapping[str, Any], confirmed: Iterable[str], rules: ScoringRules,
    settings: GeminiSettings,
) -> ModelOutput:
    try:
        system, user = build_prompts(conversation, fields, confirmed, rules, settings)
    except Exception as error:  # noqa: BLE001 - a missing or broken prompt file, a bad rules file
        raise GeminiFailure("prompt", repr(error)) from error
    text = await generate_json(system, user, response_schema(), settings)
    try:
        return parse_model_output(text, rules)
    except InvalidOutput as error:
        raise GeminiFailure("invalid_output", str(error)) from error


async def generate_json(system: str, user: str, schema: Mapping[str, Any], settings: GeminiSettings) -> str:
    """The model's JSON text for one request, with the counted retries (GeminiFailure otherwise)."""
    try:
        # The SDK's import (about a second, once) happens off the event loop and off the clock.
        await asyncio.to_thread(_configured_sdk, settings)
    except Exception as error:  # noqa: BLE001 - a missing or broken SDK installation
        raise GeminiFailure("sdk", repr(error)) from error
    attempts = settings.max_retries + 1
    for attempt in range(attempts):
        try:
            text = await asyncio.wait_for(
                asyncio.to_thread(_generate_sync, system, user, schema, settings),
                settings.timeout_s + THREAD_GRACE_S,
            )
        except GeminiFailure:
            raise
        except Exception as error:  # noqa: BLE001 - the SDK raises many unrelated types
            kind, retryable = _classify(error)
            if retryable and attempt + 1 < attempts:
                logger.info("Gemini attempt %d failed (%s); retrying", attempt + 1, kind)
                await asyncio.sleep(settings.retry_backoff_s * 2 ** attempt)
                continue
            raise GeminiFailure(kind, str(error)[:200]) from error
        return str(text)
    raise AssertionError("unreachable")

