"""Answers from the knowledge base, or an honest deferral.

The NLU picks the topic (``faq/<topic>``, components/faq_topics.py) and hands its answer text from
the training data (``data/faq/``) in Rasa's ResponseSelector output; this module fills the company
facts into it (``company_facts.yml``). When the topic is not sure (below ``FAQ_MIN_CONFIDENCE``) and
Gemini, when configured, gives no answer grounded on the best topics' passages
(actions/faq_grounded.py), or when the answer quotes a fact the company left empty, the lead hears
"boa pergunta sobre <tema>, vou confirmar com um consultor" (never an answer about something else)
and the question goes to the review UI's "Perguntas sem resposta", where an operator answers it and
it becomes a new knowledge-base entry.

``faq_reply`` is shared with the forms' validation, which answers a question and asks again.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from redis.exceptions import RedisError

from actions.faq_grounded import grounded_answer
from actions.lead_events import turn_anchor
from observability.privacy import mask_phone
from sdr.dialogue import user_text
from sdr.env import env_number
from sdr.faq import (
    DEFAULT_MIN_CONFIDENCE,
    faq_selection,
    load_facts,
    load_topic_labels,
    render_answer,
    topic_of,
)
from sdr.faq_queue import FaqQueue
from sdr.redis_settings import RedisSettings

__all__ = ["ActionAnswerFaq", "FaqReply", "answer_faq", "deferral_about", "faq_reply"]

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class FaqReply:
    topic: Optional[str]  # the topic the selector chose (even when not confident)
    text: Optional[str]  # the answer, facts filled in; None → defer
    confident: bool


def faq_reply(latest_message: Mapping[str, Any]) -> FaqReply:
    selected = faq_selection(latest_message).get("response") or {}
    topic = topic_of(selected.get("intent_response_key"))
    confidence = float(selected.get("confidence") or 0.0)
    threshold = env_number("FAQ_MIN_CONFIDENCE", DEFAULT_MIN_CONFIDENCE, minimum=0.0)
    confident = topic is not None and confidence >= threshold
    texts = [r.get("text") for r in selected.get("responses") or [] if isinstance(r, dict) and r.get("text")]
    text = None
    if confident and texts:
        try:
            text = render_answer(str(texts[0]), load_facts())
        except (OSError, ValueError) as error:
            logger.error("faq.facts_unreadable error=%s", error)
    return FaqReply(topic, text, confident)


def deferral_about(topic: Optional[str]) -> str:
    """" sobre a garantia das placas" for utter_faq_defer; "" when the topic is not known."""
    label = load_topic_labels().get(topic or "") if topic else None
    return f" sobre {label}" if label else ""


async def gemini_answer(tracker: Tracker, domain: DomainDict) -> Optional[str]:
    try:
        facts = load_facts()
    except (OSError, ValueError) as error:
        logger.error("faq.facts_unreadable error=%s", error)
        return None
    return await grounded_answer(user_text(tracker.latest_message), tracker.latest_message,
                                 domain.get("responses") or {}, facts)


async def queue_question(tracker: Tracker, guess: Optional[str]) -> None:
    settings = RedisSettings.from_env()
    client = settings.async_client()
    try:
        await FaqQueue(client, settings.key_prefix).add(
            tracker.sender_id, user_text(tracker.latest_message), time.time(), turn_anchor(tracker.events), guess or "")
    except (RedisError, OSError) as error:
        logger.error("faq.not_queued conversation=%s error=%s", mask_phone(tracker.sender_id), type(error).__name__)
    finally:
        await client.close()


async def answer_faq(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> bool:
    """Answer (True) or defer honestly and queue the question (False)."""
    reply = faq_reply(tracker.latest_message)
    if reply.text:
        dispatcher.utter_message(text=reply.text)
        logger.info("faq.answered topic=%s", reply.topic)
        return True
    if not reply.confident:
        # Not sure of the topic: with a Gemini key, an answer grounded on the best topics' passages.
        # (A sure topic whose fact the company left empty is deferred: nothing to ground on.)
        grounded = await gemini_answer(tracker, domain)
        if grounded:
            dispatcher.utter_message(text=grounded)
            logger.info("faq.answered topic=%s by=gemini", reply.topic)
            return True
    about = deferral_about(reply.topic if reply.confident else None)
    dispatcher.utter_message(response="utter_faq_defer", faq_about=about)
    logger.info("faq.deferred topic=%s confident=%s", reply.topic, reply.confident)
    await queue_question(tracker, reply.topic)
    return False


class ActionAnswerFaq(Action):
    def name(self) -> str:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        await answer_faq(dispatcher, tracker, domain)
        return []

