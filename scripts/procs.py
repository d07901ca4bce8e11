"""Start and stop the project's servers as child processes (tests and benchmarks)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "current.tar.gz"
# Worker processes of the Rasa server as shipped (SANIC_WORKERS of scripts/run-stack.sh
# and of the Rasa image in the Dockerfile; a unit test keeps the three equal).
SHIPPED_SANIC_WORKERS = 2
# Sanic's access log as shipped (SANIC_ACCESS_LOG, in the same three places): off.
SHIPPED_SANIC_ACCESS_LOG = "false"
# Start-up can be slow on a loaded 2-core machine; this bounds waiting, it is not a speed check.
STARTUP_LIMIT_S = 300


class StartupError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    url: str
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # a Rasa server with several workers stops them first
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL to the server and every worker process it forked: a crash, no
        shutdown hook runs anywhere."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


def start_server(
    name: str,
    command: List[str],
    url: str,
    ready_path: str,
    log_dir: Path,
    env: Optional[Dict[str, str]] = None,
) -> Server:
    """Starts `command` and waits until GET url+ready_path answers 200."""
    log_path = log_dir / f"{name}.log"
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=open(log_path, "w"),
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        start_new_session=True,  # its own process group: kill() reaches forked workers too
    )
    server = Server(name, process, url, log_path)
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartupError(f"{name} exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(url + ready_path, timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.stop()
    raise StartupError(f"{name} did not become ready at {url + ready_path}:\n{server.log_tail()}")


@dataclass
class RedisProcess:
    process: subprocess.Popen
    host: str
    port: int

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait()


def start_redis(log_dir: Path, port: int = 0) -> RedisProcess:
    """A private redis-server on loopback; nothing kept on disk."""
    import shutil

    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        raise StartupError("redis-server is not installed: run `make setup` (or apt-get install redis-server)")
    port = port or free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(log_dir)],
        stdout=open(log_dir / f"redis-{port}.log", "w"),
        stderr=subprocess.STDOUT,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            return RedisProcess(process, "127.0.0.1", port)
        except redis.ConnectionError as error:
            if time.monotonic() > deadline or process.poll() is not None:
                raise StartupError("redis-server did not start") from error
            time.sleep(0.1)


def start_action_server(log_dir: Path, env: Optional[Dict[str, str]] = None) -> Server:
    port = free_port()
    return start_server(
        "action-server",
        [str(BIN / "python"), "-m", "actions.server", "--port", str(port)],
        f"http://127.0.0.1:{port}",
        "/health",
        log_dir,
        env,
    )


REST_ONLY_CREDENTIALS = "rest:\n"


def write_credentials(directory: Path, text: str, name: str = "credentials.yml") -> str:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def start_rasa_server(
    log_dir: Path,
    *,
    action_url: str,
    endpoints: str = "endpoints.yml",
    credentials: str = "credentials.yml",
    env: Optional[Dict[str, str]] = None,
    name: str = "rasa-server",
    port: Optional[int] = None,
    workers: int = 1,
) -> Server:
    """A Rasa server with `workers` worker processes (Rasa's SANIC_WORKERS): one unless
    the caller runs it as shipped (SHIPPED_SANIC_WORKERS)."""
    if not MODEL.exists():
        raise StartupError(f"no trained model at {MODEL}: run `make train`")
    port = port or free_port()
    return start_server(
        name,
        [str(BIN / "rasa"), "run", "--enable-api", "--model", str(MODEL), "--port", str(port),
         "--endpoints", endpoints, "--credentials", credentials],
        f"http://127.0.0.1:{port}",
        "/status",
        log_dir,
        {"ACTION_SERVER_URL": f"{action_url}/webhook", "SANIC_WORKERS": str(workers),
         "SANIC_ACCESS_LOG": SHIPPED_SANIC_ACCESS_LOG, **(env or {})},
    )
