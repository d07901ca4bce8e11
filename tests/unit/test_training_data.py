"""The data, the domain and the code agree on names; the NLU test set stays held out."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from sdr.dialogue import ANSWER_RESPONSES, INTENTS_NOT_TYPED, LEAD_FACT_SLOTS
from sdr.text import fold_words as normalise

ROOT = Path(__file__).resolve().parents[2]
MIN_TEST_EXAMPLES_PER_INTENT = 10


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def nlu_examples(paths: List[Path]) -> Dict[str, List[str]]:
    examples: Dict[str, List[str]] = {}
    for path in paths:
        for block in load(path).get("nlu", []):
            if "intent" in block:
                lines = [line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- ")]
                # A retrieval intent's examples (faq/<topic>) are its intent's (faq) for the classifier.
                examples.setdefault(block["intent"].split("/")[0], []).extend(lines)
    return examples


DOMAIN = load(ROOT / "domain.yml")
TRAIN = nlu_examples(sorted((ROOT / "data" / "nlu").glob("*.yml")) + sorted((ROOT / "data" / "faq").glob("*.yml")))
HELD_OUT = nlu_examples([ROOT / "tests" / "nlu_test.yml"])


def test_every_domain_intent_is_trained_and_tested():
    # The channel's own intents and the follow-up trigger are never classified.
    intents = set(DOMAIN["intents"]) - set(INTENTS_NOT_TYPED)
    assert set(INTENTS_NOT_TYPED) <= set(DOMAIN["intents"])
    assert set(TRAIN) == intents
    assert set(HELD_OUT) == intents
    thin = {i: len(HELD_OUT[i]) for i in intents if len(HELD_OUT[i]) < MIN_TEST_EXAMPLES_PER_INTENT}
    assert not thin, f"intents with fewer than {MIN_TEST_EXAMPLES_PER_INTENT} test examples: {thin}"


def test_the_test_set_is_held_out_of_training():
    trained = {normalise(e) for examples in TRAIN.values() for e in examples}
    leaked = [e for examples in HELD_OUT.values() for e in examples if normalise(e) in trained]
    assert not leaked


def test_no_training_example_belongs_to_two_intents():
    owners = Counter(normalise(e) for examples in TRAIN.values() for e in set(map(normalise, examples)))
    assert [text for text, count in owners.items() if count > 1] == []


def test_every_answer_response_exists():
    responses = DOMAIN["responses"]
    missing = [r for r in ANSWER_RESPONSES.values() if r not in responses]
    assert not missing


@pytest.mark.parametrize("slot", DOMAIN["forms"]["qualification_form"]["required_slots"])
def test_every_form_question_can_be_asked_and_asked_again(slot):
    assert f"utter_ask_{slot}" in DOMAIN["responses"]
    assert f"utter_reask_{slot}" in DOMAIN["responses"]


def test_lead_fact_slots_are_domain_slots():
    assert set(LEAD_FACT_SLOTS) <= set(DOMAIN["slots"])


def test_every_side_question_has_a_rule_inside_the_form():
    rules = load(ROOT / "data" / "rules_questions.yml")["rules"]
    in_form = {
        step["intent"]
        for rule in rules
        if rule.get("condition")
        for step in rule["steps"]
        if "intent" in step
    }
    assert set(ANSWER_RESPONSES) <= in_form
