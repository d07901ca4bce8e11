"""Server-sent events for the open pages (review/live.py makes them), and the operator's
typing signal to the lead.

`GET /events` streams, as `event: <kind>` + JSON `data:` lines:
- `conversation` {ref}: something new in that conversation (messages, replies, status);
  with `?c=<ref>` also when one of its delivery or read receipts arrives;
- `handoff` {ref, name, phone (masked), url}: to operators and admins only;
- `logout`: the session ended (account disabled, password reset, logged out elsewhere).

Only references and masked phones travel: a viewer's page gets nothing it could not read.
A stream ends after STREAM_SECONDS and the browser's EventSource reconnects on its own,
which also checks the login again.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import time
from typing import Any, Dict, List, Optional

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from review.auth import SESSION_COOKIE
from review.refs import REF_PATTERN
from review.roles import Role, allow
from review.tracker_parse import attach_sent_ids, transcript
from review.web import can, conversation_exists, done, missing, resolve

__all__ = ["bp"]

bp = Blueprint("live")

TICK_S = 1.0
PING_S = 15.0
STREAM_SECONDS = 300.0
TYPING_EVERY_S = 3


@bp.get("/events")
@allow(Role.VIEWER)
async def events(request: Request) -> Optional[HTTPResponse]:
    ctx = request.app.ctx
    raw_ref = request.args.get("c") or ""
    sender_id = resolve(request, raw_ref) if REF_PATTERN.match(raw_ref) else None
    alerts = can(request, Role.OPERATOR)
    queue = ctx.live.subscribe()
    try:
        stream = await request.respond(content_type="text/event-stream; charset=utf-8",
                                       headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        await stream.send("retry: 2000\n\n")
        receipts = Receipts(ctx, sender_id) if sender_id else None
        if receipts:
            await receipts.changed()
        started = last_ping = last_check = time.monotonic()
        while time.monotonic() - started < STREAM_SECONDS:
            try:
                kind, data = await asyncio.wait_for(queue.get(), timeout=TICK_S)
            except asyncio.TimeoutError:
                kind, data = "", {}
            if kind == "bye":
                break
            if kind == "conversation" or (kind == "handoff" and alerts):
                if receipts and data.get("ref") == raw_ref:
                    await receipts.reload()
                await stream.send(sse(kind, data))
            if time.monotonic() - last_check < TICK_S:
                continue
            last_check = time.monotonic()
            # Once a second however busy: a disabled account's page stops hearing at once.
            if not await still_logged_in(request):
                await stream.send(sse("logout", {}))
                break
            if receipts and await receipts.changed():
                await stream.send(sse("conversation", {"ref": raw_ref, "receipts": True}))
            if time.monotonic() - last_ping > PING_S:
                await stream.send(": ping\n\n")  # keeps proxies and Sanic's response timeout quiet
                last_ping = time.monotonic()
        await stream.eof()
    finally:
        ctx.live.unsubscribe(queue)
    return None


@bp.post("/conversations/<raw_id:str>/typing")
@allow(Role.OPERATOR)
async def typing(request: Request, raw_id: str) -> HTTPResponse:
    """The page calls this while the operator types; at most one presence per few seconds
    reaches Evolution, sent in the background so the page never waits for it."""
    ctx = request.app.ctx
    sender_id = resolve(request, raw_id)
    if sender_id is None or not await conversation_exists(request, sender_id):
        return missing(request)
    if not await ctx.takeover.is_held(sender_id):
        return done(request, "/conversations", sent=False)
    key = f"{ctx.settings.key_prefix}:review:typing:{sender_id}"
    sent = bool(await ctx.redis.set(key, "1", nx=True, ex=TYPING_EVERY_S))
    if sent:
        task = asyncio.get_event_loop().create_task(ctx.takeover.typing(sender_id))
        ctx.live.tasks.add(task)
        task.add_done_callback(ctx.live.tasks.discard)
    return done(request, "/conversations", sent=sent)


def sse(kind: str, data: Dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def still_logged_in(request: Request) -> bool:
    ctx = request.app.ctx
    session = await ctx.sessions.get(request.cookies.get(SESSION_COOKIE))
    user = await ctx.users.get(session.user) if session else None
    return user is not None and user.active


class Receipts:
    """Delivery and read receipts of one conversation's messages: a fingerprint of them,
    compared every tick (the channel writes them outside the tracker)."""

    def __init__(self, ctx: Any, sender_id: str) -> None:
        self.ctx = ctx
        self.sender_id = sender_id
        self.ids: List[str] = []
        self.loaded = False
        self.fingerprint = ""

    async def reload(self) -> None:
        events = await self.ctx.index.events(self.sender_id) or []
        entries = transcript(events)
        attach_sent_ids(entries, await self.ctx.takeover.store.sent_messages(self.sender_id))
        self.ids = [i for e in entries for i in e.message_ids]
        self.loaded = True

    async def changed(self) -> bool:
        if not self.loaded:
            await self.reload()
        async with self.ctx.redis.pipeline(transaction=False) as pipe:
            for message_id in self.ids:
                pipe.hgetall(f"{self.ctx.settings.key_prefix}:evo:receipt:{message_id}")
            found = await pipe.execute() if self.ids else []
        digest = hashlib.sha256(json.dumps(found, sort_keys=True).encode()).hexdigest()
        before, self.fingerprint = self.fingerprint, digest
        return bool(before) and before != digest
