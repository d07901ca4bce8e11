"""The leads page: every lead's qualification data as a sortable table and a CSV
download, with the weekly funnel and the NLU confidence histogram."""
from __future__ import annotations

from typing import Any, Dict, List

from markupsafe import Markup
from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from review import charts, leads
from review.roles import Role, allow
from review.web import audit, can, forbidden, page

__all__ = ["bp"]

bp = Blueprint("leads")


@bp.get("/leads")
@allow(Role.VIEWER)
async def leads_page(request: Request) -> HTTPResponse:
    rows = lead_rows(request)
    summaries = request.app.ctx.index.newest_first()
    return page(request, "leads.html", rows=rows[:500], total=len(rows), columns=leads.COLUMNS,
                sort=request.args.get("sort") or "last_activity", dir=request.args.get("dir") or "desc",
                funnel=Markup(charts.funnel_svg(leads.weekly_funnel(summaries))),
                histogram=Markup(charts.histogram_svg(leads.confidence_histogram(summaries))))


@bp.get("/leads.csv")
@allow(Role.VIEWER)
async def leads_csv(request: Request) -> HTTPResponse:
    """Phones masked; `?phones=full` (admins only, audited) for the sales team."""
    full_phone = request.args.get("phones") == "full"
    if full_phone and not can(request, Role.ADMIN):
        return forbidden(request)
    rows = lead_rows(request, full_phone=full_phone)
    if full_phone:
        await audit(request, "csv_full_phones", "", f"{len(rows)} lead(s)")
    return response.text(leads.leads_csv(rows), content_type="text/csv; charset=utf-8",
                         headers={"Content-Disposition": 'attachment; filename="leads.csv"'})


@bp.get("/api/leads")
@allow(Role.VIEWER)
async def leads_api(request: Request) -> HTTPResponse:
    summaries = request.app.ctx.index.newest_first()
    rows = lead_rows(request)
    refs = request.app.ctx.refs
    if can(request, Role.OPERATOR):
        if rows:  # each row names its conversation id, the phone number: audited
            await audit(request, "phone_view", "", f"API de leads: {len(rows)} lead(s)")
    else:
        rows = [{**r, "sender_id": refs.ref(r["sender_id"])} for r in rows]
    return response.json({
        "leads": rows,
        "funnel": [{"week": w.week, "counts": list(w.counts)} for w in leads.weekly_funnel(summaries)],
        "confidence_histogram": leads.confidence_histogram(summaries),
    })


def lead_rows(request: Request, full_phone: bool = False) -> List[Dict[str, Any]]:
    rows = [leads.lead_row(s, full_phone) for s in request.app.ctx.index.newest_first()]
    sort = request.args.get("sort") or "last_activity"
    return leads.sorted_rows(rows, sort, (request.args.get("dir") or "desc") == "desc")
