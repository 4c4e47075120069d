"""Questions (咨询) in the chat: answered from the knowledge base's published entries, followed by
"这个回答对您有帮助吗？"; 没帮助, or no entry good enough, offers to pass the question to the
responsible department as an enquiry (咨询件), answered by staff through the reply path like any
ticket. A question in the middle of another form is answered without the follow-up questions, and
the form goes on."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import limits, taxonomy
from bot.actions import backend
from bot.actions.survey import resume_waiting_survey
from bot.actions.understanding import in_script, wants_traditional
from bot.parsing import find_phone
from bot.store.knowledge import HELPFUL, NOT_HELPFUL, UNANSWERED
from bot.store.tickets import ENQUIRY, InvalidReport, NewReport
from bot.textnorm import SIMPLIFIED, TRADITIONAL, clean_user_text

logger = logging.getLogger(__name__)

ENQUIRY_FORM = "enquiry_form"
ANONYMOUS = "anonymous"
ANSWERED, OFFERED, SUGGESTED = "answered", "offered", "suggested"
QUESTION_SLOTS = (
    "question_text",
    "question_entry",
    "question_score",
    "question_department",
    "question_category",
    "question_step",
    "question_record",
    "enquiry_phone",
)


def _forget() -> List[Dict[str, Any]]:
    return [SlotSet(slot, None) for slot in QUESTION_SLOTS]


def _department_name(department_id: Optional[str]) -> str:
    tax = taxonomy.load()
    department = tax.departments.get(department_id or "") or tax.department_of("other")
    return department.name


def _asked_category(message: Dict[str, Any]) -> str:
    """The category the classifier reads in the question, for an enquiry no entry answers."""
    known = taxonomy.load().categories
    found = (message.get("category") or {}).get("name")
    return found if found in known else "other"


def _script(tracker: Tracker) -> str:
    return TRADITIONAL if wants_traditional(tracker) else SIMPLIFIED


def _say_answer(dispatcher: CollectingDispatcher, tracker: Tracker, found: backend.Answer) -> None:
    dispatcher.utter_message(text=in_script(tracker, f"关于“{found.question}”：\n{found.answer}"))


def _answered(
    dispatcher: CollectingDispatcher, tracker: Tracker, text: str, found: backend.Answer, category: str
) -> List[Dict[str, Any]]:
    """The entry given as the answer, then 这个回答对您有帮助吗？ (step "answered")."""
    _say_answer(dispatcher, tracker, found)
    dispatcher.utter_message(response="utter_ask_question_helpful")
    category = found.category_id or category
    department = found.department_id or taxonomy.load().categories[category].department_id
    return _forget() + [
        SlotSet("question_text", text),
        SlotSet("question_entry", float(found.entry_id) if found.entry_id is not None else None),
        SlotSet("question_score", round(found.score, 4)),
        SlotSet("question_department", department),
        SlotSet("question_category", category),
        SlotSet("question_step", ANSWERED),
    ]


async def _cannot_answer(
    dispatcher: CollectingDispatcher, tracker: Tracker, text: str, category: str
) -> List[Dict[str, Any]]:
    """这个问题我还答不上来, kept for staff, and the offer to pass it on (step "offered")."""
    record = await backend.record_question(text, UNANSWERED, tracker.sender_id, _script(tracker)) if text else None
    department = taxonomy.load().categories[category].department_id
    dispatcher.utter_message(response="utter_question_cannot_answer")
    dispatcher.utter_message(response="utter_offer_enquiry", department_name=_department_name(department))
    return _forget() + [
        SlotSet("question_text", text),
        SlotSet("question_department", department),
        SlotSet("question_category", category),
        SlotSet("question_step", OFFERED),
        SlotSet("question_record", float(record) if record is not None else None),
    ]


class ActionAnswerQuestion(Action):
    def name(self) -> Text:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        message = tracker.latest_message or {}
        text = clean_user_text(message.get("text"), limits.MESSAGE)
        busy = tracker.active_loop_name is not None
        found = await backend.answer_question(text) if text and not text.startswith("/") else None
        if found is not None and found.sure:
            if busy:  # the form's question follows; no 有帮助/没帮助 in the middle of it
                _say_answer(dispatcher, tracker, found)
                return []
            return _answered(dispatcher, tracker, text, found, _asked_category(message))
        if found is not None and not busy:  # not sure enough to answer: is this what they mean?
            dispatcher.utter_message(response="utter_question_suggest", entry_question=found.question)
            return _forget() + [
                SlotSet("question_text", text),
                SlotSet("question_entry", float(found.entry_id) if found.entry_id is not None else None),
                SlotSet("question_score", round(found.score, 4)),
                SlotSet("question_category", _asked_category(message)),
                SlotSet("question_step", SUGGESTED),
            ]
        if busy:
            if text:
                await backend.record_question(text, UNANSWERED, tracker.sender_id, _script(tracker))
            dispatcher.utter_message(response="utter_question_later")
            return []
        return await _cannot_answer(dispatcher, tracker, text, _asked_category(message))


class ActionQuestionFeedback(Action):
    """是的 / 不是 to a suggested entry, 有帮助 / 没帮助 to an answer, or yes / no to passing the
    question on."""

    def name(self) -> Text:
        return "action_question_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        step = tracker.get_slot("question_step")
        said_yes = ((tracker.latest_message or {}).get("intent") or {}).get("name") == "affirm"
        text = tracker.get_slot("question_text") or ""
        entry = tracker.get_slot("question_entry")
        score = tracker.get_slot("question_score")
        category = tracker.get_slot("question_category") or "other"
        if step == SUGGESTED:
            found = await backend.suggested_answer(int(entry), score or 0.0) if said_yes and entry else None
            if found is not None:
                return _answered(dispatcher, tracker, text, found, category)
            return await _cannot_answer(dispatcher, tracker, text, category)
        if step == ANSWERED and said_yes:
            await backend.record_question(
                text, HELPFUL, tracker.sender_id, _script(tracker), int(entry) if entry else None, score
            )
            dispatcher.utter_message(response="utter_question_glad")
            return _forget()
        if step == ANSWERED:
            record = await backend.record_question(
                text, NOT_HELPFUL, tracker.sender_id, _script(tracker), int(entry) if entry else None, score
            )
            dispatcher.utter_message(response="utter_question_sorry")
            dispatcher.utter_message(
                response="utter_offer_enquiry",
                department_name=_department_name(tracker.get_slot("question_department")),
            )
            return [SlotSet("question_step", OFFERED), SlotSet("question_record", float(record))]
        if step == OFFERED and said_yes:
            return [SlotSet("enquiry_phone", None), FollowupAction(ENQUIRY_FORM)]
        if step == OFFERED:
            dispatcher.utter_message(response="utter_enquiry_not_filed")
            return _forget()
        dispatcher.utter_message(response="utter_anything_else")
        return _forget()


class ValidateEnquiryForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_enquiry_form"

    async def validate_enquiry_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value in (None, ANONYMOUS):
            return {"enquiry_phone": value}
        found = find_phone(str(value))
        if found is None:
            dispatcher.utter_message(response="utter_phone_invalid")
            return {"enquiry_phone": None}
        return {"enquiry_phone": found.value}


class ActionFileEnquiry(Action):
    def name(self) -> Text:
        return "action_file_enquiry"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        text = tracker.get_slot("question_text")
        if not text or tracker.get_slot("question_step") != OFFERED:
            return _forget()
        phone = tracker.get_slot("enquiry_phone")
        record = tracker.get_slot("question_record")
        report = NewReport(
            submission_key=f"{tracker.sender_id}:question:{int(record) if record else text[:40]}",
            conversation_id=tracker.sender_id,
            description=text[: limits.DESCRIPTION],
            category_id=tracker.get_slot("question_category") or "other",
            phone=None if phone in (None, ANONYMOUS) else phone,
            script=_script(tracker),
            channel=tracker.get_latest_input_channel() or "chat",
            kind=ENQUIRY,
            department_id=tracker.get_slot("question_department"),
        )
        try:
            number, department, deadline = await backend.file_enquiry(report, int(record) if record else None)
        except InvalidReport as refused:
            logger.warning("enquiry of %s refused by the store: %s", tracker.sender_id, refused)
            dispatcher.utter_message(response="utter_report_refused", reason=str(refused))
            return _forget()
        dispatcher.utter_message(
            response="utter_enquiry_filed", ticket_number=number, department_name=department, deadline=deadline
        )
        return _forget() + await resume_waiting_survey(tracker)


class ActionCancelEnquiry(Action):
    def name(self) -> Text:
        return "action_cancel_enquiry"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(response="utter_enquiry_not_filed")
        return _forget()
