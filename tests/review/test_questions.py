"""Perguntas sem resposta against a real Redis: the questions the knowledge base deferred, an
operator's answer (an existing topic, or a new one with its answer), the admin's export into
data/faq/review.yml of a copy of the project, and who may see and do what."""
from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from pathlib import Path
from typing import Iterator

import httpx
import pytest
import yaml
from redis import asyncio as aioredis

from observability.privacy import mask_phone
from scripts.procs import BIN, Server, StartupError, free_port, start_server
from sdr.faq_queue import FaqQueue
from tests.review.conftest import CHEAP_HASH, REVIEW_TOKEN, ReviewClient

pytestmark = pytest.mark.integration

KEY_PREFIX = f"faq{uuid.uuid4().hex[:8]}"
LEAD = "5511987651234"
RESPONSES = """version: "3.1"
responses:
  utter_faq/garantia_placas:
  - text: "As placas têm {warranty_years_modules_product} anos de garantia."
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of what the export reads and writes: domain.yml, data/ (with a knowledge base of one topic)."""
    root = Path(__file__).resolve().parents[2]
    copy = tmp_path_factory.mktemp("project")
    shutil.copy(root / "domain.yml", copy / "domain.yml")
    shutil.copytree(root / "data" / "nlu", copy / "data" / "nlu")
    (copy / "data" / "faq").mkdir()
    (copy / "data" / "faq" / "responses.yml").write_text(RESPONSES, encoding="utf-8")
    return copy


@pytest.fixture(scope="module")
def server(redis_server, logs_dir, project) -> Iterator[Server]:
    port = free_port()
    env = {"REVIEW_TOKEN": REVIEW_TOKEN, "REVIEW_HOST": "127.0.0.1", "REVIEW_PORT": str(port),
           "REVIEW_SYNC_SECONDS": "5", "REDIS_HOST": redis_server.host, "REDIS_PORT": str(redis_server.port),
           "REDIS_DB": "0", "REDIS_PASSWORD": "", "REDIS_KEY_PREFIX": KEY_PREFIX,
           "RASA_URL": f"http://127.0.0.1:{free_port()}", "REVIEW_PROJECT_DIR": str(project), **CHEAP_HASH}
    try:
        found = start_server("review-questions", [str(BIN / "python"), "-m", "review"],
                             f"http://127.0.0.1:{port}", "/healthz", logs_dir, env)
    except StartupError as error:
        pytest.fail(str(error))
    yield found
    found.stop()


def asked(redis_server, text: str, guess: str = "") -> str:
    async def main() -> str:
        client = aioredis.Redis(host=redis_server.host, port=redis_server.port, decode_responses=True)
        try:
            return await FaqQueue(client, KEY_PREFIX).add(LEAD, text, time.time(), uuid.uuid4().hex, guess)
        finally:
            await client.close()

    return asyncio.run(main())


@pytest.fixture
def admin(server) -> Iterator[ReviewClient]:
    client = ReviewClient(server.url)
    yield client
    client.close()


def test_a_deferred_question_is_answered_and_exported_as_knowledge_base_data(admin, redis_server, project):
    new_topic = asked(redis_server, "vcs instalam em barco?", guess="")
    known_topic = asked(redis_server, "quantos anos de garantia tem o modulo mesmo?", guess="garantia_placas")
    page = admin.http.get("/questions").text
    assert "vcs instalam em barco?" in page and "garantia_placas" in page
    assert LEAD not in page.replace(f'href="/conversations/{LEAD}"', "")  # the number only in the link

    assert admin.post(f"/questions/{new_topic}/answer", topic="barcos").status_code == 400  # new topic, no answer
    assert admin.post(f"/questions/{new_topic}/answer", topic="Barcos e Lanchas!", answer="x").status_code == 400
    assert admin.post(f"/questions/{new_topic}/answer", topic="barcos",
                      answer="Não instalamos em barcos {ainda}; um consultor indica quem faz.").status_code == 200
    assert admin.post(f"/questions/{known_topic}/answer", topic="garantia_placas").status_code == 200
    listed = admin.http.get("/api/questions").json()
    assert [q["id"] for q in listed["unanswered"] if q["id"] in (new_topic, known_topic)] == []
    assert {q["topic"] for q in listed["answered"]} >= {"barcos", "garantia_placas"}

    exported = admin.post("/questions/export").json()
    assert exported["ok"] and exported["added"] == 2
    data = yaml.safe_load((project / "data" / "faq" / "review.yml").read_text(encoding="utf-8"))
    examples = {block["intent"]: block["examples"] for block in data["nlu"]}
    assert "- vcs instalam em barco?" in examples["faq/barcos"]
    assert "- quantos anos de garantia tem o modulo mesmo?" in examples["faq/garantia_placas"]
    # A new topic gets its answer; braces never become fact placeholders; a known topic keeps its own.
    assert data["responses"] == {"utter_faq/barcos": [
        {"text": "Não instalamos em barcos (ainda); um consultor indica quem faz."}]}
    assert admin.http.get("/api/questions").json()["answered"] == []
    again = admin.post("/questions/export").json()
    assert again["added"] == 0


def test_dismiss_and_roles(server, admin, redis_server):
    spam = asked(redis_server, "compro ouro, chama no pv")
    assert admin.post(f"/questions/{spam}/dismiss").status_code == 200
    assert all(q["id"] != spam for q in admin.http.get("/api/questions").json()["unanswered"])
    assert httpx.get(server.url + "/api/questions").status_code == 401
    assert httpx.post(server.url + "/questions/export").status_code == 401
    api = admin.http.get("/api/questions").json()
    assert all(q["conversation"] in (None, mask_phone(LEAD)) for q in api["unanswered"])
