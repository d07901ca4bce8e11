"""What every page of the review UI shares: the login gate (session and CSRF
check), rendering a template, answering a change (JSON for scripts, a redirect
for forms) and telling whether a conversation id can name a conversation.

Handlers reach the state through `request.app.ctx` (see review/app.py).
"""
from __future__ import annotations

from typing import Any, List, Mapping, Optional
from urllib.parse import urlencode

from sanic import Request, response
from sanic.response import HTTPResponse

from review.auth import SESSION_COOKIE, Session, csrf_matches

__all__ = [
    "MAX_SENDER_ID", "conversation_events", "conversation_exists", "done", "missing", "page", "require_login",
    "wants_json",
]

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MAX_SENDER_ID = 200


async def require_login(request: Request) -> Optional[HTTPResponse]:
    """Request middleware: a session for every page but the public ones, and its
    CSRF token with every change."""
    request.ctx.session = None
    if request.path == "/healthz" or request.path.startswith("/static/"):
        return None
    if request.path == "/login":
        return None
    session = await request.app.ctx.sessions.get(request.cookies.get(SESSION_COOKIE))
    if session is None:
        if request.method in SAFE_METHODS and not wants_json(request):
            return response.redirect("/login?" + urlencode({"next": request.path}), status=303)
        return response.json({"error": "login required"}, status=401)
    if request.method not in SAFE_METHODS:
        given = request.headers.get("x-csrf-token") or (request.form.get("csrf_token") if request.form else None)
        if not csrf_matches(given, session):
            return response.json({"error": "missing or wrong CSRF token"}, status=403)
    request.ctx.session = session
    return None


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTTPResponse:
    session: Optional[Session] = getattr(request.ctx, "session", None)
    html = request.app.ctx.env.get_template(template).render(
        csrf=session.csrf if session else "", logged_in=session is not None, path=request.path, **context)
    return response.html(html, status=status)


def wants_json(request: Request) -> bool:
    return request.path.startswith("/api/") or "application/json" in (request.headers.get("accept") or "")


def done(request: Request, to: str, status: int = 200, error: Optional[str] = None,
         notice: Optional[str] = None, **extra: Any) -> HTTPResponse:
    """A change answered: JSON for scripts (they send X-CSRF-Token), a redirect back for forms."""
    if request.headers.get("x-csrf-token") or wants_json(request):
        body = {"ok": error is None, **({"error": error} if error else {}), **extra}
        return response.json(body, status=status if error else 200)
    message = {"error": error} if error else {"notice": notice} if notice else None
    if message:
        path, _, anchor = to.partition("#")
        separator = "&" if "?" in path else "?"
        to = path + separator + urlencode(message) + (f"#{anchor}" if anchor else "")
    return response.redirect(to, status=303)


def missing(request: Request) -> HTTPResponse:
    return response.json({"error": "no such conversation or item"}, status=404)


async def conversation_events(request: Request, sender_id: str) -> Optional[List[Mapping[str, Any]]]:
    """The tracker's events, or None when there is no such conversation."""
    if len(sender_id) > MAX_SENDER_ID:
        return None
    return await request.app.ctx.index.events(sender_id)


async def conversation_exists(request: Request, sender_id: str) -> bool:
    if len(sender_id) > MAX_SENDER_ID:
        return False
    ctx = request.app.ctx
    return bool(await ctx.redis.exists(ctx.index.tracker_prefix + sender_id))
