"""Entities read by patterns rather than learned: phone numbers, ticket numbers, locations."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot import parsing, settings


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class PatternEntityExtractor(GraphComponent, EntityExtractorMixin):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"ticket_prefix": None}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.prefix = config.get("ticket_prefix") or settings.load().ticket_prefix

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "PatternEntityExtractor":
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):
                continue  # an intent given directly, e.g. a button payload
            found = [
                {
                    "entity": entity,
                    "value": span.value,
                    "start": span.start,
                    "end": span.end,
                    "confidence_entity": 1.0,
                    "extractor": self.__class__.__name__,
                }
                for entity, span in parsing.spans(text, self.prefix)
            ]
            if found:
                message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages
