"""Starting, submitting and cancelling a problem report (the form's questions are asked by its validator)."""

from __future__ import annotations

import logging
import uuid
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import limits, places, taxonomy
from bot.actions import backend, duplicates
from bot.actions.place import position_slots
from bot.actions.survey import resume_waiting_survey
from bot.actions.understanding import (
    category_slots,
    description_of,
    emergency_advice,
    entity_value,
    was_cut,
)
from bot.parsing import PHOTO_PATH, find_phone
from bot.store.tickets import InvalidReport, NewReport
from bot.textnorm import detect_script, meaningful

logger = logging.getLogger(__name__)

REPORT_SLOTS = (
    "report_id",
    "problem_description",
    "category",
    "category_candidates",
    "category_confidence",
    "urgency",
    "location",
    "location_hint",
    "location_tries",
    "detail",
    "photo_url",
    "phone",
    "confirmed",
    "latitude",
    "longitude",
    *duplicates.DUPLICATE_SLOTS,
)
ANONYMOUS = "anonymous"
NO_DETAIL = "无"
PHOTO_ONLY = "见照片"


def announce_category(dispatcher: CollectingDispatcher, category_id: str, urgency: str) -> None:
    tax = taxonomy.load()
    dispatcher.utter_message(
        response="utter_category_understood",
        category_name=tax.categories[category_id].name,
        department_name=tax.department_of(category_id).name,
    )
    if urgency == "hazard":
        dispatcher.utter_message(
            response="utter_category_hazard", deadline_days=tax.deadline_days(category_id, urgency)
        )


class ActionStartReport(Action):
    """Takes in a freshly described problem: what it is, how urgent, and any slots given with it.

    A place is taken from the message only when it is complete ("锦绣江南4栋门口"); a place that
    says where but not where in it ("人民路") is kept as a hint for the question. A photo or a place
    sent before any words (no report in progress) belongs to this report."""

    def name(self) -> Text:
        return "action_start_report"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        message = tracker.latest_message or {}
        raw = message.get("text") or ""
        described = (message.get("intent") or {}).get("name") == "report_problem"
        description = description_of(raw) if described and meaningful(raw) and not raw.startswith("/") else None
        understood = (
            category_slots(message)
            if description
            else {"urgency": "normal", "category": None, "category_confidence": None, "category_candidates": []}
        )
        if description and was_cut(message, raw):
            dispatcher.utter_message(response="utter_message_too_long", limit=limits.DESCRIPTION)
        if understood["urgency"] == "emergency":
            emergency_advice(dispatcher, message)
        if understood["category"]:
            announce_category(dispatcher, understood["category"], understood["urgency"])
        phone = entity_value(message, "phone")
        fresh = not tracker.get_slot("report_id")
        pending_photo = tracker.get_slot("photo_url") if fresh else None
        position = (tracker.get_slot("latitude"), tracker.get_slot("longitude")) if fresh else (None, None)
        place = entity_value(message, "location") or (tracker.get_slot("location_hint") if fresh else None)
        complete = bool(place) and places.is_complete(place)
        events = [SlotSet(slot, None) for slot in REPORT_SLOTS]
        events += [
            SlotSet("report_id", uuid.uuid4().hex),
            SlotSet("problem_description", description),
            SlotSet("location", place if complete else None),
            SlotSet("location_hint", None if complete else place),
            SlotSet("phone", phone),
        ]
        if pending_photo and PHOTO_PATH.match(pending_photo):
            events.append(SlotSet("photo_url", pending_photo))
        if position[0] is not None and position[1] is not None:
            events += [SlotSet("latitude", position[0]), SlotSet("longitude", position[1])]
        events += [SlotSet(k, v) for k, v in understood.items()]
        return events


class ActionBareAnswer(Action):
    """A photo or a place with nothing asked: kept for the report that follows, and the resident is
    asked what the problem is."""

    def name(self) -> Text:
        return "action_bare_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        message = tracker.latest_message or {}
        photo = entity_value(message, "photo_url")
        place = entity_value(message, "location")
        latitude, longitude = entity_value(message, "latitude"), entity_value(message, "longitude")
        if (message.get("intent") or {}).get("name") == "share_location" and latitude is not None:
            found = position_slots(latitude, longitude, dispatcher, tracker)
            dispatcher.utter_message(response="utter_ask_problem_after_place")
            return [SlotSet(k, v) for k, v in found.items()] + [SlotSet("report_id", None)]
        if photo and PHOTO_PATH.match(photo):
            dispatcher.utter_message(response="utter_photo_first")
            return [SlotSet("photo_url", photo), SlotSet("report_id", None)]
        if place:
            dispatcher.utter_message(response="utter_place_first", location=place)
            return [SlotSet("location_hint", place), SlotSet("location", None), SlotSet("report_id", None)]
        dispatcher.utter_message(response="utter_default")
        return []


def reset_report() -> List[Dict[str, Any]]:
    return [SlotSet(slot, None) for slot in REPORT_SLOTS]


class ActionSubmitReport(Action):
    """Files the confirmed report; the same report confirmed twice gives the same ticket."""

    def name(self) -> Text:
        return "action_submit_report"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        if not tracker.get_slot("confirmed") or not tracker.get_slot("report_id"):
            return []
        phone = tracker.get_slot("phone")
        phone_span = find_phone(phone) if phone and phone != ANONYMOUS else None
        detail = tracker.get_slot("detail")
        photo = tracker.get_slot("photo_url")
        description = tracker.get_slot("problem_description") or ""
        report = NewReport(
            submission_key=f"{tracker.sender_id}:{tracker.get_slot('report_id')}",
            conversation_id=tracker.sender_id,
            description=description,
            category_id=tracker.get_slot("category") or "other",
            category_confidence=tracker.get_slot("category_confidence"),
            urgency=tracker.get_slot("urgency") or "normal",
            location=tracker.get_slot("location"),
            detail=None if detail in (None, NO_DETAIL, PHOTO_ONLY) else detail,
            photo_url=photo if photo and PHOTO_PATH.match(photo) else None,
            phone=phone_span.value if phone_span else None,
            script=detect_script(description),
            channel=tracker.get_latest_input_channel() or "chat",
            latitude=tracker.get_slot("latitude"),
            longitude=tracker.get_slot("longitude"),
        )
        # The same problem at the same place, open and reported by someone else: ask first.
        matched, answer = tracker.get_slot("duplicate_of"), tracker.get_slot("duplicate_answer")
        if matched and answer == duplicates.SAME:
            followed = await backend.follow(matched, report)
            if followed is not None:
                number, department, deadline = followed
                dispatcher.utter_message(
                    response="utter_duplicate_followed",
                    ticket_number=number,
                    department_name=department,
                    deadline=deadline,
                )
                return reset_report() + await resume_waiting_survey(tracker)
            dispatcher.utter_message(response="utter_duplicate_gone", ticket_number=matched)
        elif not matched:
            found = await backend.find_duplicate(report)
            if found is not None:
                return duplicates.ask(found)
        # A store that cannot be reached raises: Rasa tells the resident to send "确认" again, and the
        # same report id gives the same ticket however often it is sent (bot/rasa_patches.py).
        try:
            number, department, deadline, created = await backend.submit(report)
        except InvalidReport as refused:
            logger.warning("report of %s refused by the store: %s", tracker.sender_id, refused)
            dispatcher.utter_message(response="utter_report_refused", reason=str(refused))
            return reset_report() + await resume_waiting_survey(tracker)
        dispatcher.utter_message(
            response="utter_ticket_created" if created else "utter_ticket_already_created",
            ticket_number=number,
            department_name=department,
            deadline=deadline,
        )
        return reset_report() + await resume_waiting_survey(tracker)


class ActionCancelReport(Action):
    def name(self) -> Text:
        return "action_cancel_report"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(response="utter_report_cancelled")
        return reset_report() + await resume_waiting_survey(tracker)
