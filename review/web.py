"""What every page of the review UI shares: the login gate (session, account, role and
CSRF check), rendering a template, answering a change (JSON for scripts, a redirect for
forms), recording to the audit trail, and finding the conversation a URL names.

Handlers reach the state through `request.app.ctx` (see review/app.py).
"""
from __future__ import annotations

from typing import Any, List, Mapping, Optional
from urllib.parse import urlencode

from sanic import Request, response
from sanic.response import HTTPResponse

from review.auth import SESSION_COOKIE, Session, csrf_matches
from review.refs import REF_PATTERN
from review.roles import PUBLIC, Role, required_role
from review.users import User

__all__ = [
    "MAX_SENDER_ID", "audit", "can", "conversation_events", "conversation_exists", "current_user", "done", "forbidden",
    "missing", "page", "require_login", "resolve", "wants_json",
]

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MAX_SENDER_ID = 200


async def require_login(request: Request) -> Optional[HTTPResponse]:
    """Request middleware: a session of an active account for every route but the public
    ones, the role the route declares (review/roles.py), and the CSRF token with every change."""
    request.ctx.session = None
    request.ctx.user = None
    if request.path.startswith("/static/"):
        return None
    needed = required_role(getattr(request.route, "handler", None))
    if needed == PUBLIC:
        return None
    ctx = request.app.ctx
    session = await ctx.sessions.get(request.cookies.get(SESSION_COOKIE))
    user: Optional[User] = await ctx.users.get(session.user) if session else None
    if session is None or user is None or not user.active:
        if request.method in SAFE_METHODS and not wants_json(request):
            return response.redirect("/login?" + urlencode({"next": request.path}), status=303)
        return response.json({"error": "login required"}, status=401)
    if request.method not in SAFE_METHODS:
        given = request.headers.get("x-csrf-token") or (request.form.get("csrf_token") if request.form else None)
        if not csrf_matches(given, session):
            return response.json({"error": "missing or wrong CSRF token"}, status=403)
    request.ctx.session = session
    request.ctx.user = user
    # A route nobody gave a role stays closed: deny by default.
    if not isinstance(needed, Role) or not user.role.covers(needed):
        return forbidden(request)
    return None


def current_user(request: Request) -> User:
    user: User = request.ctx.user
    return user


def can(request: Request, role: Role) -> bool:
    user: Optional[User] = getattr(request.ctx, "user", None)
    return user is not None and user.role.covers(role)


def forbidden(request: Request) -> HTTPResponse:
    if wants_json(request) or request.method not in SAFE_METHODS:
        return response.json({"error": "your role does not allow this"}, status=403)
    return page(request, "forbidden.html", status=403)


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTTPResponse:
    session: Optional[Session] = getattr(request.ctx, "session", None)
    user: Optional[User] = getattr(request.ctx, "user", None)
    html = request.app.ctx.env.get_template(template).render(
        csrf=session.csrf if session else "", logged_in=session is not None, path=request.path, user=user,
        can_operate=can(request, Role.OPERATOR), is_admin=can(request, Role.ADMIN), **context)
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


async def audit(request: Request, action: str, conversation: str = "", detail: str = "") -> None:
    """Records who did it (the logged-in user) to the audit trail (review/audit.py)."""
    user = current_user(request)
    await request.app.ctx.audit.record(user.name, user.role.value, action, conversation, detail)


def resolve(request: Request, raw: str) -> Optional[str]:
    """The conversation id a URL names: a reference (review/refs.py) for everyone; the id
    itself (the phone number) only for operators and admins, who may see phones."""
    if len(raw) > MAX_SENDER_ID:
        return None
    ctx = request.app.ctx
    if REF_PATTERN.match(raw):
        return ctx.refs.resolve(raw, [s.sender_id for s in ctx.index.newest_first()])
    return raw if can(request, Role.OPERATOR) else None


async def conversation_events(request: Request, raw_id: str) -> Optional[List[Mapping[str, Any]]]:
    """The tracker's events, or None when there is no such conversation."""
    sender_id = resolve(request, raw_id)
    if sender_id is None:
        return None
    events: Optional[List[Mapping[str, Any]]] = await request.app.ctx.index.events(sender_id)
    return events


async def conversation_exists(request: Request, sender_id: str) -> bool:
    """Whether this (already resolved) conversation id has a tracker."""
    if len(sender_id) > MAX_SENDER_ID:
        return False
    ctx = request.app.ctx
    return bool(await ctx.redis.exists(ctx.index.tracker_prefix + sender_id))
