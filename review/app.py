"""The review UI's Sanic app (Sanic, as Rasa ships it): settings, the Redis
connection, the Jinja environment, the login gate and security headers, and the
pages' blueprints (review/pages/, one module per page; shared helpers in review/web.py).

Pages are server-rendered with autoescaped Jinja2 templates; every change is a
POST carrying the session's CSRF token. A JSON twin of each page lives under
/api/ for scripts and tests. Nothing here logs a full phone number or the token.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Request, Sanic
from sanic.response import HTTPResponse

from observability.privacy import mask_phone
from review import leads
from review.audit import AuditLog
from review.auth import LoginBackoff, Sessions
from review.filters import REVIEW_STATUSES
from review.index import ConversationIndex
from review.live import LiveHub
from review.pages import BLUEPRINTS
from review.passwords import Passwords
from review.refs import ConversationRefs
from review.settings import ReviewSettings
from review.state import ReviewState
from review.takeover import Takeover
from review.users import Users
from review.web import require_login
from sdr.vocabulary import LeadClass, LeadSource, LeadStatus
from whatsapp.store import ChannelStore

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
INDEX_SCAN_TIMEOUT_S = 10.0
SECURITY_HEADERS = {
    # Inline SVG is markup, not script: nothing inline needs to run.
    # connect-src 'self': the live updates (EventSource) and the typing signal reach only this server.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; "
                               "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on our own forms.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
STATUS_LABELS = {"new": "nova", "reviewed": "revisada", "saved": "para depois"}
LEAD_CLASSES = tuple(member.value for member in LeadClass)
LEAD_STATUSES = tuple(member.value for member in LeadStatus)
LEAD_SOURCES = {LeadSource.CTWA_AD.value: "anúncio", LeadSource.ORGANIC.value: "orgânico"}


def templates() -> Environment:
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                      autoescape=select_autoescape(["html"], default=True))
    env.filters["when"] = lambda ts: leads.local_time(ts) if ts else ""
    env.filters["mask"] = mask_phone
    env.filters["pct"] = lambda v: "" if v is None else f"{v * 100:.0f}%"
    env.filters["yesno"] = leads.bool_label
    env.filters["urlpart"] = lambda v: quote(str(v), safe="")
    env.globals.update(status_labels=STATUS_LABELS, lead_classes=LEAD_CLASSES, lead_statuses=LEAD_STATUSES,
                       lead_sources=LEAD_SOURCES,
                       review_statuses=REVIEW_STATUSES)
    return env


async def security_headers(request: Request, resp: HTTPResponse) -> None:
    # setdefault: a handler's own header wins (media answers with `Content-Security-Policy: sandbox`).
    for header, value in SECURITY_HEADERS.items():
        resp.headers.setdefault(header, value)


def create_app(settings: ReviewSettings, name: str = "review") -> Sanic:
    """The app; handlers find settings, env, redis, index, state, users, sessions, backoff, audit,
    refs, live and takeover on `app.ctx`."""
    # Our own log lines only (basicConfig in __main__), not a second copy from Sanic's handlers.
    app = Sanic(name, configure_logging=False)
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.settings = settings
    app.ctx.env = templates()
    app.static("/static", str(HERE / "static"), name="static")

    @app.before_server_start
    async def connect(app: Sanic, _loop: Any) -> None:
        # The index's one-pass scan of every tracker may take longer than a command.
        client = settings.redis.async_client(timeout_s=INDEX_SCAN_TIMEOUT_S)
        app.ctx.redis = client
        app.ctx.index = ConversationIndex(client, settings.key_prefix)
        app.ctx.state = ReviewState(client, settings.key_prefix)
        app.ctx.sessions = Sessions(client, settings.key_prefix, int(settings.session_hours * 3600))
        app.ctx.users = Users(client, settings.key_prefix, Passwords(settings.password_cost))
        app.ctx.backoff = LoginBackoff(client, settings.key_prefix)
        app.ctx.audit = AuditLog(client, settings.key_prefix, settings.audit_retention_days)
        app.ctx.refs = await ConversationRefs.load(client, settings.key_prefix)
        app.ctx.env.globals["conv_url"] = app.ctx.refs.path
        app.ctx.takeover = Takeover(settings, ChannelStore(client, f"{settings.key_prefix}:evo"))
        app.ctx.live = LiveHub(app.ctx)
        app.ctx.index.on_change = app.ctx.live.conversation_changed
        await app.ctx.index.load()
        await app.ctx.index.sync()
        app.ctx.live.started = True  # from now on a change is news (alerts, live pages)
        app.ctx.sync_task = asyncio.get_event_loop().create_task(app.ctx.index.run_forever(settings.sync_seconds))
        logger.info("review.ready conversations=%d", len(app.ctx.index))

    @app.after_server_stop
    async def disconnect(app: Sanic, _loop: Any) -> None:
        app.ctx.sync_task.cancel()
        app.ctx.live.close()
        await app.ctx.redis.close()

    app.on_request(require_login)
    app.on_response(security_headers)
    for blueprint in BLUEPRINTS:
        app.blueprint(blueprint)
    return app
