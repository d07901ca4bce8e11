"""The integrations page: the lead sync's outbox (crm/outbox.py) as operators need it: how
much waits, which leads' deliveries to Kommo or a webhook stopped (and putting them back in
line), and the latest deliveries with their outcome.

A webhook is shown by its host only: its path and query may carry the receiver's secret."""
from __future__ import annotations

import logging
from typing import Any, Dict, List
from urllib.parse import urlsplit

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from crm.outbox import DeadQueue, Delivery, LeadOutbox, QueueRef
from crm.settings import KOMMO_TARGET, LeadSyncSettings
from meetings.store import MeetingRecord, MeetingStore
from observability.privacy import mask_phone
from review.roles import Role, allow
from review.web import MAX_SENDER_ID, audit, can, done, page
from sdr.env import ConfigError

__all__ = ["bp", "target_label"]

logger = logging.getLogger(__name__)

DELIVERIES_SHOWN = 100
DEAD_SHOWN = 200
OUTCOME_LABELS = {"delivered": "entregue", "retry": "nova tentativa", "dead": "parada", "dropped": "descartada"}

bp = Blueprint("integrations")


@bp.get("/integrations")
@allow(Role.VIEWER)
async def integrations(request: Request) -> HTTPResponse:
    data = await integrations_data(request)
    return page(request, "integrations.html", **data, outcome_labels=OUTCOME_LABELS,
                notice=request.args.get("notice"), error=request.args.get("error"))


@bp.get("/api/integrations")
@allow(Role.VIEWER)
async def integrations_api(request: Request) -> HTTPResponse:
    data = await integrations_data(request)
    # A queue's member names the conversation (the phone): only for those who may retry it.
    members = can(request, Role.OPERATOR)
    return response.json({
        "figures": data["figures"],
        "dead": [{"target": d.ref.target, "target_label": data["labels"][d.ref.target],
                  "conversation": mask_phone(d.ref.conversation_id), "member": d.ref.member if members else None,
                  "since": d.since, "attempts": d.attempts, "last_error": d.last_error, "pending": d.pending}
                 for d in data["dead"]],
        "deliveries": [{**d.__dict__, "target_label": data["labels"][d.target]} for d in data["deliveries"]],
    })


@bp.post("/integrations/retry")
@allow(Role.OPERATOR)
async def retry(request: Request) -> HTTPResponse:
    member = request.form.get("member") or ""
    ref = QueueRef.parse(member)
    if not ref.target or not ref.conversation_id or len(ref.conversation_id) > MAX_SENDER_ID:
        return done(request, "/integrations", error="Fila inválida.", status=400)
    if not await outbox(request).retry_dead(ref):
        return done(request, "/integrations", error="Essa fila não está mais parada.", status=409)
    label = target_label(ref.target, lead_sync_settings())
    logger.info("review.leadsync_retried target=%s conversation=%s", ref.target, mask_phone(ref.conversation_id))
    await audit(request, "integrations_retry", ref.conversation_id, label)
    return done(request, "/integrations",
                notice=f"Entregas de {mask_phone(ref.conversation_id)} para {label} de volta na fila.")


# --- helpers ---------------------------------------------------------------------------------

def outbox(request: Request) -> LeadOutbox:
    """The app's one outbox, on the app's Redis client (decode_responses, as LeadOutbox needs)."""
    ctx = request.app.ctx
    if getattr(ctx, "lead_outbox", None) is None:
        ctx.lead_outbox = LeadOutbox(ctx.redis, ctx.settings.key_prefix)
    found: LeadOutbox = ctx.lead_outbox
    return found


def lead_sync_settings() -> LeadSyncSettings:
    """What the servers deliver to (the same environment); only the webhook URLs are used here."""
    try:
        return LeadSyncSettings.from_env()
    except ConfigError as error:
        # The Rasa server refuses to start with it; here it only costs the webhooks' names.
        logger.warning("review.leadsync_settings_invalid error=%s", str(error).split(":")[0])
        return LeadSyncSettings()


def target_label(target: str, settings: LeadSyncSettings) -> str:
    """"Kommo", a webhook's host (never its path or query, which may hold a secret), else the raw name."""
    if target == KOMMO_TARGET:
        return "Kommo"
    url = settings.url_of(target)
    if url is None:
        return target
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or "?"
    return f"{host}:{port}" if port else host


async def integrations_data(request: Request) -> Dict[str, Any]:
    box = outbox(request)
    figures = await box.figures()
    dead: List[DeadQueue] = await box.dead(DEAD_SHOWN)
    deliveries: List[Delivery] = await box.deliveries(DELIVERIES_SHOWN)
    settings = lead_sync_settings()
    targets = {d.ref.target for d in dead} | {d.target for d in deliveries}
    return {"figures": figures, "dead": dead, "deliveries": deliveries,
            "labels": {t: target_label(t, settings) for t in targets},
            "meetings_pending": await meetings_pending(request)}


async def meetings_pending(request: Request) -> List[Dict[str, Any]]:
    """Bookings the calendar could not take yet (meetings/booking.py retries them)."""
    store = MeetingStore(request.app.ctx.redis, request.app.ctx.settings.key_prefix)
    waiting = []
    for conversation_id, next_try in (await store.pending())[:DEAD_SHOWN]:
        record: MeetingRecord | None = await store.get(conversation_id)
        if record is not None:
            waiting.append({"conversation_id": conversation_id, "next_try": next_try, "start": record.start,
                            "kind": record.kind, "reason": record.pending_reason})
    return waiting
