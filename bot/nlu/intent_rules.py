"""Two readings that must not depend on how DIET weighs a sentence it has not seen.

* A refusal is a refusal, whatever else the sentence mentions: "不报了，我自己去找物业吧" names
  物业 but asks for nothing to be filed, so it is `stop`.
* A message that describes a problem is a report, whatever else it resembles: "人民路上的路灯不亮"
  names a road (DIET leans to `inform`), "我们这条街的路灯一到晚上就灭" begins like a greeting.
  When DIET's reading is one of those that never starts a report (fallback, greeting, a bare place,
  chit-chat, a status question without a word of status, a bare wish to report) and the message
  says something is wrong, it is read as `report_problem`.

* A message DIET finds unclear, or reads as a bare yes or no, that names a place or a phone number
  ("不對，是8棟", "红星小区") is an answer (`inform`), not noise.
* DIET's `stop` without any words of refusal, on a message that describes a problem ("小区停水两天了"),
  is a report.

The component runs last in the pipeline; what it changed is in the parse as `intent_rule`.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.classifier.intent_signals import corrected_intent


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class IntentRules(GraphComponent):
    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "IntentRules":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = (message.get(INTENT) or {}).get("name")
            names = [e.get("entity") for e in message.get(ENTITIES) or []]
            corrected = corrected_intent(message.get(TEXT) or "", intent, names)
            if corrected is None:
                continue
            chosen = {"name": corrected, "confidence": 1.0}
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != corrected]
            message.set(INTENT, chosen, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [chosen] + ranking, add_to_output=True)
            message.set("intent_rule", {"from": intent, "to": corrected}, add_to_output=True)
        return messages
