"""What the fake HTTP peers share: an aiohttp app on 127.0.0.1, served from a
background thread with its own event loop, driven from tests' threads."""
from __future__ import annotations

import asyncio
import signal
import threading
from typing import Any, Awaitable, Optional

from aiohttp import web

DEFAULT_HOST = "127.0.0.1"
EPHEMERAL_PORT = 0  # the OS picks a free port
LISTEN_BACKLOG = 1024  # benchmarks open many connections at once
SHUTDOWN_TIMEOUT_S = 1.0
CONTROL_TIMEOUT_S = 10.0  # bounds every call from a test into the server's loop
CLI_SIGNAL_POLL_S = 0.5


class BackgroundServer:
    """Subclasses build their app in `build_app`; this class runs it."""

    name = "fake-server"

    def __init__(self, *, host: str = DEFAULT_HOST, port: int = EPHEMERAL_PORT) -> None:
        self.host = host
        self._port = port
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._runner: Optional[web.AppRunner] = None
        self._site: Optional[web.TCPSite] = None

    def build_app(self) -> web.Application:
        raise NotImplementedError

    @property
    def url(self) -> str:
        if self._runner is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://{self.host}:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> str:
        """Start serving (idempotent); returns the base URL."""
        if self._runner is not None:
            return self.url
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=self._run_loop, args=(loop,), name=self.name, daemon=True)
        self._thread.start()
        self._call(self._start_async())
        return self.url

    def stop(self) -> None:
        """Stop serving and end the background thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._runner is not None:
            self._call(self._runner.cleanup())
        # Handlers still sleeping under injected latency: end them before the loop goes.
        self._call(_cancel_pending_tasks())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(CONTROL_TIMEOUT_S)
        loop.close()
        self._loop = self._thread = None
        self._runner = self._site = None

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def go_down(self) -> None:
        """Stop listening and drop open connections: clients now get "connection refused"."""
        self._call(self._go_down_async())

    def come_back(self) -> None:
        """Listen again on the same port."""
        if self._site is None:
            self._call(self._listen())

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    def _call(self, coroutine: Awaitable[Any]) -> Any:
        if self._loop is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(CONTROL_TIMEOUT_S)

    async def _start_async(self) -> None:
        # Handlers keep running when the client gives up, as real servers' do: a send
        # whose client timed out may still be delivered.
        self._runner = web.AppRunner(
            self.build_app(), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S, handler_cancellation=False
        )
        await self._runner.setup()
        await self._listen()

    async def _listen(self) -> None:
        assert self._runner is not None
        site = web.TCPSite(self._runner, self.host, self._port, backlog=LISTEN_BACKLOG, reuse_address=True)
        await site.start()
        self._site = site
        if self._port == EPHEMERAL_PORT:
            self._port = self._runner.addresses[0][1]

    async def _go_down_async(self) -> None:
        if self._site is not None:
            await self._site.stop()
            self._site = None
        if self._runner is not None and self._runner.server is not None:
            for connection in list(self._runner.server.connections):
                connection.force_close()


def serve_until_signalled(server: BackgroundServer, banner: str) -> int:
    """The fakes' command line: serve until Ctrl-C or SIGTERM."""
    stopping = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stopping.set())
    server.start()
    print(f"{banner}; Ctrl-C stops", flush=True)
    try:
        # A timeout keeps the main thread responsive to signals on every platform.
        while not stopping.wait(CLI_SIGNAL_POLL_S):
            pass
    finally:
        server.stop()
    print(f"{type(server).__name__} stopped", flush=True)
    return 0


async def _cancel_pending_tasks() -> None:
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
