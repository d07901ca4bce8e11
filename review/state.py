"""What operators decide, kept in Redis under `<prefix>:review:` (never in the
tracker: the conversation stays what the lead and the assistant said)."""
from __future__ import annotations

import json
import re
import time
from typing import Dict, List, Mapping, Optional

from redis import asyncio as aioredis

from review.filters import REVIEW_STATUSES
from review.nlu_inbox import VERDICTS, Verdict

TAG_PATTERN = re.compile(r"^[\w][\w \-]{0,39}$", re.UNICODE)
FILTER_NAME_CHARS = 60


def clean_tag(raw: str) -> Optional[str]:
    tag = " ".join(raw.strip().lower().split())
    return tag if TAG_PATTERN.match(tag) else None


class ReviewState:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.redis = client
        self.base = f"{prefix}:review"

    def key(self, *parts: str) -> str:
        return ":".join((self.base,) + parts)

    # --- review status, tags, flags ---------------------------------------------------

    async def statuses(self) -> Dict[str, str]:
        return await self.redis.hgetall(self.key("status"))

    async def status(self, sender_id: str) -> str:
        return await self.redis.hget(self.key("status"), sender_id) or "new"

    async def set_status(self, sender_id: str, status: str) -> None:
        if status not in REVIEW_STATUSES:
            raise ValueError(f"unknown review status {status!r}")
        if status == "new":
            await self.redis.hdel(self.key("status"), sender_id)
        else:
            await self.redis.hset(self.key("status"), sender_id, status)

    async def all_tags(self) -> Dict[str, List[str]]:
        return {k: json.loads(v) for k, v in (await self.redis.hgetall(self.key("tags"))).items()}

    async def tags(self, sender_id: str) -> List[str]:
        raw = await self.redis.hget(self.key("tags"), sender_id)
        return json.loads(raw) if raw else []

    async def add_tag(self, sender_id: str, raw_tag: str) -> List[str]:
        tag = clean_tag(raw_tag)
        if tag is None:
            raise ValueError("a tag is 1 to 40 letters, digits, spaces or hyphens")
        tags = sorted(set(await self.tags(sender_id)) | {tag})
        await self.redis.hset(self.key("tags"), sender_id, json.dumps(tags, ensure_ascii=False))
        return tags

    async def remove_tag(self, sender_id: str, tag: str) -> List[str]:
        tags = [t for t in await self.tags(sender_id) if t != tag]
        if tags:
            await self.redis.hset(self.key("tags"), sender_id, json.dumps(tags, ensure_ascii=False))
        else:
            await self.redis.hdel(self.key("tags"), sender_id)
        return tags

    async def flags(self, sender_id: str) -> List[int]:
        raw = await self.redis.hget(self.key("flags"), sender_id)
        return json.loads(raw) if raw else []

    async def toggle_flag(self, sender_id: str, index: int) -> List[int]:
        flags = set(await self.flags(sender_id))
        flags ^= {index}
        await self.redis.hset(self.key("flags"), sender_id, json.dumps(sorted(flags)))
        return sorted(flags)

    # --- saved filters ------------------------------------------------------------------

    async def saved_filters(self) -> Dict[str, str]:
        return dict(sorted((await self.redis.hgetall(self.key("filters"))).items()))

    async def save_filter(self, name: str, query: str) -> str:
        name = " ".join(name.split())[:FILTER_NAME_CHARS]
        if not name:
            raise ValueError("a saved filter needs a name")
        await self.redis.hset(self.key("filters"), name, query)
        return name

    async def delete_filter(self, name: str) -> None:
        await self.redis.hdel(self.key("filters"), name)

    # --- NLU verdicts ----------------------------------------------------------------------

    async def verdicts(self) -> Dict[str, Verdict]:
        raw = await self.redis.hgetall(self.key("nlu", "verdict"))
        return {k: Verdict(**json.loads(v)) for k, v in raw.items()}

    async def set_verdict(self, item_id: str, verdict: Verdict) -> None:
        if verdict.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {verdict.verdict!r}")
        await self.redis.hset(self.key("nlu", "verdict"), item_id,
                              json.dumps({"verdict": verdict.verdict, "intent": verdict.intent}))

    async def mark_exported(self, item_ids: List[str]) -> None:
        if item_ids:
            await self.redis.sadd(self.key("nlu", "exported"), *item_ids)

    # --- take-overs made from the UI ---------------------------------------------------------

    async def takeovers(self) -> Dict[str, Mapping[str, object]]:
        return {k: json.loads(v) for k, v in (await self.redis.hgetall(self.key("takeover"))).items()}

    async def start_takeover(self, sender_id: str, previous_status: str) -> None:
        await self.redis.hset(self.key("takeover"), sender_id,
                              json.dumps({"since": time.time(), "previous_status": previous_status}))

    async def end_takeover(self, sender_id: str) -> None:
        await self.redis.hdel(self.key("takeover"), sender_id)
