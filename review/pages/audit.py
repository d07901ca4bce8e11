"""The audit page (admins): the trail of review/audit.py with filters (who, what, which
conversation, from, to) and its CSV export, which is itself recorded."""
from __future__ import annotations

from typing import Any, Dict

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from review.audit import ACTIONS, AuditQuery, entries_csv
from review.filters import day_start
from review.refs import REF_PATTERN
from review.roles import Role, allow
from review.web import audit, page

__all__ = ["bp"]

bp = Blueprint("audit")

SHOWN = 500
EXPORTED = 100_000
DAY_S = 86400


@bp.get("/audit")
@allow(Role.ADMIN)
async def audit_page(request: Request) -> HTTPResponse:
    query, form = audit_query(request)
    log = request.app.ctx.audit
    entries = await log.entries(query, SHOWN)
    return page(request, "audit.html", entries=entries, form=form, actions=ACTIONS, users=await log.users(),
                shown=SHOWN)


@bp.get("/api/audit")
@allow(Role.ADMIN)
async def audit_api(request: Request) -> HTTPResponse:
    query, _ = audit_query(request)
    entries = await request.app.ctx.audit.entries(query, SHOWN)
    return response.json({"entries": [{**e.__dict__, "label": e.label} for e in entries]})


@bp.get("/audit.csv")
@allow(Role.ADMIN)
async def audit_csv(request: Request) -> HTTPResponse:
    query, form = audit_query(request)
    entries = await request.app.ctx.audit.entries(query, EXPORTED)
    await audit(request, "audit_export", "", f"{len(entries)} registro(s); filtro: "
                + ", ".join(f"{k}={v}" for k, v in form.items() if v))
    return response.text(entries_csv(entries), content_type="text/csv; charset=utf-8",
                         headers={"Content-Disposition": 'attachment; filename="auditoria.csv"'})


def audit_query(request: Request) -> tuple[AuditQuery, Dict[str, Any]]:
    form = {key: (request.args.get(key) or "").strip()[:100]
            for key in ("user", "action", "conversation", "date_from", "date_to")}
    conversation = form["conversation"]
    if REF_PATTERN.match(conversation):  # a conversation page's reference works too
        ctx = request.app.ctx
        conversation = ctx.refs.resolve(conversation, [s.sender_id for s in ctx.index.newest_first()]) or conversation
    since = day_start(form["date_from"]) if form["date_from"] else None
    until = day_start(form["date_to"]) if form["date_to"] else None
    return AuditQuery(since=since, until=until + DAY_S if until is not None else None, user=form["user"],
                      action=form["action"] if form["action"] in ACTIONS else "",
                      conversation=conversation), form
