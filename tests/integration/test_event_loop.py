"""The event loop the Rasa server runs on (uvloop, as Sanic installs it).

uvloop 0.18 and later accept one connection per loop iteration; under a burst
of new webhook connections the last ones then wait behind every request already
being served (the flat-out benchmark's p99 went from ~15 to ~30 ms).
requirements.txt pins a release that accepts what is queued at once.
"""
from __future__ import annotations

import asyncio
import socket
import time

import uvloop

QUEUED_CONNECTIONS = 50


async def loop_iterations_to_accept_queued_connections() -> int:
    accepted = 0

    class Counting(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            nonlocal accepted
            accepted += 1

    server = await asyncio.get_running_loop().create_server(Counting, "127.0.0.1", 0, backlog=100)
    port = server.sockets[0].getsockname()[1]
    clients = []
    try:
        for _ in range(QUEUED_CONNECTIONS):
            client = socket.socket()
            client.setblocking(False)
            try:
                client.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            clients.append(client)
        # Blocking on purpose: the loop must find every connection already queued.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _queued(port) < QUEUED_CONNECTIONS:
            time.sleep(0.01)
        iterations = 0
        while accepted < QUEUED_CONNECTIONS:
            await asyncio.sleep(0)
            iterations += 1
        return iterations
    finally:
        for client in clients:
            client.close()
        server.close()


def _queued(port: int) -> int:
    """Connections completed by the kernel, waiting in the listening socket's queue."""
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return sum(1 for row in rows if row[2].endswith(f":{port:04X}") and row[3] == "01")


def test_uvloop_accepts_a_burst_of_queued_connections_in_a_few_iterations():
    loop = uvloop.new_event_loop()  # the global loop policy stays as the session has it
    try:
        iterations = loop.run_until_complete(loop_iterations_to_accept_queued_connections())
    finally:
        loop.close()
    assert iterations <= 5, (
        f"uvloop {uvloop.__version__} took {iterations} loop iterations to accept {QUEUED_CONNECTIONS}"
    )
