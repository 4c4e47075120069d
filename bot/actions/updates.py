"""Telling the resident what happened to their tickets: an update pushed by the deliverer
(EXTERNAL_ticket_update with its id) or every update waiting for them (/check_updates). The
conversation remembers which it has shown, so a push repeated after a crash shows nothing twice."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions import backend
from bot.actions.survey import start_survey
from bot.actions.understanding import entity_value
from bot.notify.rasa_api import UPDATE_INTENT

SEEN_KEPT = 100
SURVEY_KINDS = ("resolved", "survey_reminder")


def response_for(kind: str, domain: dict) -> str:
    """A message of kind `k` is said with the response utter_update_{k} (by name, as rasa-sdk finds
    validate_{slot}); a kind the domain has no response for, with utter_update_other."""
    name = f"utter_update_{kind}"
    known = domain.get("responses")
    return name if known is None or name in known else "utter_update_other"


class ActionDeliverUpdates(Action):
    def name(self) -> Text:
        return "action_deliver_updates"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        message = tracker.latest_message or {}
        pushed = (message.get("intent") or {}).get("name") == UPDATE_INTENT
        wanted = entity_value(message, "notification_id") if pushed else None
        if pushed and wanted is None:
            return []
        seen: List[str] = [str(i) for i in (tracker.get_slot("notifications_seen") or [])]
        updates = [u for u in await backend.updates_for(tracker.sender_id, wanted) if str(u.id) not in seen]
        busy = bool(tracker.active_loop.get("name"))
        being_rated = tracker.get_slot("survey_ticket") if tracker.active_loop.get("name") == "survey_form" else None
        waiting = list(tracker.get_slot("survey_waiting") or [])
        survey_now = None
        for update in updates:
            seen.append(str(update.id))
            if update.kind == "survey_reminder" and not update.survey_open:
                continue  # answered meanwhile
            dispatcher.utter_message(
                response=response_for(update.kind, domain),
                ticket_number=update.ticket_number,
                department_name=update.department_name,
                deadline=update.deadline,
                note=update.note,
            )
            if update.kind in SURVEY_KINDS and update.survey_open and update.ticket_number != being_rated:
                if busy or survey_now:
                    if update.ticket_number not in waiting and update.ticket_number != survey_now:
                        waiting.append(update.ticket_number)
                    if busy:
                        dispatcher.utter_message(response="utter_survey_waits")
                else:
                    survey_now = update.ticket_number
        if not pushed:
            await backend.mark_shown([u.id for u in updates])
        events = [SlotSet("notifications_seen", seen[-SEEN_KEPT:])]
        if not pushed:
            events.append(SlotSet("updates_waiting", False))
        if survey_now:
            return events + start_survey(survey_now, waiting)
        return events + [SlotSet("survey_waiting", waiting)]
