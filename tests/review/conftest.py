"""The review UI as a real subprocess over the session's Redis, reading
conversations the real Rasa server produced (REST and WhatsApp channels).

Exports go to a temporary copy of the project (REVIEW_PROJECT_DIR), so the
repository's data and tests are never modified by a test.

Accounts: REVIEW_TOKEN makes the first admin (`admin`, the token as password) on the
server's first start; `python -m review users add` then makes an operator and a viewer.
Passwords are hashed with a cheap Argon2 cost here (REVIEW_PASSWORD_HASH_*).
"""
from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List

import httpx
import pytest

from scripts.procs import BIN, ROOT, Server, StartupError, free_port, start_server
from tests import evolution_samples as samples
from tests.conftest import EVOLUTION_API_KEY, EVOLUTION_INSTANCE, RASA_AUTH_TOKEN
from tests.integration.conversation import Conversation
from tests.integration.whatsapp import WhatsAppLead

REVIEW_TOKEN = "test-review-token-0123456789"
ADMIN = "admin"
OPERATOR, OPERATOR_PASSWORD = "ana", "senha-da-operadora-1"
VIEWER, VIEWER_PASSWORD = "vera", "senha-da-agencia-1"
PASSWORDS = {ADMIN: REVIEW_TOKEN, OPERATOR: OPERATOR_PASSWORD, VIEWER: VIEWER_PASSWORD}
# The on-duty number HANDOFF_NOTIFY_TO names in the tests (the fake Evolution records it).
ON_DUTY = "5511900009999"
# Argon2 at test cost: 1 pass over 1 MiB (production: RFC 9106 low-memory, 3 × 64 MiB).
CHEAP_HASH = {"REVIEW_PASSWORD_HASH_MEMORY_KIB": "1024", "REVIEW_PASSWORD_HASH_TIME_COST": "1"}
HOSTILE_NAME = "<script>alert('x')</script><img src=x onerror=alert(1)>"
# How long a test waits for the index to pick a conversation up (it syncs every 0.3 s).
LISTING_WAIT_S = 60
PROJECT_FILES = ("data", "domain.yml", "config.yml", "tests/test_stories.yml", "tests/nlu_test.yml")


@pytest.fixture(scope="session")
def review_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of what `rasa data validate` and the exports touch."""
    target = tmp_path_factory.mktemp("review-project")
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name)
        else:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.fixture(scope="session")
def review_server(redis_server, rasa_server, fake_evolution, review_project, logs_dir) -> Iterator[Server]:
    port = free_port()
    env = {
        "REVIEW_TOKEN": REVIEW_TOKEN,
        "REVIEW_HOST": "127.0.0.1",
        "REVIEW_PORT": str(port),
        "REVIEW_PROJECT_DIR": str(review_project),
        "REVIEW_SYNC_SECONDS": "0.3",
        "REDIS_HOST": redis_server.host,
        "REDIS_PORT": str(redis_server.port),
        "REDIS_DB": "0",
        "REDIS_PASSWORD": "",
        "REDIS_KEY_PREFIX": "test",
        "RASA_URL": rasa_server.url,
        "RASA_AUTH_TOKEN": RASA_AUTH_TOKEN,
        "EVOLUTION_URL": fake_evolution.url,
        "EVOLUTION_API_KEY": EVOLUTION_API_KEY,
        "EVOLUTION_INSTANCE": EVOLUTION_INSTANCE,
        "HANDOFF_NOTIFY_TO": ON_DUTY,
        **CHEAP_HASH,
    }
    try:
        server = start_server("review-ui", [str(BIN / "python"), "-m", "review"], f"http://127.0.0.1:{port}",
                              "/healthz", logs_dir, env)
    except StartupError as error:
        pytest.fail(str(error))
    server.env = env  # type: ignore[attr-defined]  # for `python -m review users` against it
    for name, role in ((OPERATOR, "operator"), (VIEWER, "viewer")):
        result = users_cli(env, "add", name, "--role", role, "--password-stdin", stdin=PASSWORDS[name] + "\n")
        assert result.returncode == 0, result.stderr
    yield server
    server.stop()


def users_cli(env: Dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """`python -m review users …` against the test server's Redis."""
    return subprocess.run([str(BIN / "python"), "-m", "review", "users", *args], input=stdin, text=True,
                          capture_output=True, env={**os.environ, **env}, cwd=ROOT, timeout=60)


@dataclass
class SeededConversations:
    qualified: str  # REST, full qualification: HOT
    hostile: str  # REST, the lead's name is HTML with a script
    fallback: str  # REST, a message the assistant did not understand
    whatsapp: WhatsAppLead  # Evolution: a PDF bill and a voice note with Evolution's transcript
    gibberish: str = "zyx wvu tsr"
    odd: str = "o céu é azul e a lua também"  # a low-confidence guess (ask_how_it_works or the fallback)


FORM = ["Maria", "minha conta vem uns R$ 450,00", "Campinas - SP", "é uma casa", "própria",
        "sou eu que decido", "o quanto antes"]


@pytest.fixture(scope="session")
def seeded(rasa_server, fake_evolution) -> SeededConversations:
    qualified = Conversation(rasa_server.url)
    qualified.say("oi")
    for answer in FORM:
        qualified.say(answer)

    hostile = Conversation(rasa_server.url)
    hostile.say("oi")
    hostile.say(HOSTILE_NAME)

    fallback = Conversation(rasa_server.url)
    fallback.say("oi")
    fallback.say(SeededConversations.gibberish)
    fallback.say(SeededConversations.odd)

    import random

    from tests.bills import generate_bill, random_spec

    lead = WhatsAppLead(rasa_server.url, fake_evolution)
    lead.say("oi")
    lead.say("Joana")
    bill = generate_bill(random_spec(random.Random(6)), layout="labels", kind="pdf_text")
    before = len(lead.replies())
    lead.post(lead.body(samples.document_message("conta.pdf", base64=base64.b64encode(bill).decode())))
    lead.wait_for_replies(before + 1)
    lead.wait_for_turn()
    before = len(lead.replies())
    lead.post(lead.body(samples.audio_message(speech_to_text="quanto fica pra botar placa no meu sítio")))
    lead.wait_for_replies(before + 1)
    lead.wait_for_turn()
    return SeededConversations(qualified.sender_id, hostile.sender_id, fallback.sender_id, lead)


class ReviewClient:
    """A logged-in user talking to the UI over HTTP (the first admin unless told)."""

    def __init__(self, url: str, username: str = ADMIN, password: str = REVIEW_TOKEN) -> None:
        self.http = httpx.Client(base_url=url, timeout=60, follow_redirects=False)
        response = self.http.post("/login", data={"username": username, "password": password})
        assert response.status_code == 303, response.text
        self.csrf = self.http.get("/api/session").json()["csrf_token"]

    def post(self, path: str, **data: str) -> httpx.Response:
        return self.http.post(path, data=data, headers={"X-CSRF-Token": self.csrf})

    def listed(self, **filters: str) -> List[Dict]:
        return self.http.get("/api/conversations", params=filters).json()["conversations"]

    def wait_listed(self, sender_id: str, predicate=lambda row: True) -> Dict:
        deadline = time.monotonic() + LISTING_WAIT_S
        while time.monotonic() < deadline:
            rows = [r for r in self.listed(q=sender_id) if r["id"] == sender_id]
            if rows and predicate(rows[0]):
                return rows[0]
            time.sleep(0.2)
        pytest.fail(f"conversation {sender_id[:4]}… never listed as expected")

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def operator(review_server) -> Iterator[ReviewClient]:
    """The admin (every right): the tests of what the UI does. Roles: as_operator, as_viewer."""
    client = ReviewClient(review_server.url)
    yield client
    client.close()


@pytest.fixture
def as_operator(review_server) -> Iterator[ReviewClient]:
    client = ReviewClient(review_server.url, OPERATOR, OPERATOR_PASSWORD)
    yield client
    client.close()


@pytest.fixture
def as_viewer(review_server) -> Iterator[ReviewClient]:
    client = ReviewClient(review_server.url, VIEWER, VIEWER_PASSWORD)
    yield client
    client.close()


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)
