"""Session-wide servers for the tests that cross process boundaries.

Each heavy server starts once per test session: a private Redis on a free port,
the action server, and the Rasa server with the trained model and the Redis
tracker and lock stores of endpoints.yml (the production configuration).
"""
from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
import redis

from scripts.procs import Server, StartupError, free_port, start_action_server, start_rasa_server


@dataclass
class RedisInfo:
    host: str
    port: int


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server-logs")


@pytest.fixture(scope="session")
def redis_server(logs_dir: Path) -> Iterator[RedisInfo]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run `make setup` (or apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(logs_dir)],
        stdout=open(logs_dir / "redis.log", "w"),
        stderr=subprocess.STDOUT,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("redis-server did not start")
            time.sleep(0.1)
    yield RedisInfo("127.0.0.1", port)
    process.terminate()
    process.wait()


@pytest.fixture(scope="session")
def action_server(logs_dir: Path) -> Iterator[Server]:
    try:
        server = start_action_server(logs_dir)
    except StartupError as error:
        pytest.fail(str(error))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def rasa_server(redis_server: RedisInfo, action_server: Server, logs_dir: Path) -> Iterator[Server]:
    env = {
        "REDIS_HOST": redis_server.host,
        "REDIS_PORT": str(redis_server.port),
        "REDIS_DB": "0",
        "REDIS_PASSWORD": "",
        "REDIS_KEY_PREFIX": "test",
    }
    try:
        server = start_rasa_server(logs_dir, action_url=action_server.url, env=env)
    except StartupError as error:
        pytest.fail(str(error))
    yield server
    server.stop()
