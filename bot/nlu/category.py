"""Problem category and urgency, trained by `rasa train` from the report examples' metadata.

Each block of `report_problem` examples in the NLU data carries `metadata: {category: …,
urgency: …}`; this component learns both and adds to every parse:
`category`, `category_ranking`, `urgency`, `urgency_ranking` and the `script` the resident wrote in.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

import joblib
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.classifier.model import Ranked, TextClassifier
from bot.classifier.urgency_rules import emergency_kind, rule_urgency
from bot.textnorm import detect_script

logger = logging.getLogger(__name__)

MODEL_FILE = "category_urgency.joblib"


def example_labels(message: Message, default_urgency: str = "normal") -> Dict[str, Optional[str]]:
    metadata = message.get("metadata") or {}
    merged = {**(metadata.get("intent") or {}), **(metadata.get("example") or {})}
    return {"category": merged.get("category"), "urgency": merged.get("urgency", default_urgency)}


def combine_urgency(text: str, ranking: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The model's urgency, raised (never lowered) by the danger patterns."""
    best = dict(ranking[0]) if ranking else {"name": "normal", "confidence": 0.0}
    ruled = rule_urgency(text)
    order = {"normal": 0, "hazard": 1, "emergency": 2}
    if ruled and order[ruled] > order.get(str(best["name"]), 0):
        combined = {"name": ruled, "confidence": 1.0, "source": "rule"}
    else:
        combined = {**best, "source": "model"}
    if combined["name"] == "emergency":
        combined["kind"] = emergency_kind(text)  # which advice to give; None: the model's own reading
    return combined


def _as_ranking(ranked: List[Ranked]) -> List[Dict[str, Any]]:
    """A classifier's ranking as the parse carries it."""
    return [{"name": r.label, "confidence": round(r.confidence, 4)} for r in ranked]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class CategoryUrgencyClassifier(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"report_intent": "report_problem", "ranking_length": 5}

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        category_model: Optional[TextClassifier] = None,
        urgency_model: Optional[TextClassifier] = None,
    ) -> None:
        self.config = config
        self._model_storage = model_storage
        self._resource = resource
        self.category_model = category_model
        self.urgency_model = urgency_model
        # Both are trained on the same report examples: the message's features are worked out once.
        self._same_features = bool(category_model and urgency_model and category_model.reads_as(urgency_model))

    @classmethod
    def create(cls, config, model_storage, resource, execution_context: ExecutionContext):
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        texts: List[str] = []
        categories: List[str] = []
        urgencies: List[str] = []
        for example in training_data.intent_examples:
            if example.get(INTENT) != self.config["report_intent"]:
                continue
            labels = example_labels(example)
            if labels["category"]:
                texts.append(example.get(TEXT) or "")
                categories.append(str(labels["category"]))
                urgencies.append(str(labels["urgency"]))
        if len(set(categories)) < 2:
            logger.warning("No labelled report examples: category classification is off.")
        else:
            self.category_model = TextClassifier().fit(texts, categories)
            if len(set(urgencies)) > 1:
                self.urgency_model = TextClassifier().fit(texts, urgencies)
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump({"category": self.category_model, "urgency": self.urgency_model}, directory / MODEL_FILE)
        return self._resource

    @classmethod
    def load(cls, config, model_storage, resource, execution_context, **kwargs):
        try:
            with model_storage.read_from(resource) as directory:
                models = joblib.load(directory / MODEL_FILE)
        except (ValueError, FileNotFoundError):
            logger.warning("CategoryUrgencyClassifier has no trained model; it will add nothing.")
            models = {}
        return cls(config, model_storage, resource, models.get("category"), models.get("urgency"))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        limit = self.config["ranking_length"]
        for message in messages:
            text = message.get(TEXT) or ""
            message.set("script", detect_script(text), add_to_output=True)
            if self.category_model is None or not text.strip() or text.startswith("/"):
                continue
            features = self.category_model.features([text])
            ranked = self.category_model.rank_features(features)[0]
            ranking = _as_ranking(ranked)
            message.set("category", ranking[0], add_to_output=True)
            message.set("category_ranking", ranking[:limit], add_to_output=True)
            urgency_ranking = []
            if self.urgency_model:
                read = features if self._same_features else self.urgency_model.features([text])
                urgency_ranking = _as_ranking(self.urgency_model.rank_features(read)[0])
            message.set("urgency", combine_urgency(text, urgency_ranking), add_to_output=True)
            message.set("urgency_ranking", urgency_ranking, add_to_output=True)
        return messages
