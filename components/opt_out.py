"""NLU component that recognises LGPD opt-out requests by keyword.

An opt-out must be honoured every time, whatever the classifier thinks of a
one-word "SAIR" or "pare"; so a strict keyword match overrides the predicted
intent with `opt_out` at full confidence. It runs after the intent classifier
and before the FallbackClassifier.
"""
from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from sdr.parsing import is_opt_out

OPT_OUT_INTENT = "opt_out"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class OptOutKeywordClassifier(GraphComponent):
    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> OptOutKeywordClassifier:
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if is_opt_out(message.get(TEXT) or ""):
                mark_opt_out(message)
        return messages


def mark_opt_out(message: Message) -> None:
    prediction = {INTENT_NAME_KEY: OPT_OUT_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
    ranking = [
        entry
        for entry in message.get(INTENT_RANKING_KEY) or []
        if entry.get(INTENT_NAME_KEY) != OPT_OUT_INTENT
    ]
    message.set(INTENT, prediction, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [prediction] + ranking, add_to_output=True)
