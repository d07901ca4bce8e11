"""The users page (admins): accounts, their roles, adding one, disabling one, setting a
new password. The same as `python -m review users …` (review/cli.py); both end the
account's sessions at once on disable and reset, and both are in the audit trail."""
from __future__ import annotations

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from review.roles import Role, allow
from review.users import UserError
from review.web import audit, current_user, done, page

__all__ = ["bp"]

bp = Blueprint("users")


@bp.get("/users")
@allow(Role.ADMIN)
async def users_page(request: Request) -> HTTPResponse:
    users = await request.app.ctx.users.all()
    return page(request, "users.html", users=users, roles=[r for r in Role],
                notice=request.args.get("notice"), error=request.args.get("error"))


@bp.get("/api/users")
@allow(Role.ADMIN)
async def users_api(request: Request) -> HTTPResponse:
    return response.json({"users": [u.public() for u in await request.app.ctx.users.all()]})


@bp.post("/users")
@allow(Role.ADMIN)
async def add_user(request: Request) -> HTTPResponse:
    role = Role.parse(request.form.get("role"))
    if role is None:
        return done(request, "/users", error="Papel inválido.", status=400)
    try:
        user = await request.app.ctx.users.add(request.form.get("name") or "", role, request.form.get("password") or "")
    except UserError as error:
        return done(request, "/users", error=str(error), status=400)
    await audit(request, "user_added", "", f"{user.name} ({role.value})")
    return done(request, "/users", notice=f"Conta {user.name} criada.", user=user.public())


@bp.post("/users/<name:str>/disable")
@allow(Role.ADMIN)
async def disable_user(request: Request, name: str) -> HTTPResponse:
    if name == current_user(request).name:
        return done(request, "/users", error="Você não pode desativar a própria conta.", status=409)
    try:
        user = await request.app.ctx.users.disable(name)
    except UserError as error:
        return done(request, "/users", error=str(error), status=404)
    await audit(request, "user_disabled", "", user.name)
    return done(request, "/users", notice=f"Conta {user.name} desativada; sessões encerradas.")


@bp.post("/users/<name:str>/reset")
@allow(Role.ADMIN)
async def reset_user(request: Request, name: str) -> HTTPResponse:
    try:
        user = await request.app.ctx.users.reset(name, request.form.get("password") or "")
    except UserError as error:
        status = 404 if "não existe" in str(error) else 400
        return done(request, "/users", error=str(error), status=status)
    await audit(request, "user_reset", "", user.name)
    return done(request, "/users", notice=f"Senha de {user.name} redefinida; sessões encerradas.")
