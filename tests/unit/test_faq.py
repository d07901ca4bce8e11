"""The knowledge base's pure parts: facts filled into answers (or the answer withheld), the
outcome of a parse, and the held-out scoring."""
from __future__ import annotations

from pathlib import Path

import pytest

from scripts.faq_eval import DEFER, Item, outcome, score
from sdr.faq import CompanyFacts, load_facts, render_answer, topic_of

FACTS = CompanyFacts({"warranty_years": 12, "states": ["SP", "MG", "RJ"], "discount_pct": 5.5,
                      "empty": None, "city": "Campinas"})


def test_facts_are_filled_in_as_a_sentence_reads_them() -> None:
    assert render_answer("Garantia de {warranty_years} anos.", FACTS) == "Garantia de 12 anos."
    assert render_answer("Atendemos {states}.", FACTS) == "Atendemos SP, MG e RJ."
    assert render_answer("Desconto de {discount_pct}%.", FACTS) == "Desconto de 5,5%."
    assert render_answer("Sem fatos.", FACTS) == "Sem fatos."


@pytest.mark.parametrize("text", ["Garantia: {empty}.", "Em {unknown}.", "{city} e {empty}"])
def test_an_answer_quoting_an_unknown_fact_is_withheld(text: str) -> None:
    assert render_answer(text, FACTS) is None


def test_topic_names() -> None:
    assert topic_of("faq/garantia_placas") == topic_of("utter_faq/garantia_placas") == "garantia_placas"
    assert topic_of("ask_price") is None and topic_of(None) is None


def test_the_shipped_facts_file_reads(tmp_path: Path) -> None:
    path = tmp_path / "facts.yml"
    path.write_text("facts:\n  a: 1\n", encoding="utf-8")
    assert load_facts(path).text("a") == "1"
    path.write_text("not: facts\n", encoding="utf-8")
    with pytest.raises(ValueError):
        load_facts(path)


def parse(intent: str, key: str = "", confidence: float = 0.9) -> dict:
    selector = {"faq": {"response": {"intent_response_key": key, "confidence": confidence}}} if key else {}
    return {"intent": {"name": intent}, "response_selector": selector}


def test_what_the_assistant_does_with_a_parse() -> None:
    assert outcome(parse("faq", "faq/bateria")) == "faq/bateria"
    assert outcome(parse("faq", "faq/bateria", confidence=0.2)) == DEFER
    assert outcome(parse("nlu_fallback")) == DEFER
    assert outcome(parse("ask_price")) == "ask_price"


def test_scoring() -> None:
    items = [Item("a", "faq/bateria"), Item("b", "faq/bateria"), Item("c", "ask_price"), Item("d", "faq/granizo"),
             Item("e", "faq/granizo"), Item("f", DEFER), Item("g", DEFER)]
    done = ["faq/bateria", "faq/apagao", "ask_price", DEFER, "inform", DEFER, "faq/bateria"]
    scores = score(items, done)
    assert (scores.questions, scores.on_topic, scores.wrong, scores.deferred, scores.other) == (5, 2, 1, 1, 1)
    assert (scores.defer_items, scores.defer_items_deferred) == (2, 1)
    assert scores.confusions == [("faq/bateria", "faq/apagao", 1)]
    assert scores.on_topic_rate == pytest.approx(0.4) and scores.wrong_rate == pytest.approx(0.2)
