"""An index of the conversations in the Redis tracker store, so the inbox stays
fast with thousands of them without a copy of the conversations to keep in sync.

The tracker store stays the source of truth. For each tracker the index keeps a
small summary (review/tracker_parse.py) in `<prefix>:review:summary`, together
with the stored tracker's size: one pipelined STRLEN per tracker tells which
ones changed since the last look (a tracker only grows), and only those are
read and parsed again. The summaries are mirrored in memory, where filtering
10,000 of them takes milliseconds; at start-up they are loaded back with one
HGETALL instead of parsing every tracker again.

The same pass collects the lead messages for the NLU inbox (review/nlu_inbox.py).
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from redis import asyncio as aioredis

from review.nlu_inbox import NluItem, candidates
from review.tracker_parse import ConversationSummary, summarise

logger = logging.getLogger(__name__)

CHUNK = 500  # commands per pipeline round trip
# Every tracker key with its stored size, in one round trip: far cheaper for the UI
# than 10,000 pipelined STRLENs, and read-only for Redis (about 20 ms at 10,000 keys).
# One JSON string back, not a 20,000-element array: redis-py parses arrays slowly.
SIZES_SCRIPT = """
local cursor = "0"
local out = {}
repeat
  local page = redis.call("SCAN", cursor, "MATCH", ARGV[1], "COUNT", 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do
    out[#out + 1] = key
    out[#out + 1] = redis.call("STRLEN", key)
  end
until cursor == "0"
return cjson.encode(out)
"""


def tracker_events(raw: Optional[str]) -> Optional[List[Mapping[str, Any]]]:
    """Events of a tracker as RedisTrackerStore serialises it ({"events": [...], "name": ...})."""
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    events = data.get("events") if isinstance(data, dict) else None
    return [e for e in events if isinstance(e, dict)] if isinstance(events, list) else None


def _glob_escape(text: str) -> str:
    """The key prefix taken literally in a SCAN pattern."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


class ConversationIndex:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.redis = client
        self.tracker_prefix = f"{prefix}:tracker:"
        self.summary_key = f"{prefix}:review:summary"
        self.nlu_key = f"{prefix}:review:nlu:item"
        self._summaries: Dict[str, ConversationSummary] = {}
        self._ordered: List[ConversationSummary] = []
        self.nlu_items: Dict[str, NluItem] = {}
        self.intents: List[str] = []
        self.actions: List[str] = []
        self._lock = asyncio.Lock()
        self._sizes = client.register_script(SIZES_SCRIPT)
        self.synced_at = 0.0
        # Told of every re-parsed conversation (old summary or None, new one): the live updates.
        self.on_change: Optional[Callable[[Optional[ConversationSummary], ConversationSummary], None]] = None

    # --- reading -----------------------------------------------------------------

    def newest_first(self) -> List[ConversationSummary]:
        return self._ordered

    def get(self, sender_id: str) -> Optional[ConversationSummary]:
        return self._summaries.get(sender_id)

    def __len__(self) -> int:
        return len(self._summaries)

    async def events(self, sender_id: str) -> Optional[List[Mapping[str, Any]]]:
        """The conversation straight from the tracker store (every session)."""
        return tracker_events(await self.redis.get(self.tracker_prefix + sender_id))

    # --- keeping up with the tracker store ------------------------------------------

    async def load(self) -> None:
        stored = await self.redis.hgetall(self.summary_key)
        for sender_id, raw in stored.items():
            try:
                self._summaries[sender_id] = ConversationSummary.from_dict(json.loads(raw))
            except (ValueError, TypeError):
                continue  # a summary from an older version: the next sync parses it again
        for item_id, raw in (await self.redis.hgetall(self.nlu_key)).items():
            try:
                self.nlu_items[item_id] = NluItem.from_dict(json.loads(raw))
            except (ValueError, TypeError):
                continue
        self._reorder()

    async def sync(self) -> int:
        """Brings the index up to date; returns how many conversations were (re)parsed."""
        async with self._lock:
            flat = json.loads(await self._sizes(args=[_glob_escape(self.tracker_prefix) + "*"]))
            if not isinstance(flat, list):  # cjson encodes an empty table as {}
                flat = []
            senders = [key[len(self.tracker_prefix):] for key in flat[0::2]]
            sizes = [int(size) for size in flat[1::2]]
            changed = [
                (sender, size) for sender, size in zip(senders, sizes)
                if sender not in self._summaries or self._summaries[sender].fingerprint != size
            ]
            gone = set(self._summaries) - set(senders)
            for start in range(0, len(changed), CHUNK):
                await self._reparse(changed[start:start + CHUNK])
            if gone:
                await self.redis.hdel(self.summary_key, *gone)
                for sender in gone:
                    self._summaries.pop(sender, None)
            if changed or gone:
                self._reorder()
            self.synced_at = time.time()
            return len(changed)

    async def refresh(self, sender_id: str) -> Optional[ConversationSummary]:
        """Re-reads one conversation now (after the UI itself changed it)."""
        async with self._lock:
            raw = await self.redis.get(self.tracker_prefix + sender_id)
            if raw is None:
                return None
            size = len(raw.encode("utf-8"))
            known = self._summaries.get(sender_id)
            if known is not None and known.fingerprint == size:
                return known  # unchanged: nothing to parse, store or re-sort
            await self._store([(sender_id, size, raw)])
            self._reorder()
            return self._summaries.get(sender_id)

    async def _reparse(self, batch: Sequence[Tuple[str, int]]) -> None:
        raws = await self._pipelined(lambda pipe, sender: pipe.get(self.tracker_prefix + sender), [s for s, _ in batch])
        await self._store([(sender, size, raw) for (sender, size), raw in zip(batch, raws) if raw is not None])

    async def _store(self, rows: Iterable[Tuple[str, int, str]]) -> None:
        summaries: Dict[str, str] = {}
        new_items: Dict[str, str] = {}
        for sender, size, raw in rows:
            events = tracker_events(raw)
            if events is None:
                continue
            summary = summarise(sender, events, fingerprint=size)
            old = self._summaries.get(sender)
            self._summaries[sender] = summary
            if self.on_change is not None:
                self.on_change(old, summary)
            summaries[sender] = json.dumps(summary.as_dict(), ensure_ascii=False)
            for item in candidates(sender, events):
                if item.id not in self.nlu_items:  # first sighting of a text wins
                    self.nlu_items[item.id] = item
                    new_items[item.id] = json.dumps(item.as_dict(), ensure_ascii=False)
        async with self.redis.pipeline(transaction=False) as pipe:
            if summaries:
                pipe.hset(self.summary_key, mapping=summaries)
            if new_items:
                pipe.hset(self.nlu_key, mapping=new_items)
            await pipe.execute()

    async def _pipelined(self, command: Any, items: Sequence[Any]) -> List[Any]:
        results: List[Any] = []
        for start in range(0, len(items), CHUNK):
            async with self.redis.pipeline(transaction=False) as pipe:
                for item in items[start:start + CHUNK]:
                    command(pipe, item)
                results.extend(await pipe.execute())
        return results

    def _reorder(self) -> None:
        self._ordered = sorted(self._summaries.values(), key=lambda s: s.last_activity, reverse=True)
        intents, actions = set(), set()
        for summary in self._ordered:
            intents.update(summary.intents)
            actions.update(summary.actions)
        self.intents, self.actions = sorted(intents), sorted(actions)

    async def run_forever(self, every_s: float) -> None:
        """Background loop of the server: a failed pass is logged and retried."""
        while True:
            try:
                await self.sync()
            except Exception as error:  # Redis away for a moment must not stop the UI
                logger.warning("review.index_sync_failed error=%s", type(error).__name__)
            await asyncio.sleep(every_s)
