"""The same problem reported again: when a confirmed report matches an open ticket of someone else
(bot/store/duplicates.py), the resident is told it is being handled and asked whether it is the
same problem. Same: they follow that ticket (its updates and its survey) and no ticket is filed;
different: their own ticket is filed as usual. An answer that says neither is asked again."""

from __future__ import annotations

import re
import threading
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions.backend import Duplicate
from bot.store import duplicates
from bot.textnorm import clean_user_text, normalize

DUPLICATE_FORM = "duplicate_form"
SAME = "same"
DIFFERENT = "different"
DUPLICATE_SLOTS = ("duplicate_of", "duplicate_summary", "duplicate_answer")

# Read on normalised (Simplified, half-width) text; "不一样" before "一样", "不是" before "是".
_DIFFERENT = re.compile(
    r"不一样|不同|不是|不对|不太一样|两回事|两码事|单独|另外|另一个|别的|新的|重新|自己报|我要报|我要反映|不是一回事|没关系|不相干"
)
_SAME = re.compile(
    r"同一个|一样|就是|是的|是啊|是呀|对的|对啊|没错|一回事|关注|跟进|^是$|^对$|^嗯+$|^好的?$|^行$|^可以$|^ok$|^yes$"
)


# The similarity's features are fitted once per process (a few seconds): at start, not at the first report.
threading.Thread(target=duplicates.warm_up, name="duplicates-warm-up", daemon=True).start()


def same_problem(text: Optional[str]) -> Optional[str]:
    """SAME, DIFFERENT, or None when the answer says neither."""
    norm = normalize(clean_user_text(text or "", 200)).strip(" 。，！!,.？?~～")
    if not norm:
        return None
    if _DIFFERENT.search(norm):
        return DIFFERENT
    if _SAME.search(norm):
        return SAME
    return None


def ask(found: Duplicate) -> List[Dict[str, Any]]:
    """Events that keep the report and ask the resident about the ticket it matches."""
    return [
        SlotSet("duplicate_of", found.number),
        SlotSet("duplicate_summary", f"「{found.description}」，由{found.department_name}负责"),
        SlotSet("duplicate_answer", None),
        FollowupAction(DUPLICATE_FORM),
    ]


def forget() -> List[Dict[str, Any]]:
    return [SlotSet(slot, None) for slot in DUPLICATE_SLOTS]


class ValidateDuplicateForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_duplicate_form"

    async def validate_duplicate_answer(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {}
        if value in (SAME, DIFFERENT):
            return {"duplicate_answer": value}
        answer = same_problem(str(value))
        if answer is None:
            dispatcher.utter_message(response="utter_duplicate_answer_unclear")
        return {"duplicate_answer": answer}
