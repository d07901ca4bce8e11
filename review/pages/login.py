"""The login page: log in with a user name and password (review/users.py), log out, the
session's CSRF token for scripts, and the unauthenticated health check."""
from __future__ import annotations

import logging
from typing import Optional

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from review.auth import SESSION_COOKIE, same_origin
from review.roles import Role, allow, public
from review.users import User
from review.web import audit, current_user, page

__all__ = ["bp", "safe_next"]

logger = logging.getLogger(__name__)

bp = Blueprint("login")
MAX_FIELD = 256


@bp.get("/healthz")
@public
async def healthz(request: Request) -> HTTPResponse:
    return response.json({"status": "ok"})


@bp.get("/login")
@public
async def login_form(request: Request) -> HTTPResponse:
    return page(request, "login.html", error=None, username="", next=safe_next(request.args.get("next")))


@bp.post("/login")
@public
async def login(request: Request) -> HTTPResponse:
    ctx = request.app.ctx
    settings = ctx.settings
    if not same_origin(request.headers.get("origin"), request.headers.get("host")):
        return response.json({"error": "cross-site login refused"}, status=403)
    form = request.form or {}
    username = (form.get("username") or "").strip().lower()[:MAX_FIELD]
    password = (form.get("password") or "")[:MAX_FIELD]
    next_path = safe_next(form.get("next"))
    # The client's address; behind a proxy, Sanic's SANIC_PROXIES_COUNT makes this the real one.
    address = request.remote_addr or request.ip or "?"
    wait = await ctx.backoff.wait_seconds(username, address)
    if wait > 0:
        resp = page(request, "login.html", error=f"Muitas tentativas. Tente de novo em {int(wait) + 1} s.",
                    username=username, next=next_path, status=429)
        resp.headers["Retry-After"] = str(int(wait) + 1)
        return resp
    user: Optional[User] = await ctx.users.authenticate(username, password) if username and password else None
    if user is None:
        await ctx.backoff.failed(username, address)
        logger.info("review.login_failed")
        return page(request, "login.html", error="Usuário ou senha inválidos.", username=username,
                    next=next_path, status=401)
    await ctx.backoff.succeeded(username)
    session = await ctx.sessions.create(user.name)
    request.ctx.user = user
    await audit(request, "login")
    resp = response.redirect(next_path, status=303)
    set_session_cookie(resp, session.id, int(settings.session_hours * 3600), settings.secure_cookies)
    logger.info("review.login role=%s", user.role.value)
    return resp


@bp.post("/logout")
@allow(Role.VIEWER)
async def logout(request: Request) -> HTTPResponse:
    await request.app.ctx.sessions.delete(request.ctx.session)
    await audit(request, "logout")
    resp = response.redirect("/login", status=303)
    set_session_cookie(resp, "", 0, request.app.ctx.settings.secure_cookies)
    return resp


@bp.get("/api/session")
@allow(Role.VIEWER)
async def session_info(request: Request) -> HTTPResponse:
    """The CSRF token of this session and who it is, for scripts that call the JSON API."""
    user = current_user(request)
    return response.json({"csrf_token": request.ctx.session.csrf, "user": user.name, "role": user.role.value})


def safe_next(raw: Optional[str]) -> str:
    """Only local paths: the login form must not become an open redirect."""
    if raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/conversations"


def set_session_cookie(resp: HTTPResponse, value: str, max_age: int, secure: bool) -> None:
    resp.cookies[SESSION_COOKIE] = value
    cookie = resp.cookies[SESSION_COOKIE]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/"
    cookie["max-age"] = max_age
    if secure:
        cookie["secure"] = True

