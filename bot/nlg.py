"""Responses in the resident's script: the domain's Simplified responses are turned into
Traditional for a resident who writes Traditional (endpoints.yml: `nlg: type: bot.nlg.ScriptAwareNLG`)."""

from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.textnorm import TRADITIONAL, script_of, to_traditional


def convert_message(message: Dict[str, Any]) -> Dict[str, Any]:
    converted = dict(message)
    if converted.get("text"):
        converted["text"] = to_traditional(converted["text"])
    if converted.get("buttons"):
        converted["buttons"] = [{**b, "title": to_traditional(b.get("title", ""))} for b in converted["buttons"]]
    return converted


class ScriptAwareNLG(TemplatedNaturalLanguageGenerator):
    def __init__(self, endpoint_config=None, domain=None, **_: Any) -> None:
        super().__init__(domain.responses if domain else {})

    async def generate(
        self, utter_action: Text, tracker: DialogueStateTracker, output_channel: Text, **kwargs: Any
    ) -> Optional[Dict[Text, Any]]:
        message = await super().generate(utter_action, tracker, output_channel, **kwargs)
        if message and self._wants_traditional(tracker):
            message = convert_message(message)
        return message

    @staticmethod
    def _wants_traditional(tracker: DialogueStateTracker) -> bool:
        texts = (e.text for e in reversed(tracker.events) if isinstance(e, UserUttered))
        return script_of(texts) == TRADITIONAL
