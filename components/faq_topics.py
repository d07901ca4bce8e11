"""NLU component that picks the knowledge-base topic of a question (``faq/<topic>``).

The knowledge base is written the Rasa way: a retrieval intent ``faq/<topic>`` per topic in the NLU
data (``data/faq/nlu.yml``) and its answer ``utter_faq/<topic>`` (``data/faq/responses.yml``). Two
things made Rasa's own ResponseSelector the wrong tool for 100+ topics of ~10 phrasings each
(measured in issue 20): its topic choice was right 77% of the time on the held-out questions, and
DIET, taught the extra ``faq`` class, started taking the contract's intents for it (held-out intent
macro-F1 0.920 → 0.826) while training grew from 4 to 13 minutes.

So this component, placed *before* DIETClassifier:

- trains one linear classifier (TF-IDF of word and character n-grams, a linear SVM with calibrated
  probabilities; seconds to train) over every example, labelled with its intent or its
  ``faq/<topic>``: the topics compete with the contract's intents, not only among themselves;
- hands DIET the training data *without* the knowledge-base examples, so the contract's intents
  keep the classifier they were measured with;
- at run time writes the ranking in Rasa's ResponseSelector output format
  (``response_selector.faq``: the top topic, its confidence and its answer text) plus how far the
  best topic leads the best of the other intents (``faq_margin``, in probability: above 0 the
  message reads more like that topic than like anything else the assistant knows).

``components.faq_gate.FaqGate``, after DIET, decides whether the message *is* the ``faq`` intent.
It is registered as a featurizer only because Rasa's recipe hands the output of a featurizer's
``process_training_data`` to the components after it, which is how DIET gets the data without the
knowledge base.
"""
from __future__ import annotations

import logging
import unicodedata
from collections import Counter
from typing import Any, Dict, List, Optional, Tuple

import joblib
import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline, make_pipeline, make_union
from sklearn.svm import LinearSVC

from sdr.faq import FAQ_INTENT, RESPONSE_SELECTOR

__all__ = ["FAQ_MARGIN", "FaqTopicClassifier", "faq_margin", "normalise", "selector_output"]

logger = logging.getLogger(__name__)

FAQ_MARGIN = "faq_margin"  # message property: P(best topic) - P(best other intent)
MODEL_FILE = "faq_topics.joblib"


def normalise(text: str) -> str:
    """Lower case without accents: "Garantia" and "garântia" are the same word to a lead."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def build_pipeline(config: Dict[str, Any]) -> Pipeline:
    features = make_union(
        TfidfVectorizer(preprocessor=normalise, analyzer="char_wb", sublinear_tf=True,
                        ngram_range=(config["char_min_ngram"], config["char_max_ngram"])),
        TfidfVectorizer(preprocessor=normalise, sublinear_tf=True,
                        ngram_range=(1, config["word_max_ngram"])),
    )
    # Calibration turns the SVM's margins into probabilities the gate and FAQ_MIN_CONFIDENCE can
    # threshold; 3 folds because the thinnest topics have only a handful of phrasings. One SVM
    # trained on everything (ensemble=False), not one per fold: a third of the model's size.
    svm = LinearSVC(C=config["C"], random_state=config["random_seed"])
    return make_pipeline(features, CalibratedClassifierCV(svm, cv=config["calibration_folds"], ensemble=False))


def label_of(example: Message) -> Optional[str]:
    """faq/<topic> for a knowledge-base example, the intent for the others."""
    if example.get(INTENT) == FAQ_INTENT:
        return example.get(INTENT_RESPONSE_KEY)
    return example.get(INTENT)


def padded(examples: List[Tuple[str, str]], minimum: int) -> Tuple[List[str], List[str]]:
    """Texts and labels, a label with fewer than `minimum` examples repeated up to it: calibration
    needs each label in every fold, and an operator's new topic starts with one question."""
    counts = Counter(label for _, label in examples)
    texts, labels = [], []
    for text, label in examples:
        copies = 1 if counts[label] >= minimum else -(-minimum // counts[label])
        texts += [text] * copies
        labels += [label] * copies
    return texts, labels


def faq_margin(labels: List[str], probabilities: np.ndarray) -> float:
    """How far the best knowledge-base topic leads the best other intent (a summed "any topic"
    probability would not do: a hundred topics sharing a little each outweigh one clear intent)."""
    is_faq = np.array([label.startswith(f"{FAQ_INTENT}/") for label in labels])
    if not is_faq.any():
        return -1.0
    best_other = float(probabilities[~is_faq].max()) if (~is_faq).any() else 0.0
    return float(probabilities[is_faq].max()) - best_other


def selector_output(labels: List[str], probabilities: np.ndarray, responses: Dict[str, List[Dict[str, Any]]],
                    ranking_length: int) -> Dict[str, Any]:
    """Rasa's ResponseSelector output for one message (``response_selector`` key), topics only."""
    faq_labels = [(float(p), label) for label, p in zip(labels, probabilities) if label.startswith(f"{FAQ_INTENT}/")]
    total = sum(p for p, _ in faq_labels)
    ranked = sorted(faq_labels, reverse=True)[:ranking_length]
    # Confidence of a topic *among the topics*: whether the message is a knowledge-base question
    # at all is faq_margin's job.
    ranking = [{"id": hash(label) & 0xFFFFFFFF, "confidence": p / total if total else 0.0,
                "intent_response_key": label} for p, label in ranked]
    top = ranking[0] if ranking else {"confidence": 0.0, "intent_response_key": None}
    key = top["intent_response_key"]
    return {
        "all_retrieval_intents": [FAQ_INTENT],
        FAQ_INTENT: {
            "response": {
                "id": top.get("id"),
                "responses": responses.get(f"utter_{key}", []) if key else [],
                "response_templates": responses.get(f"utter_{key}", []) if key else [],
                "confidence": top["confidence"],
                "intent_response_key": key,
                "utter_action": f"utter_{key}" if key else None,
                "template_name": f"utter_{key}" if key else None,
            },
            "ranking": ranking,
        },
    }


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class FaqTopicClassifier(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            "C": 1.0,
            "char_min_ngram": 2,
            "char_max_ngram": 5,
            "word_max_ngram": 2,
            "calibration_folds": 3,
            "ranking_length": 5,
            "random_seed": 42,
        }

    def __init__(self, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 model: Optional[Dict[str, Any]] = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self.model_storage = model_storage
        self.resource = resource
        self.model = model

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> FaqTopicClassifier:
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> FaqTopicClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                model = joblib.load(directory / MODEL_FILE)
        except (ValueError, FileNotFoundError):
            logger.debug("faq_topics: no trained model in %s", resource.name)
            model = None
        return cls(config, model_storage, resource, model)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [(e.get(TEXT), label) for e in training_data.intent_examples
                    if e.get(TEXT) and (label := label_of(e))]
        if not any(label.startswith(f"{FAQ_INTENT}/") for _, label in examples):
            logger.info("faq_topics: no knowledge-base examples, nothing to train")
            return self.resource
        texts, labels = padded(examples, self.config["calibration_folds"])
        pipeline = build_pipeline(self.config)
        pipeline.fit(texts, np.array(labels))  # a list trips the calibration's class count
        responses = {name: list(variants) for name, variants in training_data.responses.items()
                     if name.startswith(f"utter_{FAQ_INTENT}/")}
        self.model = {"pipeline": pipeline, "labels": list(pipeline.classes_), "responses": responses}
        with self.model_storage.write_to(self.resource) as directory:
            joblib.dump(self.model, directory / MODEL_FILE)
        return self.resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """The data for the components after this one, without the knowledge-base examples."""
        return training_data.filter_training_examples(lambda example: example.get(INTENT) != FAQ_INTENT)

    def process(self, messages: List[Message]) -> List[Message]:
        if not self.model:
            return messages
        texts = [m.get(TEXT) or "" for m in messages]
        probabilities = self.model["pipeline"].predict_proba(texts)
        labels: List[str] = self.model["labels"]
        for message, row in zip(messages, probabilities):
            if not message.get(TEXT):
                continue
            message.set(RESPONSE_SELECTOR, selector_output(labels, row, self.model["responses"],
                                                           self.config["ranking_length"]), add_to_output=True)
            message.set(FAQ_MARGIN, faq_margin(labels, row), add_to_output=True)
        return messages
