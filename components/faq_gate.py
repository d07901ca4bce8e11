"""NLU component that decides whether a message is a knowledge-base question (intent ``faq``).

``components.faq_topics.FaqTopicClassifier`` ran before DIET and left how far its best topic leads
every other intent (``faq_margin``). Here, after DIET, the opt-out keywords and the
FallbackClassifier, the message becomes ``faq`` when the topic leads by ``min_margin`` *and* DIET's
intent is one that would only have been a guess at the question:

- one of the contract's answer intents (price, savings, how it works…): DIET has no other choice
  for "qual a garantia do inversor?" than the nearest of them, which is the wrong-topic answer
  leads noticed most;
- ``out_of_scope`` or ``nlu_fallback``;
- ``express_interest`` or ``inform`` when the message is a question (it has a "?"):
  DIET gives them to questions in a formal register ("Precisa fazer manutenção nos painéis?"); an
  answer to a form ("Rua das Flores, 120", "meu nome é Ana") is never taken for a question.

A message DIET reads as something else (yes, no, opt-out, a person, a meeting) keeps its intent:
the form and the contract come first. Whether the assistant then answers the topic or defers is
actions/faq.py's decision (FAQ_MIN_CONFIDENCE).
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.faq_topics import FAQ_MARGIN
from sdr.dialogue import ANSWER_RESPONSES
from sdr.faq import FAQ_INTENT, faq_selection
from sdr.parsing.chat_text import is_question

__all__ = ["FaqGate", "is_faq"]

NLU_FALLBACK = "nlu_fallback"
# Intents a knowledge-base question may have been mistaken for (see the module docstring).
YIELDING_INTENTS = frozenset(ANSWER_RESPONSES) | {NLU_FALLBACK}
# ... and these only when the message is a question.
YIELDING_WHEN_ASKED = frozenset({"express_interest", "inform"})


def is_faq(intent: Optional[str], margin: Optional[float], min_margin: float, text: str = "",
           yielding: Iterable[str] = YIELDING_INTENTS) -> bool:
    if margin is None or margin < min_margin:
        return False
    return intent is None or intent in set(yielding) or (intent in YIELDING_WHEN_ASKED and is_question(text))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class FaqGate(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        # The best topic leads every other intent by 0.3 in probability (chosen on the validation
        # questions: python -m scripts.faq_eval --validation --sweep).
        return {"min_margin": 0.3}

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.min_margin = float({**self.get_default_config(), **config}["min_margin"])

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> FaqGate:
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            margin = message.get(FAQ_MARGIN)
            if is_faq(intent, margin, self.min_margin, message.get(TEXT) or ""):
                selected = faq_selection(message.data).get("response") or {}
                mark_faq(message, float(selected.get("confidence") or 0.0))
        return messages


def mark_faq(message: Message, confidence: float) -> None:
    prediction: Dict[str, Any] = {INTENT_NAME_KEY: FAQ_INTENT, PREDICTED_CONFIDENCE_KEY: confidence}
    ranking = [entry for entry in message.get(INTENT_RANKING_KEY) or []
               if entry.get(INTENT_NAME_KEY) != FAQ_INTENT]
    message.set(INTENT, prediction, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [prediction] + ranking, add_to_output=True)
