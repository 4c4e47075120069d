"""The satisfaction survey in the chat: asked when a ticket is resolved (or reminded), answered by
button or in the resident's own words, set aside while another form runs and resumed after it."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import ratings
from bot.actions import backend
from bot.textnorm import clean_user_text, normalize

SURVEY_FORM = "survey_form"
NO_COMMENT = "无"
_NOTHING_MORE = re.compile(
    r"^(没有|没了|无|不用|没什么|没啥|就这样|没意见|没有意见|没有了)\W*(了|啦|吧)?\W*(谢谢|感谢|多谢)?\W*$"
)
ANSWER_SLOTS = ("survey_rating", "survey_comment")


def start_survey(number: str, waiting: List[str]) -> List[Dict[str, Any]]:
    return [
        SlotSet("survey_ticket", number),
        SlotSet("survey_rating", None),
        SlotSet("survey_comment", None),
        SlotSet("survey_waiting", waiting),
        FollowupAction(SURVEY_FORM),
    ]


async def resume_waiting_survey(tracker: Tracker) -> List[Dict[str, Any]]:
    """After another form ends: ask the next survey that waited for it, if still open."""
    waiting = [
        n for n in (tracker.get_slot("survey_waiting") or []) if await backend.survey_still_open(n, tracker.sender_id)
    ]
    if not waiting:
        return [SlotSet("survey_waiting", [])] if tracker.get_slot("survey_waiting") else []
    return start_survey(waiting[0], waiting[1:])


class ValidateSurveyForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_survey_form"

    async def validate_survey_rating(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {}
        rating = ratings.parse(clean_user_text(str(value), 500))
        if rating is None:
            dispatcher.utter_message(response="utter_survey_rating_unclear")
            return {"survey_rating": None}
        answer: Dict[Text, Any] = {"survey_rating": rating.label}
        if rating.comment:
            answer["survey_comment"] = rating.comment
        return answer

    async def validate_survey_comment(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {}
        text = clean_user_text(str(value), 500)
        if not text or _NOTHING_MORE.match(normalize(text)):
            return {"survey_comment": NO_COMMENT}
        return {"survey_comment": text}


class ActionSubmitSurvey(Action):
    def name(self) -> Text:
        return "action_submit_survey"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        number = tracker.get_slot("survey_ticket")
        level = ratings.level_of_label(tracker.get_slot("survey_rating") or "")
        comment: Optional[str] = tracker.get_slot("survey_comment")
        events = [SlotSet(slot, None) for slot in ANSWER_SLOTS] + [SlotSet("survey_ticket", None)]
        if not number or level is None:
            return events
        rating = ratings.Rating(level, None if comment in (None, NO_COMMENT) else comment)
        outcome, department = await backend.record_survey(number, tracker.sender_id, rating)
        if outcome == "reopened":
            dispatcher.utter_message(response="utter_survey_reopened", ticket_number=number, department_name=department)
        elif outcome == "closed":
            dispatcher.utter_message(response="utter_survey_thanks", ticket_number=number, rating=rating.label)
        elif outcome == "noted":
            dispatcher.utter_message(response="utter_survey_follower_thanks", ticket_number=number, rating=rating.label)
        elif outcome == "noted_unhappy":
            dispatcher.utter_message(response="utter_survey_follower_unhappy", ticket_number=number)
        else:
            dispatcher.utter_message(response="utter_survey_closed_already", ticket_number=number)
        return events + await resume_waiting_survey(tracker)


class ActionPauseSurvey(Action):
    """The resident does not want to rate now; the reminder (or their next visit) asks again."""

    def name(self) -> Text:
        return "action_pause_survey"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(response="utter_survey_paused")
        return [SlotSet(slot, None) for slot in ANSWER_SLOTS] + [SlotSet("survey_ticket", None)]
