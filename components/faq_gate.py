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
  DIET gives them to questions in a formal register ("Precisa fazer manutenção nos painéis?");
- the intents of the conversation's other turns (a person, a meeting, greetings, yes/no) when the
  message is a question *and* the topic leads by the stricter ``min_margin_asked``: DIET, never
  taught the knowledge base, spreads its questions over them too ("o inversor manda os dados pra
  algum app?" read as request_human, "vou ter q trocar o medidor de luz?" as reschedule_meeting).

An answer to a form ("Rua das Flores, 120", "meu nome é Ana", "pode ser terça") is never taken for
a question.

An opt-out never changes (honoured at once), nor anything else DIET reads outside these lists:
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

__all__ = ["FaqGate", "OTHER_TURNS", "YIELDING_INTENTS", "YIELDING_WHEN_ASKED", "is_faq"]

NLU_FALLBACK = "nlu_fallback"
# Intents a knowledge-base question may have been mistaken for (see the module docstring).
YIELDING_INTENTS = frozenset(ANSWER_RESPONSES) | {NLU_FALLBACK}
# ... these only when the message is a question,
YIELDING_WHEN_ASKED = frozenset({"express_interest", "inform"})
# ... and these when it is a question whose topic leads by min_margin_asked.
OTHER_TURNS = frozenset({
    "request_human", "schedule_meeting", "reschedule_meeting", "cancel_meeting",
    "greet", "goodbye", "thanks", "affirm", "deny",
})


def is_faq(intent: Optional[str], margin: Optional[float], min_margin: float, text: str = "",
           min_margin_asked: Optional[float] = None, yielding: Iterable[str] = YIELDING_INTENTS) -> bool:
    """Whether DIET's `intent` yields to the knowledge base's best topic, `margin` ahead of every
    other intent (min_margin_asked defaults to min_margin)."""
    if margin is None:
        return False
    if intent is None or intent in set(yielding):
        return margin >= min_margin
    if not is_question(text):
        return False
    if intent in YIELDING_WHEN_ASKED:
        return margin >= min_margin
    asked = min_margin if min_margin_asked is None else min_margin_asked
    return intent in OTHER_TURNS and margin >= asked


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class FaqGate(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        # How far the best topic must lead every other intent, in probability (chosen on the
        # validation questions: python -m scripts.faq_eval --validation --sweep).
        return {"min_margin": 0.3, "min_margin_asked": 0.6}

    def __init__(self, config: Mapping[str, Any]) -> None:
        settings = {**self.get_default_config(), **config}
        self.min_margin = float(settings["min_margin"])
        self.min_margin_asked = float(settings["min_margin_asked"])

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> FaqGate:
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            margin = message.get(FAQ_MARGIN)
            if is_faq(intent, margin, self.min_margin, message.get(TEXT) or "", self.min_margin_asked):
                selected = faq_selection(message.data).get("response") or {}
                mark_faq(message, float(selected.get("confidence") or 0.0))
        return messages


def mark_faq(message: Message, confidence: float) -> None:
    prediction: Dict[str, Any] = {INTENT_NAME_KEY: FAQ_INTENT, PREDICTED_CONFIDENCE_KEY: confidence}
    ranking = [entry for entry in message.get(INTENT_RANKING_KEY) or []
               if entry.get(INTENT_NAME_KEY) != FAQ_INTENT]
    message.set(INTENT, prediction, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [prediction] + ranking, add_to_output=True)
