"""The inbox page: the conversations, filtered and paginated, and the operator's
saved filters; its JSON twin is /api/conversations."""
from __future__ import annotations

from typing import Any, Dict, List

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from observability.privacy import mask_phone
from review.filters import InboxFilter, page_number, paginate, select, tag_counts
from review.roles import Role, allow
from review.web import audit, can, done, page

__all__ = ["bp"]

bp = Blueprint("inbox")


@bp.get("/")
@allow(Role.VIEWER)
async def root(request: Request) -> HTTPResponse:
    return response.redirect("/conversations", status=303)


@bp.get("/conversations")
@allow(Role.VIEWER)
async def inbox(request: Request) -> HTTPResponse:
    data = await inbox_data(request)
    tags = data.pop("tags")
    ctx = request.app.ctx
    return page(request, "inbox.html", **data, intents=ctx.index.intents, actions=ctx.index.actions,
                tag_counts=tag_counts(tags), saved=await ctx.state.saved_filters(),
                query=data["filter"].query())


@bp.get("/api/conversations")
@allow(Role.VIEWER)
async def inbox_api(request: Request) -> HTTPResponse:
    data = await inbox_data(request)
    current = data["page"]
    rows = data["rows"]
    if can(request, Role.OPERATOR):
        # Scripts get the conversation ids (phone numbers): a view of full phones, audited.
        if rows:
            await audit(request, "phone_view", "", f"API de conversas: {len(rows)} conversa(s)")
    else:
        rows = [{**r, "id": r["ref"]} for r in rows]
    return response.json({"total": current.total, "page": current.number, "pages": current.pages,
                          "conversations": rows})


@bp.post("/filters")
@allow(Role.OPERATOR)
async def save_filter(request: Request) -> HTTPResponse:
    query = InboxFilter.from_args({k: request.form.get(k) for k in request.form}).query()
    try:
        name = await request.app.ctx.state.save_filter(request.form.get("name") or "", query)
    except ValueError as error:
        return done(request, "/conversations?" + query, error=str(error))
    await audit(request, "filter_saved", "", name)
    return done(request, "/conversations?" + query)


@bp.post("/filters/delete")
@allow(Role.OPERATOR)
async def delete_filter(request: Request) -> HTTPResponse:
    name = request.form.get("name") or ""
    await request.app.ctx.state.delete_filter(name)
    await audit(request, "filter_deleted", "", name)
    return done(request, "/conversations")


async def inbox_data(request: Request) -> Dict[str, Any]:
    ctx = request.app.ctx
    low_confidence = ctx.settings.low_confidence
    wanted = InboxFilter.from_args({k: request.args.get(k) for k in request.args})
    statuses = await ctx.state.statuses()
    tags = await ctx.state.all_tags()
    held = await ctx.state.takeovers()
    chosen = select(ctx.index.newest_first(), wanted, statuses, tags, low_confidence)
    current = paginate(chosen, page_number(request.args.get("page")))
    rows = [{**inbox_row(s, statuses, tags, held, low_confidence), "ref": ctx.refs.ref(s.sender_id)}
            for s in current.items]
    return {"filter": wanted, "page": current, "rows": rows, "total": len(ctx.index), "tags": tags}


def inbox_row(summary: Any, statuses: Dict[str, str], tags: Dict[str, List[str]], held: Dict[str, Any],
              low_threshold: float) -> Dict[str, Any]:
    return {
        "id": summary.sender_id,
        "name": summary.name,
        "phone": mask_phone(summary.sender_id),
        "last_activity": summary.last_activity,
        "turns": summary.turns,
        "lead_class": summary.lead_class,
        "lead_score": summary.lead_score,
        "lead_status": summary.lead_status,
        "lead_source": summary.lead.get("lead_source"),
        "lead_campaign": summary.lead.get("lead_campaign"),
        "review_status": statuses.get(summary.sender_id, "new"),
        "tags": tags.get(summary.sender_id, []),
        "low_confidence": summary.low_confidence(low_threshold),
        "min_confidence": summary.min_confidence,
        "fallbacks": summary.fallbacks,
        "paused": summary.paused or summary.sender_id in held,
        "preview": summary.preview,
    }
