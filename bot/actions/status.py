"""Answering "how is my problem going": this conversation's tickets, or one ticket of another
conversation after the phone's last four digits match. Nothing is revealed otherwise, and failed
tries are counted in the store (bot/store/status_checks.py), not in the conversation."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions import backend
from bot.actions.survey import resume_waiting_survey
from bot.actions.understanding import entity_value
from bot.channels import SOURCE_KEY
from bot.parsing import looks_like_ticket_number
from bot.store.status_checks import TooManyTries


def _source(tracker) -> Optional[str]:
    """The network address the message came from, as the channel saw it (None where unknown)."""
    source = ((tracker.latest_message or {}).get("metadata") or {}).get(SOURCE_KEY)
    return source if isinstance(source, str) and source else None


class ActionCheckStatus(Action):
    def name(self) -> Text:
        return "action_check_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        message = tracker.latest_message or {}
        number = entity_value(message, "ticket_number")
        reset = [SlotSet("status_ticket_number", None), SlotSet("status_phone_last4", None)]
        if number is None and looks_like_ticket_number(message.get("text") or ""):
            dispatcher.utter_message(response="utter_ticket_number_malformed")
            return reset
        if number is None:
            lines = await backend.conversation_summary(tracker.sender_id)
            if lines:
                dispatcher.utter_message(response="utter_status_list", ticket_list="\n".join(lines))
            else:
                dispatcher.utter_message(response="utter_status_none")
            return reset
        own = await backend.ticket_summary_if_owned(number, tracker.sender_id)
        if own is not None:
            dispatcher.utter_message(response="utter_status_one", ticket_list=own)
            return reset
        if tracker.active_loop.get("name") in ("report_form", "survey_form"):
            dispatcher.utter_message(response="utter_status_later")
            return reset
        if await backend.phone_check_locked(number, _source(tracker)):
            dispatcher.utter_message(response="utter_status_too_many_attempts")
            return reset
        # Unknown or somebody else's: the same question either way, so nothing is revealed.
        return [SlotSet("status_ticket_number", number), SlotSet("status_phone_last4", None)]


class ActionVerifyStatus(Action):
    def name(self) -> Text:
        return "action_verify_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        number = tracker.get_slot("status_ticket_number")
        last4 = tracker.get_slot("status_phone_last4")
        events = [SlotSet("status_ticket_number", None), SlotSet("status_phone_last4", None)]
        if not number or not last4:
            dispatcher.utter_message(response="utter_nothing_to_cancel")
            return events
        try:
            summary = await backend.ticket_summary_if_phone_matches(number, last4, tracker.sender_id, _source(tracker))
        except TooManyTries:
            dispatcher.utter_message(response="utter_status_too_many_attempts")
            return events + await resume_waiting_survey(tracker)
        if summary is None:
            dispatcher.utter_message(response="utter_status_not_found")
            return events + await resume_waiting_survey(tracker)
        dispatcher.utter_message(response="utter_status_one", ticket_list=summary)
        return events + await resume_waiting_survey(tracker)
