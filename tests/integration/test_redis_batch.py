"""BatchedScript against the session's real redis-server."""
from __future__ import annotations

import asyncio
import uuid
from typing import Any, Awaitable, Callable

import pytest
import redis
from redis import asyncio as aioredis

from scripts.procs import free_port
from whatsapp.redis_batch import BatchedScript

# Appends ARGV[1] to the list KEYS[1] and returns the list's length: the
# results show the order in which Redis ran the calls.
APPEND = "redis.call('RPUSH', KEYS[1], ARGV[1]); return redis.call('LLEN', KEYS[1])"


def run_with(port: int, body: Callable[[aioredis.Redis], Awaitable[Any]], name: str = "") -> Any:
    async def main() -> Any:
        client = aioredis.Redis(port=port, decode_responses=True, client_name=name or None, socket_timeout=5)
        try:
            return await body(client)
        finally:
            await client.close()
            await client.connection_pool.disconnect()

    return asyncio.run(main())


@pytest.fixture
def key() -> str:
    return f"t{uuid.uuid4().hex[:10]}:batch"


def test_calls_made_together_share_one_connection_and_keep_their_order(redis_port, raw, key):
    name = f"batch-{uuid.uuid4().hex[:8]}"

    async def body(client: aioredis.Redis):
        append = BatchedScript(client, APPEND)
        results = await asyncio.gather(*(append(keys=[key], args=[n]) for n in range(50)))
        connections = [c for c in raw.client_list() if c.get("name") == name]
        return results, len(connections)

    results, connections = run_with(redis_port, body, name=name)
    assert results == list(range(1, 51))  # each caller gets its own call's result
    assert raw.lrange(key, 0, -1) == [str(n) for n in range(50)]
    # Unbatched, fifty concurrent calls check out fifty pooled connections.
    assert connections == 1


def test_calls_in_later_loop_turns_form_new_batches(redis_port, raw, key):
    async def body(client: aioredis.Redis):
        append = BatchedScript(client, APPEND)
        first = await append(keys=[key], args=["a"])
        rest = await asyncio.gather(append(keys=[key], args=["b"]), append(keys=[key], args=["c"]))
        return [first, *rest]

    assert run_with(redis_port, body) == [1, 2, 3]
    assert raw.lrange(key, 0, -1) == ["a", "b", "c"]


def test_a_flushed_script_cache_is_reloaded(redis_port, raw, key):
    async def body(client: aioredis.Redis):
        append = BatchedScript(client, APPEND)
        await append(keys=[key], args=["before"])
        raw.script_flush()  # as after a Redis restart: EVALSHA answers NOSCRIPT
        return await asyncio.gather(*(append(keys=[key], args=[n]) for n in range(5)))

    assert run_with(redis_port, body) == [2, 3, 4, 5, 6]
    assert raw.lrange(key, 0, -1) == ["before", "0", "1", "2", "3", "4"]


def test_one_failing_call_fails_only_its_caller(redis_port, raw, key):
    raw.set(f"{key}:not-a-list", "x")

    async def body(client: aioredis.Redis):
        append = BatchedScript(client, APPEND)
        return await asyncio.gather(
            append(keys=[key], args=["a"]),
            append(keys=[f"{key}:not-a-list"], args=["b"]),
            append(keys=[key], args=["c"]),
            return_exceptions=True,
        )

    first, failed, last = run_with(redis_port, body)
    assert (first, last) == (1, 2)
    assert isinstance(failed, redis.ResponseError) and "WRONGTYPE" in str(failed)


def test_redis_unreachable_fails_every_caller_with_a_redis_error():
    async def body(client: aioredis.Redis):
        append = BatchedScript(client, APPEND)
        return await asyncio.gather(*(append(keys=["k"], args=[n]) for n in range(3)), return_exceptions=True)

    results = run_with(free_port(), body)  # nothing listens there
    assert len(results) == 3
    assert all(isinstance(result, redis.RedisError) for result in results)


def test_a_cancelled_caller_does_not_undo_its_call_or_disturb_the_others(redis_port, raw, key):
    async def body(client: aioredis.Redis):
        append = BatchedScript(client, APPEND)
        abandoned = asyncio.ensure_future(append(keys=[key], args=["abandoned"]))
        kept = asyncio.ensure_future(append(keys=[key], args=["kept"]))
        await asyncio.sleep(0)  # both calls are queued in this batch
        abandoned.cancel()
        return await kept, abandoned.cancelled()

    assert run_with(redis_port, body) == (2, True)
    assert raw.lrange(key, 0, -1) == ["abandoned", "kept"]
