"""The ticket state table (see DESIGN.md "Ticket life"). Every change goes through `check`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet

from bot.errors import Conflict

SUBMITTED = "submitted"
DISPATCHED = "dispatched"
IN_PROGRESS = "in_progress"
RESOLVED = "resolved"
CLOSED = "closed"
RETURNED = "returned"
REOPENED = "reopened"
DUPLICATE = "duplicate"
REJECTED = "rejected"
CANCELLED = "cancelled"

LABELS: Dict[str, str] = {
    SUBMITTED: "已受理",
    DISPATCHED: "已派单",
    IN_PROGRESS: "办理中",
    RESOLVED: "已办结",
    CLOSED: "已关闭",
    RETURNED: "退单",
    REOPENED: "重新办理",
    DUPLICATE: "并单",
    REJECTED: "不予受理",
    CANCELLED: "已撤销",
}

OPEN: FrozenSet[str] = frozenset({SUBMITTED, DISPATCHED, IN_PROGRESS, RETURNED, REOPENED})
_ANY_OPEN_MAY = {DUPLICATE, REJECTED, CANCELLED}
# 办理中 in the figures: with a department — dispatched, being worked on, or reopened after a
# dissatisfied verdict. Not a ticket never dispatched (submitted) nor one handed back (returned):
# both wait for the dispatcher.
IN_HAND: FrozenSet[str] = frozenset({DISPATCHED, IN_PROGRESS, REOPENED})

TRANSITIONS: Dict[str, FrozenSet[str]] = {
    SUBMITTED: frozenset({DISPATCHED} | _ANY_OPEN_MAY),
    DISPATCHED: frozenset({IN_PROGRESS, RETURNED, RESOLVED} | _ANY_OPEN_MAY),
    RETURNED: frozenset({DISPATCHED} | _ANY_OPEN_MAY),
    IN_PROGRESS: frozenset({RESOLVED} | _ANY_OPEN_MAY),
    REOPENED: frozenset({IN_PROGRESS, RESOLVED} | _ANY_OPEN_MAY),
    RESOLVED: frozenset({CLOSED, REOPENED}),
    CLOSED: frozenset(),
    DUPLICATE: frozenset(),
    REJECTED: frozenset(),
    CANCELLED: frozenset(),
}

NEEDS_NOTE: FrozenSet[str] = frozenset({RETURNED, REJECTED, RESOLVED})

# A ticket is answered (响应) by its first dispatch, reply to the resident, rejection with a reason
# or merge into another ticket: the resident has been taken up or told (the response rate).
ANSWERING: FrozenSet[str] = frozenset({DISPATCHED, REJECTED, DUPLICATE})
REPLY = "reply"  # the history line's kind of a reply to the resident


def answers(kind: str, to_status: str) -> bool:
    """Whether a line of a ticket's history (its kind and the state it leads to) answers the resident."""
    return kind == REPLY or (kind == "status" and to_status in ANSWERING)


@dataclass(frozen=True)
class Told:
    """How the resident hears that their ticket entered a state: the label of that message on the
    ticket page, and whether the change's note (what was done, why not, into which ticket) is
    written for them. States not listed here (returned: between departments) are not told."""

    label: str
    note: bool = False


TOLD: Dict[str, Told] = {
    DISPATCHED: Told("已派单"),
    IN_PROGRESS: Told("开始办理"),
    RESOLVED: Told("办结及满意度调查", note=True),
    REJECTED: Told("不予受理", note=True),
    DUPLICATE: Told("并单", note=True),
}
# Changes the resident may also see in their status answer, though not pushed to them.
SEEN: FrozenSet[str] = frozenset(TOLD) | {SUBMITTED, REOPENED, CLOSED}


def is_open(status: str) -> bool:
    return status in OPEN


class IllegalTransition(Conflict):
    """Not from this state to that one, or without the reason it needs."""


def check(current: str, target: str, note: str = "") -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(f"不能从「{LABELS.get(current, current)}」变为「{LABELS.get(target, target)}」")
    if target in NEEDS_NOTE and not (note or "").strip():
        raise IllegalTransition(f"变为「{LABELS[target]}」需要填写说明")
