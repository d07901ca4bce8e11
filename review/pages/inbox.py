"""The inbox page: the conversations, filtered and paginated, and the operator's
saved filters; its JSON twin is /api/conversations."""
from __future__ import annotations

from typing import Any, Dict, List

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from observability.privacy import mask_phone
from review.filters import InboxFilter, page_number, paginate, select, tag_counts
from review.web import done, page

__all__ = ["bp"]

bp = Blueprint("inbox")


@bp.get("/")
async def root(request: Request) -> HTTPResponse:
    return response.redirect("/conversations", status=303)


@bp.get("/conversations")
async def inbox(request: Request) -> HTTPResponse:
    data = await inbox_data(request)
    tags = data.pop("tags")
    ctx = request.app.ctx
    return page(request, "inbox.html", **data, intents=ctx.index.intents, actions=ctx.index.actions,
                tag_counts=tag_counts(tags), saved=await ctx.state.saved_filters(),
                query=data["filter"].query())


@bp.get("/api/conversations")
async def inbox_api(request: Request) -> HTTPResponse:
    data = await inbox_data(request)
    current = data["page"]
    return response.json({"total": current.total, "page": current.number, "pages": current.pages,
                          "conversations": data["rows"]})


@bp.post("/filters")
async def save_filter(request: Request) -> HTTPResponse:
    query = InboxFilter.from_args({k: request.form.get(k) for k in request.form}).query()
    try:
        await request.app.ctx.state.save_filter(request.form.get("name") or "", query)
    except ValueError as error:
        return done(request, "/conversations?" + query, error=str(error))
    return done(request, "/conversations?" + query)


@bp.post("/filters/delete")
async def delete_filter(request: Request) -> HTTPResponse:
    await request.app.ctx.state.delete_filter(request.form.get("name") or "")
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
    rows = [inbox_row(s, statuses, tags, held, low_confidence) for s in current.items]
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
