"""Validation of what the resident gives the report and status forms."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict

from bot import limits, places, taxonomy
from bot.actions.place import position_slots
from bot.actions.report import ANONYMOUS, NO_DETAIL, PHOTO_ONLY, announce_category
from bot.actions.understanding import (
    category_slots,
    description_of,
    emergency_advice,
    entity_value,
    in_script,
    was_cut,
)
from bot.classifier.intent_signals import describes_problem
from bot.parsing import PHOTO_PATH, find_last4, find_phone, mask_phone, merge_location
from bot.textnorm import clean_user_text, meaningful, normalize

_ORDINALS = {"1": 0, "一": 0, "2": 1, "二": 1, "两": 1, "3": 2, "三": 2, "4": 3, "四": 3}
_ORDINAL = re.compile(r"^(?:第|选)?\s*([1-4一二两三四])\s*(?:个|项|类)?$")


def previous_value(tracker: Tracker, slot: str) -> Optional[Any]:
    """The slot's value before the latest user message changed it."""
    events = tracker.events
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=len(events))
    for event in reversed(events[:last_user]):
        if event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None


_AROUND = re.compile(
    r"(就在|在|是|我家|我们家|那个|这个|的|门口|旁边|附近|对面|楼下|楼上|后面|前面|里面|外面|"
    r"这里|那里|这边|那边|路口|拐角|一带|[上里边内外]|[\s，。,.!！、])"
)


def only_a_location(message: Dict[str, Any], text: str) -> bool:
    """The message names a place and nothing else ("人民路88号门口", "就在3栋楼下")."""
    location = entity_value(message, "location")
    if not location or location not in text:
        return False
    return not _AROUND.sub("", normalize(text.replace(location, "", 1)))


def match_category(text: str, candidates: List[str]) -> Optional[str]:
    """A category chosen by its position among the offered ones, its id or its name."""
    tax = taxonomy.load()
    if text in tax.categories:
        return text
    norm = re.sub(r"[\s，。,.!！]", "", normalize(text))
    ordinal = _ORDINAL.match(norm)
    offered = list(candidates) + (["other"] if "other" not in candidates else [])
    if ordinal and _ORDINALS[ordinal.group(1)] < len(offered):
        return offered[_ORDINALS[ordinal.group(1)]]
    for cat in tax.categories.values():
        name = normalize(cat.name)
        parts = re.split(r"[与和及]", name)
        if name in norm or any(len(p) >= 2 and p in norm for p in parts):
            return cat.id
    return None


class ValidateReportForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_report_form"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        needed = list(domain_slots)
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent == "share_location" and "location" in needed:
            # the device's position fills the hint (extract_location_hint); only in this turn, and after
            # the location itself, so that it is never asked for
            needed.insert(needed.index("location") + 1, "location_hint")
        # Still needed while it is being asked: the answer just extracted must be validated too (without
        # this the answer was extracted, never validated, and the form asked for it again and again).
        if tracker.get_slot("problem_description") and tracker.get_slot("requested_slot") != "problem_description":
            return needed
        return ["problem_description"] + needed

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Optional[EventType]:
        """The next slot the report needs, asked here when its question depends on the report so far
        (``ask_{slot}``): the validator has just read the answer, so one call to the action server does
        both, where an ``action_ask_{slot}`` would be a second. The domain has no such action, so the
        form asks nothing more; the other questions are responses the Rasa server utters itself."""
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        slot = next((s for s in required if tracker.slots.get(s) is None), None)
        ask = getattr(self, f"ask_{slot}", None) if slot else None
        if ask is not None:
            ask(dispatcher, tracker)
        return SlotSet(REQUESTED_SLOT, slot)

    def ask_category(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        """Offers the top few categories as buttons when the classifier is unsure."""
        tax = taxonomy.load()
        offered = [c for c in (tracker.get_slot("category_candidates") or []) if c in tax.categories and c != "other"]
        # Too few to choose among ("我要投诉" says little of what): the taxonomy's first categories too.
        if len(offered) < 2:
            offered += [c for c in tax.categories if c not in offered and c != "other"][: 4 - len(offered)]
        buttons = [
            {"title": in_script(tracker, tax.categories[c].name), "payload": f'/inform{{"category":"{c}"}}'}
            for c in offered + ["other"]
        ]
        dispatcher.utter_message(response="utter_ask_category_choice", buttons=buttons)

    def ask_location(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        """Where? — within the place already named ("在人民路的什么位置？"), or not again when the
        answer to a vague reply already asked it."""
        if tracker.get_slot("location_tries"):
            return  # the help just given ends with the question
        hint = tracker.get_slot("location_hint")
        if hint and places.has_name(hint):
            dispatcher.utter_message(response="utter_ask_location_within", place=hint)
        elif hint:
            dispatcher.utter_message(response="utter_ask_location_which_place", place=hint)
        else:
            dispatcher.utter_message(response="utter_ask_location")

    def ask_confirmed(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        """Shows the whole report once more before it is filed."""
        tax = taxonomy.load()
        category = tracker.get_slot("category") or "other"
        urgency = tracker.get_slot("urgency") or "normal"
        detail = tracker.get_slot("detail") or NO_DETAIL
        phone = tracker.get_slot("phone")
        dispatcher.utter_message(
            response="utter_report_summary",
            description=tracker.get_slot("problem_description") or "",
            category_name=tax.categories[category].name,
            department_name=tax.department_of(category).name,
            urgency_note="" if urgency == "normal" else f"，{tax.urgency_names[urgency]}",
            location=tracker.get_slot("location") or "",
            detail=detail,
            photo_note="（附照片）"
            if PHOTO_PATH.match(tracker.get_slot("photo_url") or "") and detail != PHOTO_ONLY
            else "",
            phone="不留（匿名）" if not phone or phone == ANONYMOUS else mask_phone(phone),
        )

    async def extract_problem_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != "problem_description":
            return {}
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent in ("stop", "check_status", "ask_capabilities", "greet", "start_report"):
            return {}
        return {"problem_description": tracker.latest_message.get("text")}

    def validate_problem_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {"problem_description": None}
        if not meaningful(value) or str(value).startswith("/"):
            dispatcher.utter_message(response="utter_ask_problem_description")
            return {"problem_description": None}
        if was_cut(tracker.latest_message, value):
            dispatcher.utter_message(response="utter_message_too_long", limit=limits.DESCRIPTION)
        slots: Dict[str, Any] = {"problem_description": description_of(value)}
        if not tracker.get_slot("category"):
            understood = category_slots(tracker.latest_message)
            slots.update(understood)
            if understood["urgency"] == "emergency":
                emergency_advice(dispatcher, tracker.latest_message)
            if understood["category"]:
                announce_category(dispatcher, understood["category"], understood["urgency"])
        return slots

    def validate_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {"category": None}
        chosen = match_category(str(value or ""), tracker.get_slot("category_candidates") or [])
        if chosen is None and describes_problem(str(value or "")):
            # "其实是垃圾没人收" — a description again: classified; "这附近" is not a category at all
            chosen = category_slots(tracker.latest_message)["category"]
        if chosen is None:
            dispatcher.utter_message(response="utter_category_not_recognised")
            return {"category": None}
        if tracker.get_slot("requested_slot") == "category":  # an answer to our question: say what we took
            announce_category(dispatcher, chosen, tracker.get_slot("urgency") or "normal")
        return {"category": chosen}

    def validate_location(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {"location": None}
        if str(value).startswith("/"):  # a button or photo payload is not an address
            return {"location": previous_value(tracker, "location")}
        text = clean_user_text(value, limits.MESSAGE)
        if not meaningful(text):
            dispatcher.utter_message(response="utter_location_too_vague")
            return {"location": None}
        previous = previous_value(tracker, "location")
        asked = tracker.get_slot("requested_slot") == "location"
        if asked:
            return self._answer_to_where(text, dispatcher, tracker)
        if only_a_location(tracker.latest_message, tracker.latest_message.get("text") or ""):
            text = clean_user_text(tracker.latest_message.get("text"), limits.MESSAGE)  # keep "门口", "楼下"…
        if not previous and not places.is_complete(text):
            # "人民路", "3栋2单元" said in passing: kept to ask where in it, not taken for the place
            return {"location": None, "location_hint": text}
        merged = merge_location(previous, text) if previous else text
        if len(merged) > limits.LOCATION:
            dispatcher.utter_message(response="utter_location_too_long", limit=limits.LOCATION)
            return {"location": previous}
        if previous and merged != previous:
            dispatcher.utter_message(response="utter_location_updated", location=merged)
        return {"location": merged, "location_hint": None}

    # After this many answers that only point at a place, what the resident said is taken as it is
    # (the ticket is flagged for the dispatcher: its place is not in the gazetteer).
    VAGUE_ANSWERS_BEFORE_TAKING = 2

    def _answer_to_where(self, text: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
        """The answer to "where?": the whole answer is the place, within the place already named
        ("人民路" + "88号门口"); an answer that only points ("我们小区", "楼下") or cannot tell
        ("说不清楚") gets help in finding words for it, and the report goes on."""
        hint = tracker.get_slot("location_hint")
        tries = int(tracker.get_slot("location_tries") or 0)
        kind = places.vagueness(text)
        if hint and normalize(hint) not in normalize(text):
            if places.has_name(hint) and not places.has_name(text):  # "人民路" + "88号门口"
                text, kind = (hint if kind == "dont_know" else f"{hint}{text}"), None
            elif not places.has_name(hint) and places.has_name(text) and not places.has_spot(text):
                text = f"{text}{hint}"  # "3栋2单元" + "幸福小区"
            elif kind == "dont_know" and tries >= 1:
                text, kind = hint, None  # the part already given is better than nothing
        if kind and tries < self.VAGUE_ANSWERS_BEFORE_TAKING:
            response = "utter_location_dont_know" if kind == "dont_know" else "utter_location_vague"
            dispatcher.utter_message(response=response, answer=text)
            return {"location": None, "location_tries": tries + 1}
        if len(text) > limits.LOCATION:
            dispatcher.utter_message(response="utter_location_too_long", limit=limits.LOCATION)
            return {"location": None}
        if kind:
            dispatcher.utter_message(response="utter_location_taken_as_said", location=text)
        return {"location": text, "location_hint": None, "location_tries": None}

    async def extract_location_hint(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """The device's position ("用当前位置"): the nearest place the gazetteer knows is named and
        the resident is asked where in it — their answer, and the summary, confirm it."""
        message = tracker.latest_message or {}
        if (message.get("intent") or {}).get("name") != "share_location":
            return {}
        latitude, longitude = entity_value(message, "latitude"), entity_value(message, "longitude")
        return position_slots(latitude, longitude, dispatcher, tracker)

    def validate_detail(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {"detail": None}
        if PHOTO_PATH.match(str(value)):
            dispatcher.utter_message(response="utter_photo_received")
            return {"detail": PHOTO_ONLY}
        if str(value).startswith("/"):  # a payload that is not one of our photos
            dispatcher.utter_message(response="utter_photo_refused")
            return {"detail": None, "photo_url": None}
        text = clean_user_text(value, limits.MESSAGE)
        if len(text) > limits.DETAIL:
            dispatcher.utter_message(response="utter_detail_cut", limit=limits.DETAIL)
            text = text[: limits.DETAIL]
        if only_a_location(tracker.latest_message, text):
            # "幸福小区3栋" answered to "anything to add?" updates the location, adds no detail
            return {"detail": None}
        return {"detail": text if meaningful(text) else NO_DETAIL}

    def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {"phone": None}
        if value == ANONYMOUS:
            dispatcher.utter_message(response="utter_phone_anonymous")
            return {"phone": ANONYMOUS}
        found = find_phone(str(value or ""))
        if found is None:
            dispatcher.utter_message(response="utter_phone_invalid")
            return {"phone": None}
        return {"phone": found.value}

    def validate_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {"confirmed": None}
        if value is True:
            return {"confirmed": True}
        corrected = set(tracker.slots_to_validate()) & {"location", "phone", "category", "detail"}
        if not corrected:
            dispatcher.utter_message(response="utter_what_to_change")
        return {"confirmed": None}


class ValidateStatusForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_status_form"

    def validate_status_phone_last4(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {"status_phone_last4": None}
        digits = find_last4(str(value or ""))
        if digits is None:
            dispatcher.utter_message(response="utter_status_last4_invalid")
            return {"status_phone_last4": None}
        return {"status_phone_last4": digits}
