"""A user's .env never reaches a test: with every outside service pointed at a listener of our
own (as a real .env would point them at Evolution, Gemini, OpenAI, Redis…), the tests that
talk to those services run, and the listener sees no connection at all.

Before tests/isolation.py, `make test-unit` with a real .env sent real "🔥 Lead quente"
WhatsApp messages to the configured sales number (tests/unit/test_actions.py qualifies a HOT
lead, which notifies the sales team through Evolution).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator, List

import pytest

from tests.isolation import scrub, service_variables

ROOT = Path(__file__).resolve().parents[2]
# The tests whose code reads the outside services' variables.
SUITES = [
    "tests/unit/test_actions.py",
    "tests/unit/test_followup_action.py",
    "tests/integration/test_gemini_qualifier.py",
    "tests/integration/test_transcription.py",
    "tests/integration/test_evolution_cli.py",
]


class Listener:
    """Counts every TCP connection made to it (HTTP or Redis alike) and answers nothing."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections: List[str] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(0.5)
            try:
                self.connections.append(conn.recv(200).decode("latin-1"))
            except OSError:
                self.connections.append("")
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def users_env(port: int) -> dict:
    url = f"http://127.0.0.1:{port}"
    return {
        "EVOLUTION_URL": url, "EVOLUTION_API_KEY": "users-real-key", "EVOLUTION_INSTANCE": "users",
        "SALES_WHATSAPP_NUMBER": "5511999990000", "WEEKLY_REPORT_TO": "5511999990001",
        "HANDOFF_NOTIFY_TO": "5511999990002",
        "GEMINI_API_KEY": "users-gemini-key", "GEMINI_API_ENDPOINT": f"127.0.0.1:{port}",
        "OPENAI_API_KEY": "users-openai-key", "OPENAI_BASE_URL": f"{url}/v1",
        "KOMMO_BASE_URL": url, "KOMMO_ACCESS_TOKEN": "users-kommo-token",
        "LEAD_WEBHOOK_URLS": f"{url}/hook", "GOOGLE_CALENDAR_BASE_URL": url,
        "GOOGLE_CALENDAR_CREDENTIALS": "/home/user/keys/agenda.json", "GOOGLE_CALENDAR_IDS": "ana@empresa.com",
        "GOOGLE_OAUTH_TOKEN_URL": f"{url}/token", "SENTRY_DSN": f"http://key@127.0.0.1:{port}/1",
        "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(port), "ACTION_SERVER_URL": f"{url}/webhook",
        "RASA_URL": url,
    }


def test_every_service_variable_is_scrubbed() -> None:
    env = {**users_env(1), "PATH": "/bin", "LOG_LEVEL": "INFO", "TZ_NAME": "America/Sao_Paulo"}
    removed = scrub(env)
    assert sorted(removed) == sorted(users_env(1))
    assert env == {"PATH": "/bin", "LOG_LEVEL": "INFO", "TZ_NAME": "America/Sao_Paulo"}
    assert service_variables(os.environ) == []  # this very session was scrubbed too


def test_a_users_env_pointing_at_a_listener_gets_no_connection(listener: Listener) -> None:
    env = {**os.environ, **users_env(listener.port)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *SUITES],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert listener.connections == []
