"""The login page: log in with REVIEW_TOKEN, log out, the session's CSRF token
for scripts, and the unauthenticated health check."""
from __future__ import annotations

import logging
from typing import Optional

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from review.auth import SESSION_COOKIE, same_origin
from review.web import page
from sdr.signing import secrets_match

__all__ = ["bp", "safe_next"]

logger = logging.getLogger(__name__)

bp = Blueprint("login")


@bp.get("/healthz")
async def healthz(request: Request) -> HTTPResponse:
    return response.json({"status": "ok"})


@bp.get("/login")
async def login_form(request: Request) -> HTTPResponse:
    return page(request, "login.html", error=None, next=safe_next(request.args.get("next")))


@bp.post("/login")
async def login(request: Request) -> HTTPResponse:
    settings = request.app.ctx.settings
    sessions = request.app.ctx.sessions
    if not same_origin(request.headers.get("origin"), request.headers.get("host")):
        return response.json({"error": "cross-site login refused"}, status=403)
    if await sessions.too_many_failures():
        return page(request, "login.html", error="Muitas tentativas. Espere um minuto.", next="/", status=429)
    given = (request.form.get("token") if request.form else None) or ""
    if not secrets_match(given, settings.token):
        await sessions.record_failure()
        logger.info("review.login_failed")
        return page(request, "login.html", error="Token inválido.", next=safe_next(request.form.get("next")),
                    status=401)
    session = await sessions.create()
    resp = response.redirect(safe_next(request.form.get("next")), status=303)
    set_session_cookie(resp, session.id, int(settings.session_hours * 3600), settings.secure_cookies)
    logger.info("review.login")
    return resp


@bp.post("/logout")
async def logout(request: Request) -> HTTPResponse:
    await request.app.ctx.sessions.delete(request.ctx.session.id)
    resp = response.redirect("/login", status=303)
    set_session_cookie(resp, "", 0, request.app.ctx.settings.secure_cookies)
    return resp


@bp.get("/api/session")
async def session_info(request: Request) -> HTTPResponse:
    """The CSRF token of this session, for scripts that call the JSON API."""
    return response.json({"csrf_token": request.ctx.session.csrf})


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
