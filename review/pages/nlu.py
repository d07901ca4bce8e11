"""The NLU inbox page: lead messages the model may have misread, the operator's
verdicts on them, and their export as training data (data/nlu_review.yml)."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, Optional

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from review.exporting import allowed_intents, export_nlu
from review.filters import page_number
from review.nlu_inbox import NluItem, Verdict, known_ids
from review.roles import Role, allow
from review.text import normalise
from review.web import audit, done, missing, page

__all__ = ["bp"]

logger = logging.getLogger(__name__)

NLU_PAGE_SIZE = 50

bp = Blueprint("nlu")


@bp.get("/nlu")
@allow(Role.VIEWER)
async def nlu(request: Request) -> HTTPResponse:
    data = await nlu_data(request)
    return page(request, "nlu.html", **data, intents=allowed_intents(request.app.ctx.settings.project_dir),
                notice=request.args.get("notice"), error=request.args.get("error"))


@bp.get("/api/nlu")
@allow(Role.VIEWER)
async def nlu_api(request: Request) -> HTTPResponse:
    data = await nlu_data(request)
    return response.json({
        "total": data["total"], "page": data["page"], "pages": data["pages"],
        "items": [{**i.as_dict(),
                   "verdict": (data["verdicts"].get(i.id).__dict__ if i.id in data["verdicts"] else None)}
                  for i in data["items"]],
    })


@bp.post("/nlu/<item_id:str>")
@allow(Role.OPERATOR)
async def nlu_verdict(request: Request, item_id: str) -> HTTPResponse:
    ctx = request.app.ctx
    item: Optional[NluItem] = ctx.index.nlu_items.get(item_id)
    if item is None:
        return missing(request)
    verdict = request.form.get("verdict") or ""
    intent = request.form.get("intent") or None
    allowed = allowed_intents(ctx.settings.project_dir)
    if verdict == "correct" and item.intent not in allowed:
        return done(request, "/nlu", error="A intenção prevista não é treinável: escolha outra.", status=400)
    if verdict == "relabel" and intent not in allowed:
        return done(request, "/nlu", error="Intenção desconhecida.", status=400)
    try:
        await ctx.state.set_verdict(item_id, Verdict(verdict, intent if verdict == "relabel" else None))
    except ValueError as error:
        return done(request, "/nlu", error=str(error), status=400)
    await audit(request, "nlu_verdict", item.sender_id, f"{verdict} → {intent}" if verdict == "relabel" else verdict)
    return done(request, "/nlu")


@bp.post("/nlu/export")
@allow(Role.ADMIN)
async def nlu_export(request: Request) -> HTTPResponse:
    ctx = request.app.ctx
    verdicts = await ctx.state.verdicts()
    items = [ctx.index.nlu_items[i] for i in verdicts if i in ctx.index.nlu_items]
    path, count = await asyncio.to_thread(export_nlu, ctx.settings.project_dir, items, verdicts)
    await ctx.state.mark_exported([i.id for i in items])
    logger.info("review.nlu_exported examples=%d", count)
    await audit(request, "nlu_export", "", f"{count} exemplo(s) em {path.name}")
    return done(request, "/nlu", notice=f"{count} exemplo(s) novo(s) gravado(s) em {path.name}.",
                added=count, path=str(path))


async def nlu_data(request: Request) -> Dict[str, Any]:
    ctx = request.app.ctx
    verdicts = await ctx.state.verdicts()
    known = await asyncio.to_thread(known_ids, ctx.settings.project_dir)
    show = request.args.get("show") or "pending"
    items = [i for i in ctx.index.nlu_items.values() if i.id not in known]
    query = normalise(request.args.get("q") or "")
    if query:
        items = [i for i in items if query in normalise(i.text)]
    if show == "pending":
        items = [i for i in items if i.id not in verdicts]
    else:
        items = [i for i in items if i.id in verdicts]
    items.sort(key=lambda i: (i.confidence if i.confidence is not None else 0.0, i.id))
    number = page_number(request.args.get("page"))
    pages = max(1, -(-len(items) // NLU_PAGE_SIZE))
    number = min(number, pages)
    return {"items": items[(number - 1) * NLU_PAGE_SIZE: number * NLU_PAGE_SIZE], "total": len(items),
            "page": number, "pages": pages, "verdicts": verdicts, "show": show, "q": request.args.get("q") or ""}
