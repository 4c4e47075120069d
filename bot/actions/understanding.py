"""What the NLU pipeline understood of the resident's latest message, as slot values."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker

from bot import limits, settings, taxonomy
from bot.channels import CUT_FROM_KEY
from bot.classifier.urgency_rules import EMERGENCY_KINDS
from bot.textnorm import TRADITIONAL, clean_user_text, script_of, to_traditional


def confident_enough(ranking: List[Dict[str, Any]]) -> bool:
    """State the category when the model is clearly sure; otherwise ask among the top few."""
    if not ranking:
        return False
    threshold = settings.load().category_confidence
    top = ranking[0]["confidence"]
    second = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
    return top >= threshold and top - second >= 0.15


def category_slots(message: Dict[str, Any]) -> Dict[str, Any]:
    """Category, its confidence, the candidates to offer and the urgency of a report message."""
    ranking = message.get("category_ranking") or []
    urgency = (message.get("urgency") or {}).get("name", "normal")
    known = taxonomy.load().categories
    ranking = [r for r in ranking if r["name"] in known]
    slots: Dict[str, Any] = {
        "urgency": urgency,
        "category": None,
        "category_confidence": None,
        "category_candidates": [r["name"] for r in ranking[:3]],
    }
    if ranking:
        slots["category_confidence"] = ranking[0]["confidence"]
        if confident_enough(ranking):
            slots["category"] = ranking[0]["name"]
    return slots


def emergency_response(message: Dict[str, Any]) -> str:
    """The advice for the emergency the message describes: fire, gas, someone trapped in a lift,
    an injury, a crime, a collapse; general advice when only the model called it an emergency."""
    kind = (message.get("urgency") or {}).get("kind")
    return f"utter_emergency_{kind}" if kind in EMERGENCY_KINDS else "utter_emergency"


def emergency_advice(dispatcher: Any, message: Dict[str, Any]) -> None:
    response = emergency_response(message)
    if response == "utter_emergency_gas":
        line = settings.load().gas_emergency_line
        gas_line = f"燃气公司抢修电话 {line}" if line else "燃气公司的抢修电话（燃气表或缴费单上有）；情况严重请拨 119"
        dispatcher.utter_message(response=response, gas_line=gas_line)
    else:
        dispatcher.utter_message(response=response)


def entity_value(message: Dict[str, Any], entity: str) -> Optional[str]:
    for found in message.get("entities") or []:
        if found.get("entity") == entity:
            return found.get("value")
    return None


def description_of(text: Optional[str]) -> str:
    return clean_user_text(text, limits.DESCRIPTION)


def was_cut(message: Dict[str, Any], text: Optional[str] = None) -> bool:
    """The resident wrote more than is kept: the channel cut the message, or it is longer than a
    description may be."""
    metadata = message.get("metadata") or {}
    return (
        bool(metadata.get(CUT_FROM_KEY))
        or len((text if text is not None else message.get("text") or "").strip()) > limits.DESCRIPTION
    )


def wants_traditional(tracker: Tracker) -> bool:
    texts = (e.get("text") for e in reversed(tracker.events) if e.get("event") == "user")
    return script_of(texts) == TRADITIONAL


def in_script(tracker: Tracker, text: str) -> str:
    """For text the NLG does not see (button titles added by an action)."""
    return to_traditional(text) if wants_traditional(tracker) else text
