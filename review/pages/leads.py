"""The leads page: every lead's qualification data as a sortable table and a CSV
download, with the weekly funnel and the NLU confidence histogram."""
from __future__ import annotations

from typing import Any, Dict, List

from markupsafe import Markup
from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from review import charts, leads
from review.web import page

__all__ = ["bp"]

bp = Blueprint("leads")


@bp.get("/leads")
async def leads_page(request: Request) -> HTTPResponse:
    rows = lead_rows(request)
    summaries = request.app.ctx.index.newest_first()
    return page(request, "leads.html", rows=rows[:500], total=len(rows), columns=leads.COLUMNS,
                sort=request.args.get("sort") or "last_activity", dir=request.args.get("dir") or "desc",
                funnel=Markup(charts.funnel_svg(leads.weekly_funnel(summaries))),
                histogram=Markup(charts.histogram_svg(leads.confidence_histogram(summaries))))


@bp.get("/leads.csv")
async def leads_csv(request: Request) -> HTTPResponse:
    rows = lead_rows(request, full_phone=request.args.get("phones") == "full")
    return response.text(leads.leads_csv(rows), content_type="text/csv; charset=utf-8",
                         headers={"Content-Disposition": 'attachment; filename="leads.csv"'})


@bp.get("/api/leads")
async def leads_api(request: Request) -> HTTPResponse:
    summaries = request.app.ctx.index.newest_first()
    return response.json({
        "leads": lead_rows(request),
        "funnel": [{"week": w.week, "counts": list(w.counts)} for w in leads.weekly_funnel(summaries)],
        "confidence_histogram": leads.confidence_histogram(summaries),
    })


def lead_rows(request: Request, full_phone: bool = False) -> List[Dict[str, Any]]:
    rows = [leads.lead_row(s, full_phone) for s in request.app.ctx.index.newest_first()]
    sort = request.args.get("sort") or "last_activity"
    return leads.sorted_rows(rows, sort, (request.args.get("dir") or "desc") == "desc")
