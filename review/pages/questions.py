"""Perguntas sem resposta: questions the knowledge base could not answer (actions/faq.py put them
in sdr/faq_queue.py), answered by an operator and exported as knowledge-base training data
(data/faq/review.yml) by an admin, the same path as the NLU inbox's export."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Dict

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from observability.privacy import mask_phone
from review.faq_export import FAQ_REVIEW_FILE, export_faq, known_topics
from review.roles import Role, allow
from review.web import audit, can, done, page
from sdr.faq_queue import TOPIC_NAME, FaqQueue

__all__ = ["bp"]

logger = logging.getLogger(__name__)

SHOWN = 200
MAX_ANSWER_CHARS = 1000

bp = Blueprint("questions")


def queue(request: Request) -> FaqQueue:
    return FaqQueue(request.app.ctx.redis, request.app.ctx.settings.key_prefix)


async def questions_data(request: Request) -> Dict[str, Any]:
    box = queue(request)
    topics = await asyncio.to_thread(known_topics, request.app.ctx.settings.project_dir)
    return {"unanswered": await box.unanswered(SHOWN), "answered": await box.answered(SHOWN), "topics": topics}


@bp.get("/questions")
@allow(Role.VIEWER)
async def questions(request: Request) -> HTTPResponse:
    data = await questions_data(request)
    return page(request, "questions.html", **data, review_file=str(FAQ_REVIEW_FILE),
                notice=request.args.get("notice"), error=request.args.get("error"))


@bp.get("/api/questions")
@allow(Role.VIEWER)
async def questions_api(request: Request) -> HTTPResponse:
    data = await questions_data(request)
    conversations = can(request, Role.OPERATOR)  # a viewer never gets a phone

    def row(q: Any) -> Dict[str, Any]:
        return {"id": q.id, "text": q.text, "asked_at": q.asked_at, "guess": q.guess, "topic": q.topic,
                "answer": q.answer, "conversation": mask_phone(q.conversation_id) if conversations else None}

    return response.json({"unanswered": [row(q) for q in data["unanswered"]],
                          "answered": [row(q) for q in data["answered"]], "topics": data["topics"]})


@bp.post("/questions/<qid:str>/answer")
@allow(Role.OPERATOR)
async def answer(request: Request, qid: str) -> HTTPResponse:
    topic = (request.form.get("topic") or "").strip().lower()
    text = (request.form.get("answer") or "").strip()
    topics = await asyncio.to_thread(known_topics, request.app.ctx.settings.project_dir)
    if not TOPIC_NAME.match(topic):
        return done(request, "/questions", error="Tema inválido: use letras minúsculas e _ (ex.: garantia_placas).",
                    status=400)
    if topic not in topics and not text:
        return done(request, "/questions", error="Tema novo: escreva a resposta.", status=400)
    if len(text) > MAX_ANSWER_CHARS:
        return done(request, "/questions", error="Resposta longa demais.", status=400)
    box = queue(request)
    found = await box.get(qid)
    if found is None:
        return done(request, "/questions", error="Pergunta não encontrada.", status=404)
    await box.answer(qid, topic, text, time.time())
    await audit(request, "faq_answer", found.conversation_id, topic)
    logger.info("review.faq_answered topic=%s", topic)
    return done(request, "/questions", notice=f"Resposta guardada no tema {topic}.")


@bp.post("/questions/<qid:str>/dismiss")
@allow(Role.OPERATOR)
async def dismiss(request: Request, qid: str) -> HTTPResponse:
    box = queue(request)
    found = await box.get(qid)
    if found is None or not await box.dismiss(qid):
        return done(request, "/questions", error="Pergunta não encontrada.", status=404)
    await audit(request, "faq_dismiss", found.conversation_id, "")
    return done(request, "/questions", notice="Pergunta descartada.")


@bp.post("/questions/export")
@allow(Role.ADMIN)
async def export(request: Request) -> HTTPResponse:
    box = queue(request)
    answered = await box.answered(10_000)
    path, added, written = await asyncio.to_thread(export_faq, request.app.ctx.settings.project_dir, answered)
    await box.mark_exported(written)
    await audit(request, "faq_export", "", f"{added} exemplo(s) em {path.name}")
    logger.info("review.faq_exported examples=%d", added)
    return done(request, "/questions", notice=f"{added} pergunta(s) gravada(s) em {FAQ_REVIEW_FILE}: rode make train.",
                added=added, path=str(path))
