"""The conversation page: one transcript with its delivery receipts and media,
the operator's review status, tags and flags, taking the conversation over from
the assistant (send, hand back), and exporting it as a test story."""
from __future__ import annotations

import asyncio
import base64
import binascii
import re
from typing import Any, Dict, List, Mapping, Optional

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from observability.privacy import mask_phone
from review.exporting import allowed_intents, export_story
from review.nlu_inbox import candidates
from review.refs import REF_PATTERN
from review.roles import Role, allow
from review.simulation_panel import lead_simulation, simulation_json, simulation_rows
from review.takeover import TakeoverError
from review.tracker_parse import LEAD_FIELDS, attach_sent_ids, slot_changes, transcript
from review.web import audit, can, conversation_events, conversation_exists, done, missing, page, resolve

__all__ = ["bp"]

MEDIA_TYPES = re.compile(r"^(image/(png|jpeg|webp|gif)|application/pdf|audio/(ogg|mpeg|mp4)(;.*)?)$")

bp = Blueprint("conversation")


@bp.get("/conversations/<raw_id:str>")
@allow(Role.VIEWER)
async def conversation(request: Request, raw_id: str) -> HTTPResponse:
    data = await conversation_data(request, raw_id)
    if data is None:
        return page(request, "not_found.html", status=404)
    data.pop("events")
    summary = data["summary"]
    sender_id = data["sender_id"]
    # Masked for everyone; operators and admins may show the number, and that view is audited.
    full_phone = request.args.get("phone") == "full" and can(request, Role.OPERATOR)
    if full_phone:
        await audit(request, "phone_view", sender_id, "página da conversa")
    simulation = simulation_rows(lead_simulation(summary.lead if summary else {}))
    return page(request, "conversation.html", **data, lead_fields=LEAD_FIELDS, simulation=simulation,
                phone=sender_id if full_phone else mask_phone(sender_id), full_phone=full_phone,
                intents=allowed_intents(request.app.ctx.settings.project_dir),
                notice=request.args.get("notice"), error=request.args.get("error"))


@bp.get("/api/conversations/<raw_id:str>")
@allow(Role.VIEWER)
async def conversation_api(request: Request, raw_id: str) -> HTTPResponse:
    data = await conversation_data(request, raw_id)
    if data is None:
        return response.json({"error": "no such conversation"}, status=404)
    summary = data["summary"]
    # The id back as the caller gave it: a script that asked by number knew the number.
    shown = mask_phone(data["sender_id"]) if REF_PATTERN.match(raw_id) else raw_id
    return response.json({
        "sender_id": shown, "ref": data["ref"], "review_status": data["review_status"], "tags": data["tags"],
        "flags": data["flags"], "held": data["held"], "paused": summary.paused if summary else False,
        "lead": summary.lead if summary else {}, "receipts": data["receipts"],
        "simulation": simulation_json(lead_simulation(summary.lead if summary else {})),
        "entries": [entry_json(e) for e in data["entries"]],
    })


# --- the operator's review -----------------------------------------------------------------

@bp.post("/conversations/<raw_id:str>/review")
@allow(Role.OPERATOR)
async def set_review(request: Request, raw_id: str) -> HTTPResponse:
    sender_id = await existing(request, raw_id)
    if sender_id is None:
        return missing(request)
    status = request.form.get("status") or ""
    try:
        await request.app.ctx.state.set_status(sender_id, status)
    except ValueError as error:
        return done(request, back(request, sender_id), error=str(error), status=400)
    await audit(request, "review_status", sender_id, status)
    return done(request, back(request, sender_id))


@bp.post("/conversations/<raw_id:str>/tags")
@allow(Role.OPERATOR)
async def tags(request: Request, raw_id: str) -> HTTPResponse:
    sender_id = await existing(request, raw_id)
    if sender_id is None:
        return missing(request)
    state = request.app.ctx.state
    removed = request.form.get("remove")
    try:
        if removed:
            result = await state.remove_tag(sender_id, removed)
        else:
            result = await state.add_tag(sender_id, request.form.get("tag") or "")
    except ValueError as error:
        return done(request, back(request, sender_id), error=str(error), status=400)
    if removed:
        await audit(request, "tag_removed", sender_id, removed)
    else:
        await audit(request, "tag_added", sender_id, request.form.get("tag") or "")
    return done(request, back(request, sender_id), tags=result)


@bp.post("/conversations/<raw_id:str>/flag")
@allow(Role.OPERATOR)
async def flag(request: Request, raw_id: str) -> HTTPResponse:
    sender_id = await existing(request, raw_id)
    if sender_id is None:
        return missing(request)
    try:
        index = int(request.form.get("index") or "")
    except ValueError:
        return done(request, back(request, sender_id), error="mensagem inválida", status=400)
    flags = await request.app.ctx.state.toggle_flag(sender_id, index)
    await audit(request, "flag", sender_id, f"mensagem {index}: {'marcada' if index in flags else 'desmarcada'}")
    return done(request, back(request, sender_id) + f"#e{index}", flags=flags)


# --- taking over from the assistant ----------------------------------------------------------

@bp.post("/conversations/<raw_id:str>/takeover")
@allow(Role.OPERATOR)
async def take(request: Request, raw_id: str) -> HTTPResponse:
    events = await conversation_events(request, raw_id)
    sender_id = resolve(request, raw_id)
    if events is None or sender_id is None:
        return missing(request)
    ctx = request.app.ctx
    ctx.live.expect_takeover(sender_id)  # this operator knows: no handoff alert for it
    try:
        await ctx.takeover.take(sender_id, events)
    except TakeoverError as error:
        return done(request, back(request, sender_id), error=str(error), status=502)
    await ctx.state.start_takeover(sender_id, "")
    await ctx.index.refresh(sender_id)
    await audit(request, "takeover", sender_id)
    return done(request, back(request, sender_id), notice="Assistente pausado: você está no controle.")


@bp.post("/conversations/<raw_id:str>/handback")
@allow(Role.OPERATOR)
async def handback(request: Request, raw_id: str) -> HTTPResponse:
    events = await conversation_events(request, raw_id)
    sender_id = resolve(request, raw_id)
    if events is None or sender_id is None:
        return missing(request)
    ctx = request.app.ctx
    try:
        status = await ctx.takeover.give_back(sender_id, events)
    except TakeoverError as error:
        return done(request, back(request, sender_id), error=str(error), status=502)
    await ctx.state.end_takeover(sender_id)
    await ctx.index.refresh(sender_id)
    await audit(request, "handback", sender_id, f"status {status}")
    return done(request, back(request, sender_id), notice="Conversa devolvida ao assistente.", lead_status=status)


@bp.post("/conversations/<raw_id:str>/send")
@allow(Role.OPERATOR)
async def send(request: Request, raw_id: str) -> HTTPResponse:
    sender_id = await existing(request, raw_id)
    if sender_id is None:
        return missing(request)
    ctx = request.app.ctx
    if not await ctx.takeover.is_held(sender_id):
        # Paused by the assistant's own handoff (the lead asked for a person): the
        # operator may answer at once; the hold keeps the channel quiet too.
        summary = await ctx.index.refresh(sender_id)
        if summary is None or not summary.paused:
            return done(request, back(request, sender_id), error="Assuma a conversa antes de escrever.",
                        status=409)
        await ctx.takeover.store.hold_for_human(sender_id)
        await ctx.state.start_takeover(sender_id, "")
    text = request.form.get("text") or ""
    try:
        message_id = await ctx.takeover.send(sender_id, text)
    except TakeoverError as error:
        return done(request, back(request, sender_id), error=str(error), status=502)
    await ctx.index.refresh(sender_id)
    # What was written stays in the conversation; the trail says who wrote it.
    await audit(request, "message_sent", sender_id, f"{len(text.strip())} caracteres")
    return done(request, back(request, sender_id) + "#bottom", message_id=message_id)


# --- export and media ------------------------------------------------------------------------

@bp.post("/conversations/<raw_id:str>/export-story")
@allow(Role.ADMIN)
async def story(request: Request, raw_id: str) -> HTTPResponse:
    events = await conversation_events(request, raw_id)
    sender_id = resolve(request, raw_id)
    if events is None or sender_id is None:
        return missing(request)
    corrections = await story_corrections(request, sender_id, events)
    project_dir = request.app.ctx.settings.project_dir
    path = await asyncio.to_thread(export_story, project_dir, sender_id, events, corrections)
    await audit(request, "story_export", sender_id, path.name)
    return done(request, back(request, sender_id), notice=f"História de teste adicionada a {path.name}.",
                path=str(path))


@bp.get("/conversations/<raw_id:str>/media/<message_id:str>")
@allow(Role.VIEWER)
async def media(request: Request, raw_id: str, message_id: str) -> HTTPResponse:
    data = await conversation_data(request, raw_id)
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

async def conversation_data(request: Request, raw_id: str) -> Optional[Dict[str, Any]]:
    events = await conversation_events(request, raw_id)
    sender_id = resolve(request, raw_id)
    if events is None or sender_id is None:
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
        "sender_id": sender_id, "ref": ctx.refs.ref(sender_id), "summary": summary, "entries": entries,
        "receipts": receipts,
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


async def existing(request: Request, raw_id: str) -> Optional[str]:
    """The conversation id a URL names, when that conversation exists."""
    sender_id = resolve(request, raw_id)
    return sender_id if sender_id is not None and await conversation_exists(request, sender_id) else None


def back(request: Request, sender_id: str) -> str:
    """Where a form goes back to: the conversation by its reference (no phone in the URL)."""
    path: str = request.app.ctx.refs.path(sender_id)
    return path


def entry_json(entry: Any) -> Dict[str, Any]:
    data = dict(entry.__dict__)
    data["ranking"] = [list(r) for r in entry.ranking]
    return data
