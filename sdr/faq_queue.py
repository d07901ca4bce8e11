"""Questions the knowledge base could not answer, kept for the operators ("Perguntas sem resposta").

- ``faq:unanswered`` sorted set, id → when asked (newest last);
- ``faq:q:<id>`` hash: the question, the conversation, the topic the model guessed (if any),
  and, once an operator answered, ``topic`` and ``answer`` (then it leaves the sorted set for
  ``faq:answered``, from which the export writes training data).

The id derives from the conversation and the message, so Rasa retrying the action keeps one entry.
Needs a ``redis.asyncio`` client with ``decode_responses=True``.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Optional

__all__ = ["FaqQuestion", "FaqQueue", "TOPIC_NAME"]

TOPIC_NAME = re.compile(r"^[a-z][a-z0-9_]{2,60}$")
MAX_QUESTION_CHARS = 1000
QUESTION_TTL_S = 180 * 24 * 3600


@dataclass(frozen=True)
class FaqQuestion:
    id: str
    conversation_id: str
    text: str
    asked_at: float
    guess: str = ""  # the topic the model leaned to, if any
    topic: str = ""  # set by the operator
    answer: str = ""

    @classmethod
    def from_hash(cls, entry: dict[str, Any]) -> FaqQuestion:
        return cls(entry["id"], entry["conversation_id"], entry["text"], float(entry["asked_at"]),
                   entry.get("guess", ""), entry.get("topic", ""), entry.get("answer", ""))


def question_id(conversation_id: str, anchor: str) -> str:
    return hashlib.sha256(f"{conversation_id}|{anchor}".encode()).hexdigest()[:16]


class FaqQueue:
    def __init__(self, client: Any, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, "faq") + parts)

    async def add(self, conversation_id: str, text: str, asked_at: float, anchor: str, guess: str = "") -> str:
        qid = question_id(conversation_id, anchor)
        entry = {"id": qid, "conversation_id": conversation_id, "text": text[:MAX_QUESTION_CHARS],
                 "asked_at": repr(asked_at), "guess": guess}
        if await self.redis.hsetnx(self.key("q", qid), "id", qid):
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(self.key("q", qid), mapping=entry)
                pipe.expire(self.key("q", qid), QUESTION_TTL_S)
                pipe.zadd(self.key("unanswered"), {qid: asked_at})
                await pipe.execute()
        return qid

    async def _list(self, name: str, limit: int) -> list[FaqQuestion]:
        ids = await self.redis.zrevrange(self.key(name), 0, limit - 1)
        found = []
        for qid in ids:
            entry = await self.redis.hgetall(self.key("q", qid))
            if entry:
                found.append(FaqQuestion.from_hash(entry))
        return found

    async def unanswered(self, limit: int = 200) -> list[FaqQuestion]:
        return await self._list("unanswered", limit)

    async def answered(self, limit: int = 1000) -> list[FaqQuestion]:
        return await self._list("answered", limit)

    async def get(self, qid: str) -> Optional[FaqQuestion]:
        entry = await self.redis.hgetall(self.key("q", qid))
        return FaqQuestion.from_hash(entry) if entry else None

    async def answer(self, qid: str, topic: str, answer: str, at: float) -> bool:
        """The operator's answer: the question becomes a knowledge-base entry (exported later). The
        answer may be empty for a topic the knowledge base already answers."""
        if not TOPIC_NAME.match(topic):
            raise ValueError("topic must be a snake_case name")
        if not await self.redis.exists(self.key("q", qid)):
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.key("q", qid), mapping={"topic": topic, "answer": answer.strip()})
            pipe.persist(self.key("q", qid))
            pipe.zrem(self.key("unanswered"), qid)
            pipe.zadd(self.key("answered"), {qid: at})
            await pipe.execute()
        return True

    async def dismiss(self, qid: str) -> bool:
        """Not a question for the knowledge base (spam, a one-off): out of the list."""
        removed = await self.redis.zrem(self.key("unanswered"), qid)
        await self.redis.delete(self.key("q", qid))
        return bool(removed)

    async def mark_exported(self, ids: list[str]) -> None:
        if ids:
            await self.redis.zrem(self.key("answered"), *ids)

    async def count(self) -> int:
        return int(await self.redis.zcard(self.key("unanswered")))
