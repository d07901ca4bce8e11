"""The review UI's HTTP routes (Sanic, as Rasa ships it).

Pages are server-rendered with autoescaped Jinja2 templates; every change is a
POST carrying the session's CSRF token. A JSON twin of each page lives under
/api/ for scripts and tests. Nothing here logs a full phone number or the token.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from redis import asyncio as aioredis
from sanic import Request, Sanic, response
from sanic.response import HTTPResponse

from whatsapp.store import ChannelStore
from review import charts, leads
from review.auth import SESSION_COOKIE, Session, Sessions, csrf_matches, same_origin, token_matches
from review.exporting import allowed_intents, export_nlu, export_story
from review.filters import REVIEW_STATUSES, InboxFilter, page_number, paginate, select, tag_counts
from review.index import ConversationIndex
from review.nlu_inbox import NluItem, Verdict, candidates, known_ids
from review.settings import ReviewSettings
from review.state import ReviewState
from review.takeover import Takeover, TakeoverError
from observability.privacy import mask_phone
from review.text import normalise
from sdr.vocabulary import LeadClass, LeadStatus
from review.tracker_parse import LEAD_FIELDS, attach_sent_ids, slot_changes, transcript

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
PUBLIC_PATHS = ("/healthz", "/login", "/static/")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MAX_SENDER_ID = 200
INDEX_SCAN_TIMEOUT_S = 10.0
NLU_PAGE_SIZE = 50
SECURITY_HEADERS = {
    # Inline SVG is markup, not script: nothing inline needs to run.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on our own forms.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
STATUS_LABELS = {"new": "nova", "reviewed": "revisada", "saved": "para depois"}
LEAD_CLASSES = tuple(member.value for member in LeadClass)
LEAD_STATUSES = tuple(member.value for member in LeadStatus)
MEDIA_TYPES = re.compile(r"^(image/(png|jpeg|webp|gif)|application/pdf|audio/(ogg|mpeg|mp4)(;.*)?)$")


def templates() -> Environment:
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                      autoescape=select_autoescape(["html"], default=True))
    env.filters["when"] = lambda ts: leads.local_time(ts) if ts else ""
    env.filters["mask"] = mask_phone
    env.filters["pct"] = lambda v: "" if v is None else f"{v * 100:.0f}%"
    env.filters["yesno"] = leads.bool_label
    env.filters["urlpart"] = lambda v: quote(str(v), safe="")
    env.globals.update(status_labels=STATUS_LABELS, lead_classes=LEAD_CLASSES, lead_statuses=LEAD_STATUSES,
                       review_statuses=REVIEW_STATUSES)
    return env


def create_app(settings: ReviewSettings, name: str = "review") -> Sanic:
    # Our own log lines only (basicConfig in __main__), not a second copy from Sanic's handlers.
    app = Sanic(name, configure_logging=False)
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.settings = settings
    app.ctx.env = templates()
    app.static("/static", str(HERE / "static"), name="static")

    @app.before_server_start
    async def connect(app: Sanic, _loop: Any) -> None:
        # The index's one-pass scan of every tracker may take longer than a command.
        client = settings.redis.async_client(timeout_s=INDEX_SCAN_TIMEOUT_S)
        app.ctx.redis = client
        app.ctx.index = ConversationIndex(client, settings.key_prefix)
        app.ctx.state = ReviewState(client, settings.key_prefix)
        app.ctx.sessions = Sessions(client, settings.key_prefix, int(settings.session_hours * 3600))
        app.ctx.takeover = Takeover(settings, ChannelStore(client, f"{settings.key_prefix}:evo"))
        await app.ctx.index.load()
        await app.ctx.index.sync()
        app.ctx.sync_task = asyncio.get_event_loop().create_task(app.ctx.index.run_forever(settings.sync_seconds))
        logger.info("review.ready conversations=%d", len(app.ctx.index))

    @app.after_server_stop
    async def disconnect(app: Sanic, _loop: Any) -> None:
        app.ctx.sync_task.cancel()
        await app.ctx.redis.close()

    # --- login, sessions, CSRF ----------------------------------------------------------

    @app.middleware("request")
    async def require_login(request: Request) -> Optional[HTTPResponse]:
        request.ctx.session = None
        if request.path == "/healthz" or request.path.startswith("/static/"):
            return None
        if request.path == "/login":
            return None
        session = await app.ctx.sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is None:
            if request.method in SAFE_METHODS and not wants_json(request):
                return response.redirect("/login?" + urlencode({"next": request.path}), status=303)
            return response.json({"error": "login required"}, status=401)
        if request.method not in SAFE_METHODS:
            given = request.headers.get("x-csrf-token") or (request.form.get("csrf_token") if request.form else None)
            if not csrf_matches(given, session):
                return response.json({"error": "missing or wrong CSRF token"}, status=403)
        request.ctx.session = session
        return None

    @app.middleware("response")
    async def security_headers(request: Request, resp: HTTPResponse) -> None:
        for header, value in SECURITY_HEADERS.items():
            resp.headers.setdefault(header, value)

    @app.get("/healthz")
    async def healthz(request: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @app.get("/login")
    async def login_form(request: Request) -> HTTPResponse:
        return page(request, "login.html", error=None, next=safe_next(request.args.get("next")))

    @app.post("/login")
    async def login(request: Request) -> HTTPResponse:
        if not same_origin(request.headers.get("origin"), request.headers.get("host")):
            return response.json({"error": "cross-site login refused"}, status=403)
        if await app.ctx.sessions.too_many_failures():
            return page(request, "login.html", error="Muitas tentativas. Espere um minuto.", next="/", status=429)
        given = (request.form.get("token") if request.form else None) or ""
        if not token_matches(given, settings.token):
            await app.ctx.sessions.record_failure()
            logger.info("review.login_failed")
            return page(request, "login.html", error="Token inválido.", next=safe_next(request.form.get("next")),
                        status=401)
        session = await app.ctx.sessions.create()
        resp = response.redirect(safe_next(request.form.get("next")), status=303)
        set_session_cookie(resp, session.id, int(settings.session_hours * 3600), settings.secure_cookies)
        logger.info("review.login")
        return resp

    @app.post("/logout")
    async def logout(request: Request) -> HTTPResponse:
        await app.ctx.sessions.delete(request.ctx.session.id)
        resp = response.redirect("/login", status=303)
        set_session_cookie(resp, "", 0, settings.secure_cookies)
        return resp

    @app.get("/api/session")
    async def session_info(request: Request) -> HTTPResponse:
        """The CSRF token of this session, for scripts that call the JSON API."""
        return response.json({"csrf_token": request.ctx.session.csrf})

    # --- inbox -------------------------------------------------------------------------------

    @app.get("/")
    async def root(request: Request) -> HTTPResponse:
        return response.redirect("/conversations", status=303)

    async def inbox_data(request: Request) -> Dict[str, Any]:
        wanted = InboxFilter.from_args({k: request.args.get(k) for k in request.args})
        statuses = await app.ctx.state.statuses()
        tags = await app.ctx.state.all_tags()
        held = await app.ctx.state.takeovers()
        chosen = select(app.ctx.index.newest_first(), wanted, statuses, tags, settings.low_confidence)
        current = paginate(chosen, page_number(request.args.get("page")))
        rows = [inbox_row(s, statuses, tags, held, settings.low_confidence) for s in current.items]
        return {"filter": wanted, "page": current, "rows": rows, "total": len(app.ctx.index), "tags": tags}

    @app.get("/conversations")
    async def inbox(request: Request) -> HTTPResponse:
        data = await inbox_data(request)
        tags = data.pop("tags")
        return page(request, "inbox.html", **data, intents=app.ctx.index.intents, actions=app.ctx.index.actions,
                    tag_counts=tag_counts(tags), saved=await app.ctx.state.saved_filters(),
                    query=data["filter"].query())

    @app.get("/api/conversations")
    async def inbox_api(request: Request) -> HTTPResponse:
        data = await inbox_data(request)
        current = data["page"]
        return response.json({"total": current.total, "page": current.number, "pages": current.pages,
                              "conversations": data["rows"]})

    @app.post("/filters")
    async def save_filter(request: Request) -> HTTPResponse:
        query = InboxFilter.from_args({k: request.form.get(k) for k in request.form}).query()
        try:
            await app.ctx.state.save_filter(request.form.get("name") or "", query)
        except ValueError as error:
            return done(request, "/conversations?" + query, error=str(error))
        return done(request, "/conversations?" + query)

    @app.post("/filters/delete")
    async def delete_filter(request: Request) -> HTTPResponse:
        await app.ctx.state.delete_filter(request.form.get("name") or "")
        return done(request, "/conversations")

    # --- one conversation ---------------------------------------------------------------------

    async def conversation_data(sender_id: str) -> Optional[Dict[str, Any]]:
        if len(sender_id) > MAX_SENDER_ID:
            return None
        events = await app.ctx.index.events(sender_id)
        if events is None:
            return None
        summary = await app.ctx.index.refresh(sender_id)
        entries = transcript(events)
        attach_sent_ids(entries, await app.ctx.takeover.store.sent_messages(sender_id))
        ids = [i for e in entries for i in e.message_ids]
        receipts = {}
        if ids:
            async with app.ctx.redis.pipeline(transaction=False) as pipe:
                for message_id in ids:
                    pipe.hgetall(f"{settings.key_prefix}:evo:receipt:{message_id}")
                receipts = {i: r for i, r in zip(ids, await pipe.execute()) if r}
        return {
            "sender_id": sender_id, "summary": summary, "entries": entries, "receipts": receipts,
            "slots": slot_changes(entries), "review_status": await app.ctx.state.status(sender_id),
            "tags": await app.ctx.state.tags(sender_id), "flags": await app.ctx.state.flags(sender_id),
            "held": await app.ctx.takeover.is_held(sender_id), "events": events,
        }

    @app.get("/conversations/<sender_id:str>")
    async def conversation(request: Request, sender_id: str) -> HTTPResponse:
        data = await conversation_data(sender_id)
        if data is None:
            return page(request, "not_found.html", status=404)
        data.pop("events")
        return page(request, "conversation.html", **data, lead_fields=LEAD_FIELDS,
                    intents=allowed_intents(settings.project_dir), notice=request.args.get("notice"),
                    error=request.args.get("error"))

    @app.get("/api/conversations/<sender_id:str>")
    async def conversation_api(request: Request, sender_id: str) -> HTTPResponse:
        data = await conversation_data(sender_id)
        if data is None:
            return response.json({"error": "no such conversation"}, status=404)
        summary = data["summary"]
        return response.json({
            "sender_id": sender_id, "review_status": data["review_status"], "tags": data["tags"],
            "flags": data["flags"], "held": data["held"], "paused": summary.paused if summary else False,
            "lead": summary.lead if summary else {}, "receipts": data["receipts"],
            "entries": [entry_json(e) for e in data["entries"]],
        })

    async def existing(sender_id: str) -> bool:
        return len(sender_id) <= MAX_SENDER_ID and await app.ctx.redis.exists(app.ctx.index.tracker_prefix + sender_id)

    def back(sender_id: str) -> str:
        return "/conversations/" + quote(sender_id, safe="")

    @app.post("/conversations/<sender_id:str>/review")
    async def set_review(request: Request, sender_id: str) -> HTTPResponse:
        if not await existing(sender_id):
            return missing(request)
        try:
            await app.ctx.state.set_status(sender_id, request.form.get("status") or "")
        except ValueError as error:
            return done(request, back(sender_id), error=str(error), status=400)
        return done(request, back(sender_id))

    @app.post("/conversations/<sender_id:str>/tags")
    async def tags(request: Request, sender_id: str) -> HTTPResponse:
        if not await existing(sender_id):
            return missing(request)
        try:
            if request.form.get("remove"):
                result = await app.ctx.state.remove_tag(sender_id, request.form.get("remove"))
            else:
                result = await app.ctx.state.add_tag(sender_id, request.form.get("tag") or "")
        except ValueError as error:
            return done(request, back(sender_id), error=str(error), status=400)
        return done(request, back(sender_id), tags=result)

    @app.post("/conversations/<sender_id:str>/flag")
    async def flag(request: Request, sender_id: str) -> HTTPResponse:
        if not await existing(sender_id):
            return missing(request)
        try:
            index = int(request.form.get("index") or "")
        except ValueError:
            return done(request, back(sender_id), error="mensagem inválida", status=400)
        flags = await app.ctx.state.toggle_flag(sender_id, index)
        return done(request, back(sender_id) + f"#e{index}", flags=flags)

    @app.post("/conversations/<sender_id:str>/takeover")
    async def take(request: Request, sender_id: str) -> HTTPResponse:
        events = await app.ctx.index.events(sender_id) if len(sender_id) <= MAX_SENDER_ID else None
        if events is None:
            return missing(request)
        try:
            await app.ctx.takeover.take(sender_id, events)
        except TakeoverError as error:
            return done(request, back(sender_id), error=str(error), status=502)
        await app.ctx.state.start_takeover(sender_id, "")
        await app.ctx.index.refresh(sender_id)
        return done(request, back(sender_id), notice="Assistente pausado: você está no controle.")

    @app.post("/conversations/<sender_id:str>/handback")
    async def handback(request: Request, sender_id: str) -> HTTPResponse:
        events = await app.ctx.index.events(sender_id) if len(sender_id) <= MAX_SENDER_ID else None
        if events is None:
            return missing(request)
        try:
            status = await app.ctx.takeover.give_back(sender_id, events)
        except TakeoverError as error:
            return done(request, back(sender_id), error=str(error), status=502)
        await app.ctx.state.end_takeover(sender_id)
        await app.ctx.index.refresh(sender_id)
        return done(request, back(sender_id), notice="Conversa devolvida ao assistente.", lead_status=status)

    @app.post("/conversations/<sender_id:str>/send")
    async def send(request: Request, sender_id: str) -> HTTPResponse:
        if not await existing(sender_id):
            return missing(request)
        if not await app.ctx.takeover.is_held(sender_id):
            # Paused by the assistant's own handoff (the lead asked for a person): the
            # operator may answer at once; the hold keeps the channel quiet too.
            summary = await app.ctx.index.refresh(sender_id)
            if summary is None or not summary.paused:
                return done(request, back(sender_id), error="Assuma a conversa antes de escrever.", status=409)
            await app.ctx.takeover.store.hold_for_human(sender_id)
            await app.ctx.state.start_takeover(sender_id, "")
        try:
            message_id = await app.ctx.takeover.send(sender_id, request.form.get("text") or "")
        except TakeoverError as error:
            return done(request, back(sender_id), error=str(error), status=502)
        await app.ctx.index.refresh(sender_id)
        return done(request, back(sender_id) + "#bottom", message_id=message_id)

    @app.post("/conversations/<sender_id:str>/export-story")
    async def story(request: Request, sender_id: str) -> HTTPResponse:
        events = await app.ctx.index.events(sender_id) if len(sender_id) <= MAX_SENDER_ID else None
        if events is None:
            return missing(request)
        corrections = await story_corrections(sender_id, events)
        path = await asyncio.to_thread(export_story, settings.project_dir, sender_id, events, corrections)
        return done(request, back(sender_id), notice=f"História de teste adicionada a {path.name}.",
                    path=str(path))

    async def story_corrections(sender_id: str, events: List[Any]) -> Dict[int, str]:
        """Intents the operator corrected in the NLU inbox, by event index, for the story."""
        verdicts = await app.ctx.state.verdicts()
        corrections = {}
        for item in candidates(sender_id, events):
            verdict = verdicts.get(item.id)
            if verdict and verdict.verdict == "relabel" and verdict.intent:
                corrections[item.index] = verdict.intent
        return corrections

    @app.get("/conversations/<sender_id:str>/media/<message_id:str>")
    async def media(request: Request, sender_id: str, message_id: str) -> HTTPResponse:
        data = await conversation_data(sender_id)
        entry = next((e for e in (data or {}).get("entries", []) for m in e.media if m["message_id"] == message_id), None)
        if entry is None:
            return response.json({"error": "no such media"}, status=404)
        info = next(m for m in entry.media if m["message_id"] == message_id)
        encoded = await app.ctx.redis.get(f"{settings.key_prefix}:evo:media:{message_id}")
        mimetype = (info.get("mimetype") or "").lower()
        if not encoded or not MEDIA_TYPES.match(mimetype):
            return response.json({"error": "media no longer kept (24 h) or not viewable"}, status=404)
        try:
            body = base64.b64decode(encoded.split(",", 1)[-1], validate=False)
        except (binascii.Error, ValueError):
            return response.json({"error": "media unreadable"}, status=404)
        return response.raw(body, content_type=mimetype.split(";")[0],
                            headers={"Content-Disposition": "inline", "Content-Security-Policy": "sandbox"})

    # --- NLU inbox -----------------------------------------------------------------------------

    async def nlu_data(request: Request) -> Dict[str, Any]:
        verdicts = await app.ctx.state.verdicts()
        known = await asyncio.to_thread(known_ids, settings.project_dir)
        show = request.args.get("show") or "pending"
        items = [i for i in app.ctx.index.nlu_items.values() if i.id not in known]
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

    @app.get("/nlu")
    async def nlu(request: Request) -> HTTPResponse:
        data = await nlu_data(request)
        return page(request, "nlu.html", **data, intents=allowed_intents(settings.project_dir),
                    notice=request.args.get("notice"), error=request.args.get("error"))

    @app.get("/api/nlu")
    async def nlu_api(request: Request) -> HTTPResponse:
        data = await nlu_data(request)
        return response.json({
            "total": data["total"], "page": data["page"], "pages": data["pages"],
            "items": [{**i.as_dict(), "verdict": (data["verdicts"].get(i.id).__dict__ if i.id in data["verdicts"] else None)}
                      for i in data["items"]],
        })

    @app.post("/nlu/<item_id:str>")
    async def nlu_verdict(request: Request, item_id: str) -> HTTPResponse:
        item: Optional[NluItem] = app.ctx.index.nlu_items.get(item_id)
        if item is None:
            return missing(request)
        verdict = request.form.get("verdict") or ""
        intent = request.form.get("intent") or None
        allowed = allowed_intents(settings.project_dir)
        if verdict == "correct" and item.intent not in allowed:
            return done(request, "/nlu", error="A intenção prevista não é treinável: escolha outra.", status=400)
        if verdict == "relabel" and intent not in allowed:
            return done(request, "/nlu", error="Intenção desconhecida.", status=400)
        try:
            await app.ctx.state.set_verdict(item_id, Verdict(verdict, intent if verdict == "relabel" else None))
        except ValueError as error:
            return done(request, "/nlu", error=str(error), status=400)
        return done(request, "/nlu")

    @app.post("/nlu/export")
    async def nlu_export(request: Request) -> HTTPResponse:
        verdicts = await app.ctx.state.verdicts()
        items = [app.ctx.index.nlu_items[i] for i in verdicts if i in app.ctx.index.nlu_items]
        path, count = await asyncio.to_thread(export_nlu, settings.project_dir, items, verdicts)
        await app.ctx.state.mark_exported([i.id for i in items])
        logger.info("review.nlu_exported examples=%d", count)
        return done(request, "/nlu", notice=f"{count} exemplo(s) novo(s) gravado(s) em {path.name}.",
                    added=count, path=str(path))

    # --- leads and charts ---------------------------------------------------------------------

    def lead_rows(request: Request, full_phone: bool = False) -> List[Dict[str, Any]]:
        rows = [leads.lead_row(s, full_phone) for s in app.ctx.index.newest_first()]
        sort = request.args.get("sort") or "last_activity"
        return leads.sorted_rows(rows, sort, (request.args.get("dir") or "desc") == "desc")

    @app.get("/leads")
    async def leads_page(request: Request) -> HTTPResponse:
        rows = lead_rows(request)
        summaries = app.ctx.index.newest_first()
        return page(request, "leads.html", rows=rows[:500], total=len(rows), columns=leads.COLUMNS,
                    sort=request.args.get("sort") or "last_activity", dir=request.args.get("dir") or "desc",
                    funnel=Markup(charts.funnel_svg(leads.weekly_funnel(summaries))),
                    histogram=Markup(charts.histogram_svg(leads.confidence_histogram(summaries))))

    @app.get("/leads.csv")
    async def leads_csv(request: Request) -> HTTPResponse:
        rows = lead_rows(request, full_phone=request.args.get("phones") == "full")
        return response.text(leads.leads_csv(rows), content_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="leads.csv"'})

    @app.get("/api/leads")
    async def leads_api(request: Request) -> HTTPResponse:
        summaries = app.ctx.index.newest_first()
        return response.json({
            "leads": lead_rows(request),
            "funnel": [{"week": w.week, "counts": list(w.counts)} for w in leads.weekly_funnel(summaries)],
            "confidence_histogram": leads.confidence_histogram(summaries),
        })

    # --- helpers --------------------------------------------------------------------------------

    def page(request: Request, template: str, status: int = 200, **context: Any) -> HTTPResponse:
        session: Optional[Session] = getattr(request.ctx, "session", None)
        html = app.ctx.env.get_template(template).render(
            csrf=session.csrf if session else "", logged_in=session is not None, path=request.path, **context)
        return response.html(html, status=status)

    return app


def wants_json(request: Request) -> bool:
    return request.path.startswith("/api/") or "application/json" in (request.headers.get("accept") or "")


def done(request: Request, to: str, status: int = 200, error: Optional[str] = None,
         notice: Optional[str] = None, **extra: Any) -> HTTPResponse:
    """A change answered: JSON for scripts (they send X-CSRF-Token), a redirect back for forms."""
    if request.headers.get("x-csrf-token") or wants_json(request):
        body = {"ok": error is None, **({"error": error} if error else {}), **extra}
        return response.json(body, status=status if error else 200)
    if error or notice:
        path, _, anchor = to.partition("#")
        separator = "&" if "?" in path else "?"
        to = path + separator + urlencode({"error": error} if error else {"notice": notice}) + (f"#{anchor}" if anchor else "")
    return response.redirect(to, status=303)


def missing(request: Request) -> HTTPResponse:
    return response.json({"error": "no such conversation or item"}, status=404)


def safe_next(raw: Optional[str]) -> str:
    """Only local paths: the login form must not become an open redirect."""
    if raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/conversations"


def set_session_cookie(resp: HTTPResponse, value: str, max_age: int, secure: bool) -> None:
    resp.cookies[SESSION_COOKIE] = value
    cookie = resp.cookies[SESSION_COOKIE]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/"
    cookie["max-age"] = max_age
    if secure:
        cookie["secure"] = True


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
        "review_status": statuses.get(summary.sender_id, "new"),
        "tags": tags.get(summary.sender_id, []),
        "low_confidence": summary.low_confidence(low_threshold),
        "min_confidence": summary.min_confidence,
        "fallbacks": summary.fallbacks,
        "paused": summary.paused or summary.sender_id in held,
        "preview": summary.preview,
    }


def entry_json(entry: Any) -> Dict[str, Any]:
    data = dict(entry.__dict__)
    data["ranking"] = [list(r) for r in entry.ranking]
    return data
