"""Logging for every process: JSON (one object a line) or plain text, a request id that
follows a WhatsApp turn across the Rasa server, the action server and Evolution calls,
and a redaction filter that masks phone numbers and strips secrets from every record.

    configure_logging()                      # LOG_FORMAT=json|text, LOG_LEVEL=INFO...
    with request_context(request_id, sender_id):
        logger.info("turn.done", extra={"duration_ms": 812})

The Rasa server sets its logging up itself (its CLI, coloredlogs, Sanic); the Evolution
channel then calls ``adopt_process_logging`` when it is loaded and once the server started,
which puts ``JsonFormatter`` and the filters below on every handler. The action server and
the review UI call ``configure_logging`` at start.

Redaction is the last line of defence: code must still log ``mask_phone(sender)``
and never a secret. The filter rewrites each record once (message, arguments, extras,
exception text), so every handler sees the cleaned record.
"""
from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, List, Optional

from observability.privacy import log_safe_id, mask_phone

FORMAT_ENV = "LOG_FORMAT"
LEVEL_ENV = "LOG_LEVEL"
JSON = "json"
TEXT = "text"
DEFAULT_FORMAT = TEXT
DEFAULT_LEVEL = "INFO"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] - %(message)s"

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept only when it is short and plain: it ends up in every log line.
_REQUEST_ID_SHAPE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
NO_REQUEST = "-"

_request_id: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("aisdr_request_id", default=None)
_conversation: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar(
    "aisdr_conversation", default=None
)

# --- request id ---------------------------------------------------------------------------------


def new_request_id() -> str:
    return log_safe_id(uuid.uuid4().hex)


def valid_request_id(value: Any) -> Optional[str]:
    """The incoming id when it is safe to log as it is, else None."""
    if isinstance(value, str) and _REQUEST_ID_SHAPE.fullmatch(value):
        return value
    return None


def request_id_from(incoming: Any) -> str:
    """The caller's id (an ``X-Request-ID`` header) when usable, else a fresh one."""
    return valid_request_id(incoming) or new_request_id()


def get_request_id() -> Optional[str]:
    return _request_id.get()


def set_request_id(value: Optional[str]) -> contextvars.Token[Optional[str]]:
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token[Optional[str]]) -> None:
    _request_id.reset(token)


def get_conversation() -> Optional[str]:
    return _conversation.get()


def bind(request_id: Optional[str], conversation: Optional[str] = None) -> None:
    """Sets both for the rest of the current asyncio task (each task has its own copy
    of the context, so this does not leak into other turns)."""
    _request_id.set(request_id)
    _conversation.set(conversation)


@contextmanager
def request_context(request_id: Optional[str], conversation: Optional[str] = None) -> Iterator[None]:
    """Within the block, log lines carry this request id and (masked) conversation."""
    id_token = _request_id.set(request_id)
    conversation_token = _conversation.set(conversation)
    try:
        yield
    finally:
        _conversation.reset(conversation_token)
        _request_id.reset(id_token)


# --- redaction ----------------------------------------------------------------------------------

# 10 to 13 digits: Brazilian numbers with or without the country code (DDD + 8/9 digits).
# Runs touching a decimal point are left alone: those are timestamps and durations.
_PHONE = re.compile(r"(?<![\d.])\d{10,13}(?![\d]|\.\d)")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
# key=value, key: value, "key": "value" for names that hold secrets.
_SECRET_PAIR = re.compile(
    r"(?i)(\b(?:apikey|api[_-]?key|x-api-key|authorization|token|access[_-]?token|auth[_-]?token|"
    r"secret|password|passwd|jwt[_-]?key|dsn)\b[\"']?\s*[:=]\s*[\"']?)"
    r"(?!\*\*\*)(?!(?:bearer|basic)\s)([^\s\"',&;}\]]+)"
)
# Values of these environment variables are removed wherever they appear.
_SECRET_ENV_SUFFIXES = ("_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_DSN")
_MIN_SECRET_CHARS = 6
REDACTED = "***"


def secrets_from_env(environ: Optional[Dict[str, str]] = None) -> List[str]:
    """Secret values configured for this process, longest first (so a secret that
    contains another is removed whole)."""
    source = os.environ if environ is None else environ
    values = {
        value for name, value in source.items()
        if name.upper().endswith(_SECRET_ENV_SUFFIXES) and len(value) >= _MIN_SECRET_CHARS
    }
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: List[str] = ()) -> str:  # type: ignore[assignment]
    """Text with known secret values, credential-looking pairs and phone numbers masked."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _BEARER.sub(lambda match: f"{match.group(1)} {REDACTED}", text)
    text = _SECRET_PAIR.sub(lambda match: match.group(1) + REDACTED, text)
    return _PHONE.sub(lambda match: mask_phone(match.group(0)), text)


def _redact_value(value: Any, secrets: List[str]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {key: _redact_value(item, secrets) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_value(item, secrets) for item in value]
    return value


# Attributes every LogRecord has; anything else came in through ``extra=``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "request_id", "conversation", "aisdr_redacted",
}


def record_extras(record: logging.LogRecord) -> Dict[str, Any]:
    return {key: value for key, value in vars(record).items() if key not in _RECORD_ATTRIBUTES}


class RedactionFilter(logging.Filter):
    """Masks phone numbers and removes secrets from the whole record, once."""

    def __init__(self, name: str = "", secrets: Optional[List[str]] = None) -> None:
        super().__init__(name)
        self.secrets = secrets_from_env() if secrets is None else secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "aisdr_redacted", False):
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string must not lose the line
            message = f"{record.msg} {record.args}"
        record.msg, record.args = redact(message, self.secrets), None
        for key, value in record_extras(record).items():
            setattr(record, key, _redact_value(value, self.secrets))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        record.aisdr_redacted = True
        return True


class ContextFilter(logging.Filter):
    """Adds the current request id and masked conversation to the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = get_request_id() or NO_REQUEST
        if getattr(record, "conversation", None) is None:
            conversation = get_conversation()
            record.conversation = mask_phone(conversation) if conversation else None
        return True


# --- formatting ---------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, message, request_id, conversation,
    duration_ms (when given), the record's extras, and exc (the traceback) on errors."""

    def format(self, record: logging.LogRecord) -> str:
        entry: Dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or get_request_id() or NO_REQUEST,
        }
        conversation = getattr(record, "conversation", None)
        if conversation:
            entry["conversation"] = conversation
        for key, value in record_extras(record).items():
            entry.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = get_request_id() or NO_REQUEST
        line = super().format(record)
        duration = getattr(record, "duration_ms", None)
        return line if duration is None else f"{line} duration_ms={duration}"


def log_format(value: Optional[str] = None) -> str:
    chosen = (value or os.environ.get(FORMAT_ENV) or DEFAULT_FORMAT).strip().lower()
    if chosen not in (JSON, TEXT):
        raise ValueError(f"{FORMAT_ENV} must be '{JSON}' or '{TEXT}', not {chosen!r}")
    return chosen


def log_level(value: Optional[str] = None) -> str:
    return (value or os.environ.get(LEVEL_ENV) or DEFAULT_LEVEL).strip().upper()


def build_handler(fmt: str, stream: Any = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactionFilter())
    handler.setFormatter(JsonFormatter() if fmt == JSON else TextFormatter())
    return handler


def configure_logging(fmt: Optional[str] = None, level: Optional[str] = None, stream: Any = None) -> None:
    """Root logging for a process of ours: one handler on stderr (or ``stream``),
    JSON or text, at ``level``; replaces whatever handlers were there, and loggers
    that brought their own console handlers (Sanic's) now go through it."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(build_handler(log_format(fmt), stream))
    root.setLevel(log_level(level))
    # Python warnings would otherwise go to stderr as raw multi-line text.
    logging.captureWarnings(True)
    _route_console_loggers_to_root()


def _route_console_loggers_to_root() -> None:
    for logger in list(logging.root.manager.loggerDict.values()):
        if not isinstance(logger, logging.Logger):
            continue
        console = [h for h in logger.handlers if type(h) is logging.StreamHandler]
        for handler in console:
            logger.removeHandler(handler)
        if console:
            logger.propagate = True


def adopt_process_logging() -> None:
    """For a process whose logging someone else set up: the Rasa CLI applies
    ``--logging-config-file`` and then installs coloredlogs, which replaces that
    file's console handler with its own text one, and Sanic adds handlers of its own
    when the server app is created. So the channel calls this when it is loaded and
    again once the server started: with LOG_FORMAT set, our handler replaces them
    all; without it, Rasa's text output stays and only gets our filters."""
    if os.environ.get(FORMAT_ENV):
        configure_logging()
        return
    loggers = [logging.getLogger()] + [
        logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    for handler in [handler for logger in loggers for handler in logger.handlers]:
        if not any(isinstance(f, RedactionFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())
            handler.addFilter(RedactionFilter())
