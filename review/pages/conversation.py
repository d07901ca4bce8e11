"""The conversation page: one transcript with its delivery receipts and media,
the operator's review status, tags and flags, taking the conversation over from
the assistant (send, hand back), and exporting it as a test story."""
from __future__ import annotations

import asyncio
import base64
import binascii
import re
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import quote

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from review.exporting import allowed_intents, export_story
from review.nlu_inbox import candidates
from review.simulation_panel import lead_simulation, simulation_json, simulation_rows
from review.takeover import TakeoverError
from review.tracker_parse import LEAD_FIELDS, attach_sent_ids, slot_changes, transcript
from review.web import conversation_events, conversation_exists, done, missing, page

__all__ = ["bp"]

MEDIA_TYPES = re.compile(r"^(image/(png|jpeg|webp|gif)|application/pdf|audio/(ogg|mpeg|mp4)(;.*)?)$")

bp = Blueprint("conversation")


@bp.get("/conversations/<sender_id:str>")
async def conversation(request: Request, sender_id: str) -> HTTPResponse:
    data = await conversation_data(request, sender_id)
    if data is None:
        return page(request, "not_found.html", status=404)
    data.pop("events")
    summary = data["summary"]
    simulation = simulation_rows(lead_simulation(summary.lead if summary else {}))
    return page(request, "conversation.html", **data, lead_fields=LEAD_FIELDS, simulation=simulation,
                intents=allowed_intents(request.app.ctx.settings.project_dir),
                notice=request.args.get("notice"), error=request.args.get("error"))


@bp.get("/api/conversations/<sender_id:str>")
async def conversation_api(request: Request, sender_id: str) -> HTTPResponse:
    data = await conversation_data(request, sender_id)
    if data is None:
        return response.json({"error": "no such conversation"}, status=404)
    summary = data["summary"]
    return response.json({
        "sender_id": sender_id, "review_status": data["review_status"], "tags": data["tags"],
        "flags": data["flags"], "held": data["held"], "paused": summary.paused if summary else False,
        "lead": summary.lead if summary else {}, "receipts": data["receipts"],
        "simulation": simulation_json(lead_simulation(summary.lead if summary else {})),
        "entries": [entry_json(e) for e in data["entries"]],
    })


# --- the operator's review -----------------------------------------------------------------

@bp.post("/conversations/<sender_id:str>/review")
async def set_review(request: Request, sender_id: str) -> HTTPResponse:
    if not await conversation_exists(request, sender_id):
        return missing(request)
    try:
        await request.app.ctx.state.set_status(sender_id, request.form.get("status") or "")
    except ValueError as error:
        return done(request, back(sender_id), error=str(error), status=400)
    return done(request, back(sender_id))


@bp.post("/conversations/<sender_id:str>/tags")
async def tags(request: Request, sender_id: str) -> HTTPResponse:
    if not await conversation_exists(request, sender_id):
        return missing(request)
    state = request.app.ctx.state
    try:
        if request.form.get("remove"):
            result = await state.remove_tag(sender_id, request.form.get("remove"))
        else:
            result = await state.add_tag(sender_id, request.form.get("tag") or "")
    except ValueError as error:
        return done(request, back(sender_id), error=str(error), status=400)
    return done(request, back(sender_id), tags=result)


@bp.post("/conversations/<sender_id:str>/flag")
async def flag(request: Request, sender_id: str) -> HTTPResponse:
    if not await conversation_exists(request, sender_id):
        return missing(request)
    try:
        index = int(request.form.get("index") or "")
    except ValueError:
        return done(request, back(sender_id), error="mensagem inválida", status=400)
    flags = await request.app.ctx.state.toggle_flag(sender_id, index)
    return done(request, back(sender_id) + f"#e{index}", flags=flags)


# --- taking over from the assistant ----------------------------------------------------------

@bp.post("/conversations/<sender_id:str>/takeover")
async def take(request: Request, sender_id: str) -> HTTPResponse:
    events = await conversation_events(request, sender_id)
    if events is None:
        return missing(request)
    ctx = request.app.ctx
    try:
        await ctx.takeover.take(sender_id, events)
    except TakeoverError as error:
        return done(request, back(sender_id), error=str(error), status=502)
    await ctx.state.start_takeover(sender_id, "")
    await ctx.index.refresh(sender_id)
    return done(request, back(sender_id), notice="Assistente pausado: você está no controle.")


@bp.post("/conversations/<sender_id:str>/handback")
async def handback(request: Request, sender_id: str) -> HTTPResponse:
    events = await conversation_events(request, sender_id)
    if events is None:
        return missing(request)
    ctx = request.app.ctx
    try:
        status = await ctx.takeover.give_back(sender_id, events)
    except TakeoverError as error:
        return done(request, back(sender_id), error=str(error), status=502)
    await ctx.state.end_takeover(sender_id)
    await ctx.index.refresh(sender_id)
    return done(request, back(sender_id), notice="Conversa devolvida ao assistente.", lead_status=status)


@bp.post("/conversations/<sender_id:str>/send")
async def send(request: Request, sender_id: str) -> HTTPResponse:
    if not await conversation_exists(request, sender_id):
        return missing(request)
    ctx = request.app.ctx
    if not await ctx.takeover.is_held(sender_id):
        # Paused by the assistant's own handoff (the lead asked for a person): the
        # operator may answer at once; the hold keeps the channel quiet too.
        summary = await ctx.index.refresh(sender_id)
        if summary is None or not summary.paused:
            return done(request, back(sender_id), error="Assuma a conversa antes de escrever.", status=409)
        await ctx.takeover.store.hold_for_human(sender_id)
        await ctx.state.start_takeover(sender_id, "")
    try:
        message_id = await ctx.takeover.send(sender_id, request.form.get("text") or "")
    except TakeoverError as error:
        return done(request, back(sender_id), error=str(error), status=502)
    await ctx.index.refresh(sender_id)
    return done(request, back(sender_id) + "#bottom", message_id=message_id)


# --- export and media ------------------------------------------------------------------------

@bp.post("/conversations/<sender_id:str>/export-story")
async def story(request: Request, sender_id: str) -> HTTPResponse:
    events = await conversation_events(request, sender_id)
    if events is None:
        return missing(request)
    corrections = await story_corrections(request, sender_id, events)
    project_dir = request.app.ctx.settings.project_dir
    path = await asyncio.to_thread(export_story, project_dir, sender_id, events, corrections)
    return done(request, back(sender_id), notice=f"História de teste adicionada a {path.name}.",
                path=str(path))


@bp.get("/conversations/<sender_id:str>/media/<message_id:str>")
async def media(request: Request, sender_id: str, message_id: str) -> HTTPResponse:
    data = await conversation_data(request, sender_id)
    entry = next((e for e in (data or {}).get("entries", []) for m in e.media if m["message_id"] == message_id), None)
    if entry is None:
        return response.json({"error": "no such media"}, status=404)
    info = next(m for m in entry.media if m["message_id"] == message_id)
    ctx = request.app.ctx
    encoded = await ctx.redis.get(f"{ctx.settings.key_prefix}:evo:media:{message_id}")
    mimetype = (info.get("mimetype") or "").lower()
    if not encoded or not MEDIA_TYPES.match(mimetype):
        return response.json({"error": "media no longer kept (24 h) or not viewable"}, status=404)
    try:
        body = base64.b64decode(encoded.split(",", 1)[-1], validate=False)
    except (binascii.Error, ValueError):
        return response.json({"error": "media unreadable"}, status=404)
    return response.raw(body, content_type=mimetype.split(";")[0],
                        headers={"Content-Disposition": "inline", "Content-Security-Policy": "sandbox"})


# --- helpers ---------------------------------------------------------------------------------

async def conversation_data(request: Request, sender_id: str) -> Optional[Dict[str, Any]]:
    events = await conversation_events(request, sender_id)
    if events is None:
        return None
    ctx = request.app.ctx
    summary = await ctx.index.refresh(sender_id)
    entries = transcript(events)
    attach_sent_ids(entries, await ctx.takeover.store.sent_messages(sender_id))
    ids = [i for e in entries for i in e.message_ids]
    receipts = {}
    if ids:
        async with ctx.redis.pipeline(transaction=False) as pipe:
            for message_id in ids:
                pipe.hgetall(f"{ctx.settings.key_prefix}:evo:receipt:{message_id}")
            receipts = {i: r for i, r in zip(ids, await pipe.execute()) if r}
    return {
        "sender_id": sender_id, "summary": summary, "entries": entries, "receipts": receipts,
        "slots": slot_changes(entries), "review_status": await ctx.state.status(sender_id),
        "tags": await ctx.state.tags(sender_id), "flags": await ctx.state.flags(sender_id),
        "held": await ctx.takeover.is_held(sender_id), "events": events,
    }


async def story_corrections(request: Request, sender_id: str,
                            events: List[Mapping[str, Any]]) -> Dict[int, str]:
    """Intents the operator corrected in the NLU inbox, by event index, for the story."""
    verdicts = await request.app.ctx.state.verdicts()
    corrections = {}
    for item in candidates(sender_id, events):
        verdict = verdicts.get(item.id)
        if verdict and verdict.verdict == "relabel" and verdict.intent:
            corrections[item.index] = verdict.intent
    return corrections


def back(sender_id: str) -> str:
    return "/conversations/" + quote(sender_id, safe="")


def entry_json(entry: Any) -> Dict[str, Any]:
    data = dict(entry.__dict__)
    data["ranking"] = [list(r) for r in entry.ranking]
    return data
