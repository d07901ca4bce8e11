"""One Lua script, called by many coroutines at once, run as one Redis pipeline.

Under a burst of webhooks every request runs the admission script. Sent one by
one, each call checks a connection out of the pool, probes it, wraps its send
in a timeout and waits for its own round trip: most of a webhook's Redis cost
was that bookkeeping, not the script. Calls made in the same event-loop turn
are sent together instead (group commit): one checkout, one write, one read,
and each caller still awaits its own result before it answers its webhook.
"""
from __future__ import annotations

import asyncio
from typing import Any, List, Optional, Sequence, Set, Tuple

from redis import asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

Call = Tuple[Sequence[Any], Sequence[Any], "asyncio.Future[Any]"]


class BatchedScript:
    def __init__(self, client: aioredis.Redis, script: str) -> None:
        self._client = client
        self._script: AsyncScript = client.register_script(script)
        self._pending: List[Call] = []
        self._flush: Optional[asyncio.Task[None]] = None
        self._in_flight: Set[asyncio.Task[None]] = set()  # the loop keeps only weak references

    async def __call__(self, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((keys, args, future))
        if self._flush is None:
            # The task's first step runs after the coroutines already scheduled in
            # this loop turn: the ones that call meanwhile join this batch.
            self._flush = asyncio.create_task(self._send_pending())
            self._in_flight.add(self._flush)
            self._flush.add_done_callback(self._in_flight.discard)
        return await future

    async def _send_pending(self) -> None:
        batch, self._pending, self._flush = self._pending, [], None
        try:
            results = await self._run(batch)
        except BaseException as error:  # the whole batch failed: every caller sees why
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        for (_, _, future), result in zip(batch, results):
            if future.done():  # its caller went away (cancelled); the write stands
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def _run(self, batch: List[Call]) -> List[Any]:
        if len(batch) == 1:
            keys, args, _ = batch[0]
            return [await self._script(keys=keys, args=args)]
        async with self._client.pipeline(transaction=False) as pipe:
            for keys, args, _ in batch:
                pipe.evalsha(self._script.sha, len(keys), *keys, *args)
            results: List[Any] = await pipe.execute(raise_on_error=False)
        # After a SCRIPT FLUSH or a Redis restart the script is gone: the calls
        # that found it missing run again one by one, which loads it.
        for index, result in enumerate(results):
            if isinstance(result, NoScriptError):
                keys, args, _ = batch[index]
                results[index] = await self._script(keys=keys, args=args)
        return results
