"""The lifecycle every HTTP client of ours shares (Evolution, Kommo, Google Calendar).

One pooled ``httpx.AsyncClient`` per client object, made on first use (inside the event loop
that uses it), closed by ``aclose()`` or ``async with``; a closed client refuses further use
instead of quietly opening a new pool. Subclasses say how their pool is built. Also the one
reader of an answer's body that may be empty or not JSON (``json_or_none``).
"""
from __future__ import annotations

from types import TracebackType
from typing import Any, Optional, TypeVar

import httpx

__all__ = ["PooledHttpClient", "json_or_none"]

Self = TypeVar("Self", bound="PooledHttpClient")


class PooledHttpClient:
    def __init__(self) -> None:
        self._client: Optional[httpx.AsyncClient] = None
        self._closed = False

    def _new_pool(self) -> httpx.AsyncClient:
        raise NotImplementedError

    async def __aenter__(self: Self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections; the client cannot be used afterwards."""
        self._closed = True
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def _http(self) -> httpx.AsyncClient:
        if self._closed:
            raise RuntimeError(f"{type(self).__name__} is closed")
        if self._client is None:
            self._client = self._new_pool()
        return self._client


def json_or_none(response: httpx.Response) -> Any:
    """The answer's JSON; None when it has no body or the body is not JSON (the caller decides)."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None
