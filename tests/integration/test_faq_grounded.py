"""Questions the knowledge base is not sure of, answered by Gemini grounded on its passages: against
a real Gemini REST server on loopback (the fake), with the real Redis for the deferral's queue.

The action runs as the action server runs it (ActionAnswerFaq with the shipped answers and facts);
the message is what the NLU hands it: the selector's ranking of the topics."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import gemini_client
from actions.faq import ActionAnswerFaq
from tests.fake_gemini import FakeGemini

ROOT = Path(__file__).resolve().parents[2]
RESPONSES = yaml.safe_load((ROOT / "data" / "faq" / "responses.yml").read_text(encoding="utf-8"))["responses"]
DOMAIN: Dict[str, Any] = {"responses": RESPONSES}
QUESTION = "o inversor tbm tem garantia ou so as placas?"
INVERTER = "O inversor tem *10 anos* de garantia do fabricante 🙂"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGemini]:
    with FakeGemini() as server:
        yield server


@pytest.fixture(autouse=True)
def _env(fake: FakeGemini, redis_server, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.reset()
    gemini_client.reset_breakers()
    for name, value in {"GEMINI_API_KEY": fake.api_key, "GEMINI_API_ENDPOINT": fake.url,
                        "GEMINI_FAQ_TIMEOUT_S": "2", "GEMINI_BREAKER_FAILURES": "2",
                        "GEMINI_BREAKER_RESET_S": "60", "REDIS_HOST": redis_server.host,
                        "REDIS_PORT": str(redis_server.port), "REDIS_KEY_PREFIX": "grounded",
                        "COMPANY_FACTS_FILE": str(ROOT / "company_facts.yml"),
                        "FAQ_MIN_CONFIDENCE": "0.7"}.items():
        monkeypatch.setenv(name, value)


def tracker(confidence: float, ranking: List[str], text: str = QUESTION, sender: str = "5511988887777") -> Tracker:
    entries = [{"intent_response_key": f"faq/{topic}", "confidence": confidence / (i + 1)}
               for i, topic in enumerate(ranking)]
    top = ranking[0]
    latest = {"text": text, "intent": {"name": "faq", "confidence": confidence}, "response_selector": {"faq": {
        "response": {"intent_response_key": f"faq/{top}", "confidence": confidence,
                     "responses": RESPONSES[f"utter_faq/{top}"]},
        "ranking": entries}}}
    return Tracker(sender, {}, latest, [{"event": "user", "text": text, "timestamp": time.time(),
                                         "parse_data": latest}], False, None, {}, "action_listen")


async def answer(t: Tracker) -> List[Dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    await ActionAnswerFaq().run(dispatcher, t, DOMAIN)
    return dispatcher.messages


def queued(raw_client, sender: str) -> List[str]:
    ids = raw_client.zrange("grounded:faq:unanswered", 0, -1)
    return [q["text"] for q in (raw_client.hgetall(f"grounded:faq:q:{i}") for i in ids)
            if q.get("conversation_id") == sender]


@pytest.mark.asyncio
async def test_an_unsure_topic_is_answered_by_gemini_from_the_passages(fake, raw):
    fake.queue_json({"answerable": True, "answer": INVERTER, "passages": ["garantia_inversor"]})
    messages = await answer(tracker(0.3, ["garantia_placas", "garantia_inversor", "granizo"]))
    assert [m["text"] for m in messages] == [INVERTER]
    [request] = fake.requests
    # The prompt: the rules, the passages with the company's facts, the question as data.
    assert "SOMENTE" in request.system_text and "Nenhum número" in request.system_text
    assert "id: garantia_inversor" in request.user_text and "*10 anos*" in request.user_text
    assert "id: granizo" in request.user_text and QUESTION in request.user_text
    assert request.generation_config["responseMimeType"] == "application/json"
    assert queued(raw, "5511988887777") == []


@pytest.mark.asyncio
async def test_a_sure_topic_is_answered_from_the_knowledge_base_without_gemini(fake):
    messages = await answer(tracker(0.9, ["garantia_inversor", "garantia_placas"]))
    assert "*10 anos*" in messages[0]["text"] and fake.requests == []


@pytest.mark.asyncio
async def test_a_topic_whose_fact_is_empty_is_deferred_without_gemini(fake, raw):
    sender = "5511977776666"
    messages = await answer(tracker(0.9, ["marcas", "garantia_placas"], text="qual marca de placa?", sender=sender))
    assert messages[0]["response"] == "utter_faq_defer" and "marcas" in messages[0]["faq_about"]
    assert fake.requests == [] and queued(raw, sender) == ["qual marca de placa?"]


@pytest.mark.parametrize("model_output", [
    {"answerable": True, "answer": "O inversor tem 15 anos de garantia.", "passages": ["garantia_inversor"]},
    {"answerable": True, "answer": "Tem garantia sim!", "passages": []},
    {"answerable": False, "answer": "", "passages": []},
])
@pytest.mark.asyncio
async def test_an_answer_that_fails_the_check_becomes_the_honest_deferral(fake, raw, model_output):
    sender = f"55119{abs(hash(str(model_output))) % 10**8:08d}"
    fake.queue_json(model_output)
    messages = await answer(tracker(0.3, ["garantia_placas", "garantia_inversor"], sender=sender))
    assert [m.get("response") for m in messages] == ["utter_faq_defer"]
    assert messages[0]["faq_about"] == ""  # not sure of the topic: no topic named
    assert queued(raw, sender) == [QUESTION]


@pytest.mark.asyncio
async def test_a_slow_or_failing_gemini_defers_and_the_circuit_opens(fake, raw):
    fake.set_latency(3.0)  # past GEMINI_FAQ_TIMEOUT_S
    started = time.monotonic()
    messages = await answer(tracker(0.3, ["garantia_placas"], sender="5511900000001"))
    assert messages[0]["response"] == "utter_faq_defer" and time.monotonic() - started < 6
    fake.set_latency(0.0)
    fake.fail_next(1, 503)
    messages = await answer(tracker(0.3, ["garantia_placas"], sender="5511900000002"))
    assert messages[0]["response"] == "utter_faq_defer"
    # Two failures in a row: Gemini is left alone, the deferral comes at once.
    before = len(fake.requests)
    messages = await answer(tracker(0.3, ["garantia_placas"], sender="5511900000003"))
    assert messages[0]["response"] == "utter_faq_defer" and len(fake.requests) == before
    assert queued(raw, "5511900000003") == [QUESTION]


@pytest.mark.asyncio
async def test_without_a_key_gemini_is_never_called(fake, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    messages = await answer(tracker(0.3, ["garantia_placas"], sender="5511900000004"))
    assert messages[0]["response"] == "utter_faq_defer" and fake.requests == []
