"""The action server: Rasa SDK's app plus the routes operators and the channel use.

    python -m actions.server [--port 5055]

Rasa SDK's own routes stay as they are (POST /webhook, GET /health, GET /actions).
Added: GET /ready, GET /metrics (Prometheus), and POST /media/transcribe, which the Evolution channel calls
for a voice note before the turn, so that the transcript is understood exactly
as if the lead had typed it, while the slow work stays in this server.
"""
from __future__ import annotations

import argparse
import logging
import os
import time
from typing import Any, Dict, List, Optional

from rasa_sdk.endpoint import create_app
from redis.exceptions import RedisError
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.media import MediaUnavailable, fetch_media
from actions.transcription import TranscriptionSettings, transcribe
from observability import metrics
from observability.errors import init_error_reporting
from observability.logs import REQUEST_ID_HEADER, configure_logging, request_id_from, set_request_id
from whatsapp.settings import load_settings
from whatsapp.store import ChannelStore

logger = logging.getLogger(__name__)

DEFAULT_PORT = 5055
PORT_ENV = "ACTION_PORT"
ACTIONS_PATH = "/webhook"


def request_id_of_action_call(body: Any) -> Optional[str]:
    """The channel's request id, from the tracker's latest user message metadata."""
    if not isinstance(body, dict):
        return None
    tracker = body.get("tracker")
    latest = tracker.get("latest_message") if isinstance(tracker, dict) else None
    metadata = latest.get("metadata") if isinstance(latest, dict) else None
    return metadata.get("request_id") if isinstance(metadata, dict) else None


async def bind_request_id(request: Request) -> None:
    """Every log line of this request carries the turn's id: the tracker's for an
    action call, the ``X-Request-ID`` header otherwise (or a new id)."""
    incoming = request.headers.get(REQUEST_ID_HEADER)
    if request.path == ACTIONS_PATH and request.method == "POST":
        try:
            body = request.json
        except Exception:  # noqa: BLE001 - Rasa SDK answers a bad body itself
            body = None
        incoming = request_id_of_action_call(body) or incoming
        set_request_id(request_id_from(incoming))
        logger.info("action.call action=%s", body.get("next_action") if isinstance(body, dict) else None)
    else:
        set_request_id(request_id_from(incoming))


def operations_blueprint() -> Blueprint:
    routes = Blueprint("operations")

    @routes.get("/metrics")
    async def prometheus_metrics(request: Request) -> HTTPResponse:
        body, content_type = metrics.render()
        return response.raw(body, content_type=content_type)

    @routes.get("/ready")
    async def ready(request: Request) -> HTTPResponse:
        settings = load_settings()
        store = ChannelStore.connect(
            host=settings.redis_host, port=settings.redis_port, db=settings.redis_db,
            password=settings.redis_password, prefix=settings.redis_prefix,
        )
        try:
            await store.ping()
            redis_ok = True
        except (RedisError, OSError):
            redis_ok = False
        finally:
            await store.close()
        missing: List[str] = [] if redis_ok else ["redis"]
        return response.json(
            {"status": "not_ready" if missing else "ready", "missing": missing},
            status=503 if missing else 200,
        )

    @routes.post("/media/transcribe")
    async def transcribe_voice_note(request: Request) -> HTTPResponse:
        body = request.json if isinstance(request.json, dict) else None
        message = body.get("message") if body else None
        if body is None or not isinstance(message, dict) or not isinstance(body.get("reply_jid"), str) \
                or not isinstance(message.get("message_id"), str):
            return response.json({"error": "expected {message: {message_id, media}, reply_jid}"}, status=400)
        return response.json(await voice_note_text(message, body["reply_jid"]))

    return routes


async def voice_note_text(message: Dict[str, Any], reply_jid: str) -> Dict[str, Optional[str]]:
    """{"text": transcript} or {"text": None, "reason": why} — never raises."""
    settings = TranscriptionSettings.from_env()
    if not settings.api_key:
        return {"text": None, "reason": "no_key"}
    media = message.get("media") or {}
    try:
        audio = await fetch_media(message, reply_jid, max_bytes=settings.max_bytes)
    except MediaUnavailable as error:
        logger.info("voice_note.unavailable reason=%s", error)
        metrics.TRANSCRIPTION_FAILURES.labels(reason="media_unavailable").inc()
        return {"text": None, "reason": "too_big" if "too big" in str(error) else "server_error"}
    started = time.perf_counter()
    result = await transcribe(
        audio, mimetype=media.get("mimetype") or "audio/ogg", seconds=media.get("seconds"), settings=settings
    )
    metrics.TRANSCRIPTION_SECONDS.observe(time.perf_counter() - started)
    if result.reason:
        metrics.TRANSCRIPTION_FAILURES.labels(reason=result.reason).inc()
    return {"text": result.text, "reason": result.reason}


def build_app() -> Sanic:
    app = create_app("actions", cors_origins=None)
    app.blueprint(operations_blueprint())
    app.register_middleware(bind_request_id, "request")
    return app


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m actions.server", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get(PORT_ENV) or DEFAULT_PORT))
    args = parser.parse_args(argv)
    configure_logging()  # LOG_FORMAT, LOG_LEVEL
    init_error_reporting("actions")
    build_app().run(host="0.0.0.0", port=args.port, access_log=False, workers=1)


if __name__ == "__main__":
    main()
