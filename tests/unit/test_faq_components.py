"""The knowledge base's NLU components: the topic classifier (trained here on a few examples, in
seconds) and the gate that turns a question DIET could only guess at into `faq`."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.faq_gate import FaqGate, is_faq
from components.faq_topics import FAQ_MARGIN, FaqTopicClassifier, faq_margin, normalise, padded, selector_output

TOPIC_EXAMPLES = {
    "faq/garantia_inversor": ["qual a garantia do inversor", "inversor tem quantos anos de garantia",
                              "garantia do inversor é de qnto tempo", "o inversor vem com garantia?"],
    "faq/granizo": ["as placas aguentam granizo", "e se cair pedra de granizo", "chuva de granizo quebra placa?",
                    "placa resiste a granizo?"],
    "ask_price": ["quanto custa", "qual o preço", "qnto fica o sistema", "valor do kit solar"],
    "inform": ["meu nome é ana", "minha conta é 300", "moro em campinas", "sou o joão"],
}
RESPONSES = {"utter_faq/garantia_inversor": [{"text": "O inversor tem {warranty_years_inverter} anos."}],
             "utter_faq/granizo": [{"text": "As placas aguentam granizo."}]}


def example(text: str, label: str) -> Message:
    if label.startswith("faq/"):
        return Message(data={"text": text, "intent": "faq", "intent_response_key": label})
    return Message(data={"text": text, "intent": label})


def training_data() -> TrainingData:
    examples = [example(text, label) for label, texts in TOPIC_EXAMPLES.items() for text in texts]
    return TrainingData(training_examples=examples, responses=RESPONSES)


@pytest.fixture()
def classifier(tmp_path) -> FaqTopicClassifier:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("faq_topics")
    context = ExecutionContext(GraphSchema({}), "test")
    FaqTopicClassifier.create({}, storage, resource, context).train(training_data())
    return FaqTopicClassifier.load({}, storage, resource, context)


def parse(classifier: FaqTopicClassifier, text: str) -> Message:
    [message] = classifier.process([Message(data={"text": text})])
    return message


def test_a_trained_classifier_ranks_the_topic_and_says_how_likely_a_kb_question_is(classifier) -> None:
    message = parse(classifier, "quantos anos de garantia tem o inversor?")
    selected = message.get("response_selector")["faq"]["response"]
    assert selected["intent_response_key"] == "faq/garantia_inversor"
    assert selected["utter_action"] == "utter_faq/garantia_inversor"
    assert selected["responses"] == RESPONSES["utter_faq/garantia_inversor"]
    assert message.get(FAQ_MARGIN) > 0.1
    # A name is not a knowledge-base question: `inform` leads every topic.
    assert parse(classifier, "meu nome é carla").get(FAQ_MARGIN) < 0


def test_diet_gets_the_data_without_the_knowledge_base_examples(classifier) -> None:
    kept = classifier.process_training_data(training_data())
    assert {m.get("intent") for m in kept.training_examples} == {"ask_price", "inform"}
    assert kept.responses == RESPONSES  # the answers stay in the data; only DIET's examples go


def test_an_untrained_classifier_leaves_messages_alone(tmp_path) -> None:
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    untrained = FaqTopicClassifier.load({}, storage, Resource("nothing"), context)
    [message] = untrained.process([Message(data={"text": "qual a garantia?"})])
    assert message.get("response_selector") is None and message.get(FAQ_MARGIN) is None


def test_a_topic_with_one_question_is_repeated_for_calibration() -> None:
    texts, labels = padded([("a", "x"), ("b", "y"), ("c", "y"), ("d", "y")], 3)
    assert labels.count("x") == 3 and labels.count("y") == 3 and texts.count("a") == 3


def test_the_selector_output_ranks_topics_among_themselves() -> None:
    labels = ["ask_price", "faq/a", "faq/b"]
    output = selector_output(labels, np.array([0.5, 0.4, 0.1]), {"utter_faq/a": [{"text": "A"}]}, 5)["faq"]
    assert output["response"]["intent_response_key"] == "faq/a"
    assert output["response"]["confidence"] == pytest.approx(0.8)
    assert [r["intent_response_key"] for r in output["ranking"]] == ["faq/a", "faq/b"]


def test_the_margin_is_the_best_topic_against_the_best_other_intent() -> None:
    labels = ["ask_price", "faq/a", "faq/b", "inform"]
    assert faq_margin(labels, np.array([0.2, 0.5, 0.2, 0.1])) == pytest.approx(0.3)
    # Many topics sharing the probability do not add up against one clear intent.
    assert faq_margin(labels, np.array([0.4, 0.3, 0.3, 0.0])) == pytest.approx(-0.1)
    assert faq_margin(["ask_price", "inform"], np.array([0.5, 0.5])) < 0  # no knowledge base


def test_normalise_drops_case_and_accents() -> None:
    assert normalise("Garantia do INVERSOR é ótima") == "garantia do inversor e otima"


@pytest.mark.parametrize("intent, margin, text, expected", [
    ("ask_how_it_works", 0.3, "tem garantia?", True),  # DIET's nearest answer: the topic wins
    ("out_of_scope", 0.2, "", True),
    ("nlu_fallback", 0.5, "", True),
    ("inform", 0.2, "Precisa fazer manutenção nos painéis?", True),  # a formal question read as information
    ("inform", 0.9, "Rua das Flores, 120, Jardim América", False),  # an answer to the form, never a question
    ("express_interest", 0.9, "quero instalar", False),
    ("request_human", 0.5, "o inversor manda os dados pra algum app?", True),  # DIET's guess at a question
    ("reschedule_meeting", 0.5, "vou ter q trocar o medidor de luz?", True),
    ("request_human", 0.3, "alguém pode me explicar a garantia?", False),  # asked, but under min_margin_asked
    ("request_human", 0.9, "quero falar com uma pessoa", False),  # not a question: the contract keeps it
    ("schedule_meeting", 0.9, "pode ser terça às 10", False),
    ("affirm", 0.9, "sim", False),
    ("ask_price", 0.05, "", False),  # the topic does not lead by enough: the contract keeps it
    ("ask_price", -0.3, "", False),
    ("opt_out", 0.99, "posso sair da lista?", False),  # an opt-out is honoured, never taken for a question
    ("share_bill", 0.99, "?", False),  # nor what the channel sends for media
    ("ask_law", None, "", False),  # no knowledge base in the model
])
def test_the_gate(intent: str, margin: Optional[float], text: str, expected: bool) -> None:
    assert is_faq(intent, margin, 0.1, text, min_margin_asked=0.4) is expected


def test_the_asked_threshold_defaults_to_the_gates() -> None:
    assert is_faq("request_human", 0.2, 0.1, "?") is True
    assert is_faq("request_human", 0.05, 0.1, "?") is False


def gated(intent: str, margin: float) -> Dict[str, Any]:
    selector = {"faq": {"response": {"intent_response_key": "faq/a", "confidence": 0.8}}}
    message = Message(data={"text": "x", "intent": {"name": intent, "confidence": 0.9},
                            "intent_ranking": [{"name": intent, "confidence": 0.9}], FAQ_MARGIN: margin,
                            "response_selector": selector})
    [out] = FaqGate({"min_margin": 0.1, "min_margin_asked": 0.4}).process([message])
    return out.as_dict()


def test_the_gate_puts_faq_on_top_with_the_topic_confidence_and_keeps_the_ranking() -> None:
    out = gated("ask_how_it_works", 0.3)
    assert out["intent"] == {"name": "faq", "confidence": 0.8}
    ranking: List[Dict[str, Any]] = out["intent_ranking"]
    assert [r["name"] for r in ranking] == ["faq", "ask_how_it_works"]
    assert gated("affirm", 0.7)["intent"]["name"] == "affirm"
