"""The ticket actions staff take, in one table. Each entry says what the action is called, who may
take it, which state it moves the ticket to (the state table, bot/store/states.py, says from where,
whether a reason is required and whether the resident is told), which fields it takes, and what it
does. The console's forms, the JSON API and its OpenAPI document, the permissions and the audit
log all read this table; `perform` dispatches to an action by its name, the way rasa-sdk's forms
dispatch `validate_{slot}`.

Adding an action means adding an entry here (and a state to the state table if it needs a new one):
the console shows its form to those allowed, the API and its document take it.

Every action follows the state table, writes the ticket's history and the audit log in the
caller's transaction, and refuses (bot/errors.py) what the state table or the role does not allow:
NotPermitted (403) for the role or department, Conflict (409) for the state or the values given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Optional, Tuple

from sqlalchemy.orm import Session

from bot import limits
from bot.errors import Conflict, MinshengError, NotFound
from bot.errors import NotPermitted as NotPermitted  # re-exported: callers catch workflow.NotPermitted
from bot.ratings import LEVELS, Rating
from bot.staff import audit, permissions
from bot.store import followers, outbox, states, surveys
from bot.store.schema import Department, Ticket, TicketAssist, User
from bot.store.tickets import find_by_number, note_in_history, transition
from bot.taxonomy import load as load_taxonomy

# Any refusal of an action: wrong state, missing reason, not this user's to take, unknown value.
Refused = MinshengError

STAFF = frozenset({"dispatcher", "admin"})
WORKERS = frozenset({"department", "dispatcher", "admin"})


Options = Callable[[Session, Ticket], List[Tuple[str, str]]]


@dataclass(frozen=True)
class Field:
    """A value an action takes, from a console form or a JSON body: free text, or a choice among
    `options` (value, label) — several when `multiple` — with `selected` chosen beforehand."""

    name: str
    label: str
    required: bool = False
    options: Optional[Options] = None
    multiple: bool = False
    selected: Optional[Callable[[Ticket], List[str]]] = None
    prompt: str = ""  # a first, empty choice ("居民的评价…")


Values = Dict[str, Any]
Apply = Callable[[Session, User, Ticket, "TicketAction", Values, str], None]


@dataclass(frozen=True)
class TicketAction:
    name: str
    label: str  # the console's button
    roles: FrozenSet[str]
    target: Optional[str]  # the state it moves the ticket to; None: a line in the history only
    apply: Apply
    fields: Tuple[Field, ...] = ()
    # Shown only when it can be taken now (besides the state table); e.g. a survey awaits a verdict.
    when: Optional[Callable[[Session, Ticket], bool]] = None
    history_label: str = ""  # how a history line of an action without a target begins

    def available(self, session: Session, ticket: Ticket) -> bool:
        if self.target is not None and self.target not in states.TRANSITIONS.get(ticket.status, frozenset()):
            return False
        return self.when is None or self.when(session, ticket)


# ---------------------------------------------------------------- what the actions do


def _actor(user: User) -> str:
    return f"{user.role}:{user.username}"


def _text(values: Values, name: str, what: str, limit: int = limits.NOTE) -> str:
    text = str(values.get(name) or "").strip()
    if len(text) > limit:
        raise Conflict(f"{what}太长了，请控制在 {limit} 个字以内")
    return text


def _history_line(session: Session, user: User, ticket: Ticket, note: str, kind: str = "note") -> None:
    """A line in the ticket's history that changes no state (a note, a reply, a correction)."""
    note_in_history(session, ticket, _actor(user), note, kind=kind)


def _move(
    session: Session, user: User, ticket: Ticket, action: TicketAction, note: str, addr: str, **detail: Any
) -> None:
    """Through the state table to the action's target; the resident is told where the table says so."""
    assert action.target is not None
    transition(session, ticket, action.target, actor=_actor(user), note=note)
    told = states.TOLD.get(action.target)
    if told is not None:
        outbox.enqueue(session, ticket, action.target, note if told.note else None)
    audit.record(session, user.username, action.name, ticket.id, addr, to=action.target, note=note, **detail)


def _move_with_note(
    session: Session, user: User, ticket: Ticket, action: TicketAction, values: Values, addr: str
) -> None:
    """The note given; without one, the action's name — unless the state table wants a reason."""
    needs_reason = action.target in states.NEEDS_NOTE
    _move(session, user, ticket, action, _text(values, "note", "说明") or ("" if needs_reason else action.label), addr)


def _dispatch(session: Session, user: User, ticket: Ticket, action: TicketAction, values: Values, addr: str) -> None:
    """To a lead department (主办) with assisting ones (协办); also a re-dispatch after a return."""
    lead = str(values.get("lead") or "")
    raw = values.get("assisting") or []
    assisting = sorted(
        {str(a) for a in ([raw] if isinstance(raw, str) else raw if isinstance(raw, list) else [])} - {lead}
    )
    if any(session.get(Department, d) is None for d in [lead, *assisting]):
        raise Conflict("没有这个部门")
    note = _text(values, "note", "说明")
    ticket.lead_department_id = lead
    session.query(TicketAssist).filter(TicketAssist.ticket_id == ticket.id).delete()
    for department in assisting:
        session.add(TicketAssist(ticket_id=ticket.id, department_id=department))
    names = "、".join(session.get(Department, d).name for d in [lead, *assisting])
    _move(session, user, ticket, action, note or f"派至 {names}", addr, lead=lead, assisting=assisting)
    session.expire(ticket, ["assisting"])


def _resolve(session: Session, user: User, ticket: Ticket, action: TicketAction, values: Values, addr: str) -> None:
    _move(session, user, ticket, action, _text(values, "note", "办理结果"), addr)
    surveys.open_survey(session, ticket)


def _merge(session: Session, user: User, ticket: Ticket, action: TicketAction, values: Values, addr: str) -> None:
    original = find_by_number(session, str(values.get("into") or "").strip().upper())
    if original is None or original.id == ticket.id:
        raise Conflict("找不到要并入的工单")
    if not (original.is_open or original.status == states.RESOLVED):
        raise Conflict("只能并入仍在办理的工单")
    ticket.merged_into_id = original.id
    _move(session, user, ticket, action, f"并入 {original.number}", addr, into=original.number)
    # Its resident and its followers follow the original from now on: its updates and its survey.
    moved = followers.take_over(session, ticket, original)
    joined = f"，{len(moved)} 位居民转为关注本单" if moved else ""
    _history_line(session, user, original, f"工单 {ticket.number} 并入本单{joined}")
    audit.record(session, user.username, "merged_in", original.id, addr, merged=ticket.number, followers=len(moved))


def _remark(session: Session, user: User, ticket: Ticket, action: TicketAction, values: Values, addr: str) -> None:
    """A line in the history that changes no state: an internal note, or a reply the resident gets."""
    text = _text(values, "note", action.history_label)
    if not text:
        raise Conflict(f"{action.history_label}不能为空")
    kind = outbox.REPLY if action.name == outbox.REPLY else "note"
    _history_line(session, user, ticket, f"{action.history_label}：{text}", kind=kind)
    if kind == outbox.REPLY:
        outbox.enqueue(session, ticket, outbox.REPLY, text)
    audit.record(session, user.username, action.name, ticket.id, addr, note=text)


def _recategorize(
    session: Session, user: User, ticket: Ticket, action: TicketAction, values: Values, addr: str
) -> None:
    """The right category; the correction is kept (audit log) as a training example."""
    category = str(values.get("category") or "")
    if category not in load_taxonomy().categories:
        raise Conflict("没有这个类别")
    previous = ticket.category_id
    if previous == category:
        return
    ticket.category_id = category
    names = load_taxonomy().categories
    was = names[previous].name if previous in names else previous
    _history_line(session, user, ticket, f"类别更正：{was} → {names[category].name}")
    audit.record(
        session,
        user.username,
        action.name,
        ticket.id,
        addr,
        previous=previous,
        category=category,
        text=ticket.description,
    )


def _follow_up(session: Session, user: User, ticket: Ticket, action: TicketAction, values: Values, addr: str) -> None:
    """A phone follow-up (电话回访): the resident's verdict as told to staff, with the chat survey's effect."""
    level = str(values.get("rating") or "")
    if not level.isdigit() or int(level) not in LEVELS:
        raise Conflict("请选择满意程度")
    comment = _text(values, "note", "回访意见", limits.COMMENT)
    surveys.record(session, ticket, Rating(int(level), comment or None), "phone", _actor(user))
    audit.record(session, user.username, action.name, ticket.id, addr, rating=int(level), note=comment)


def _hand_over(session: Session, user: User, ticket: Ticket, action: TicketAction, values: Values, addr: str) -> None:
    """The lead department hands the ticket to one of its assisting departments (转交协办), which
    leads from now on; the former lead assists."""
    if user.role == "department" and user.department_id != ticket.lead_department_id:
        raise NotPermitted("只有主办部门可以转交")
    to = str(values.get("to") or "")
    if to not in {d.id for d in ticket.assisting}:
        raise Conflict("只能转交给本工单的协办部门")
    reason = _text(values, "note", "转交说明")
    former = ticket.lead_department_id
    ticket.lead_department_id = to
    session.query(TicketAssist).filter(TicketAssist.ticket_id == ticket.id, TicketAssist.department_id == to).delete()
    session.add(TicketAssist(ticket_id=ticket.id, department_id=former))
    names = {d: session.get(Department, d).name for d in (former, to)}
    _history_line(
        session, user, ticket, f"转交协办：{names[former]} → {names[to]}" + (f"（{reason}）" if reason else "")
    )
    audit.record(session, user.username, action.name, ticket.id, addr, previous=former, lead=to, note=reason)
    session.expire(ticket, ["assisting"])


def _departments(session: Session, _ticket: Ticket) -> List[Tuple[str, str]]:
    return [(d.id, d.name) for d in session.query(Department).order_by(Department.id)]


def _assisting(_session: Session, ticket: Ticket) -> List[Tuple[str, str]]:
    return [(d.id, d.name) for d in ticket.assisting]


def _categories(_session: Session, _ticket: Ticket) -> List[Tuple[str, str]]:
    return [(c.id, c.name) for c in load_taxonomy().categories.values()]


def _levels(_session: Session, _ticket: Ticket) -> List[Tuple[str, str]]:
    return [(str(level), label) for level, label in sorted(LEVELS.items(), reverse=True)]


def _proposed_lead(ticket: Ticket) -> List[str]:
    """The department the ticket's category routes to; none when that department has just returned
    it (退单): then the dispatcher chooses."""
    routed = load_taxonomy().categories[ticket.category_id].department_id
    if ticket.status == states.RETURNED and routed == ticket.lead_department_id:
        return []
    return [routed]


def _proposed_assisting(ticket: Ticket) -> List[str]:
    """The ticket's assisting departments; before it has any, those its category names (taxonomy)."""
    if ticket.assisting:
        return [d.id for d in ticket.assisting]
    category = load_taxonomy().categories[ticket.category_id]
    return [d for d in category.assisting if d not in _proposed_lead(ticket)]


def _survey_awaits(session: Session, ticket: Ticket) -> bool:
    return surveys.awaiting_verdict(session, ticket) is not None


def _has_assisting(_session: Session, ticket: Ticket) -> bool:
    return bool(ticket.assisting)


NOTE = "note"

# ---------------------------------------------------------------- the table (in the console's order)

ACTIONS: Dict[str, TicketAction] = {
    a.name: a
    for a in (
        TicketAction(
            "dispatch",
            "派单",
            STAFF,
            states.DISPATCHED,
            _dispatch,
            fields=(
                Field(
                    "lead",
                    "主办",
                    required=True,
                    options=_departments,
                    selected=_proposed_lead,
                    prompt="请选择主办部门…",
                ),
                Field("assisting", "协办", options=_departments, multiple=True, selected=_proposed_assisting),
                Field(NOTE, "派单说明（选填，仅工作人员可见）"),
            ),
        ),
        TicketAction("start", "开始办理", WORKERS, states.IN_PROGRESS, _move_with_note),
        TicketAction(
            "resolve",
            "办结",
            WORKERS,
            states.RESOLVED,
            _resolve,
            fields=(Field(NOTE, "办理结果（必填，将告知居民）", required=True),),
        ),
        TicketAction(
            "return",
            "退单",
            WORKERS,
            states.RETURNED,
            _move_with_note,
            fields=(Field(NOTE, "退单理由（必填，仅工作人员可见）", required=True),),
        ),
        TicketAction(
            "hand_over",
            "转交协办",
            frozenset({"department", "dispatcher", "admin"}),
            None,
            _hand_over,
            when=_has_assisting,
            fields=(Field("to", "转交给", required=True, options=_assisting), Field(NOTE, "转交说明（选填）")),
        ),
        TicketAction(
            "merge", "并单", STAFF, states.DUPLICATE, _merge, fields=(Field("into", "并入工单编号", required=True),)
        ),
        TicketAction(
            "reject",
            "不予受理",
            STAFF,
            states.REJECTED,
            _move_with_note,
            fields=(Field(NOTE, "不予受理理由（必填，将告知居民）", required=True),),
        ),
        TicketAction(
            "recategorize",
            "更正类别",
            STAFF,
            None,
            _recategorize,
            fields=(Field("category", "类别", required=True, options=_categories, selected=lambda t: [t.category_id]),),
        ),
        TicketAction(
            "reply",
            "答复居民",
            WORKERS,
            None,
            _remark,
            history_label="答复",
            fields=(Field(NOTE, "答复居民（发送到居民的对话）", required=True),),
        ),
        # A department does not record how residents rated its own work: the phone follow-up (电话回访)
        # is for the dispatching side and the supervisors.
        TicketAction(
            "follow_up",
            "记录回访结果",
            frozenset({"dispatcher", "supervisor", "admin"}),
            None,
            _follow_up,
            when=_survey_awaits,
            fields=(
                Field("rating", "电话回访", required=True, options=_levels, prompt="居民的评价…"),
                Field(NOTE, "居民的意见（选填）"),
            ),
        ),
        TicketAction(
            "note",
            "添加备注",
            frozenset({"department", "dispatcher", "supervisor", "admin"}),
            None,
            _remark,
            history_label="内部备注",
            fields=(Field(NOTE, "内部备注（居民看不到）", required=True),),
        ),
    )
}
ACTION_NAMES: Tuple[str, ...] = tuple(ACTIONS)


def perform(session: Session, user: User, ticket: Ticket, name: str, values: Values, addr: str = "") -> None:
    """One named action with its values (from a console form or a JSON body)."""
    action = ACTIONS.get(name)
    if action is None:
        raise NotFound("没有这个操作")
    if not permissions.allows(user, name, ticket):
        raise NotPermitted("您没有权限对这个工单执行此操作")
    action.apply(session, user, ticket, action, values, addr)


def available(session: Session, user: User, ticket: Ticket) -> List[TicketAction]:
    """The actions this user may take on this ticket now, in the table's order."""
    return [a for a in ACTIONS.values() if permissions.allows(user, a.name, ticket) and a.available(session, ticket)]


def all_fields() -> List[Field]:
    """Every field any action takes (one of each name), for the API's description."""
    seen: Dict[str, Field] = {}
    for action in ACTIONS.values():
        for item in action.fields:
            seen.setdefault(item.name, item)
    return list(seen.values())


# ---------------------------------------------------------------- the same, called by name from code


def proposed_dispatch(ticket: Ticket) -> Tuple[Optional[str], List[str]]:
    """The lead and assisting departments the dispatch form proposes for this ticket (its
    category's, from the taxonomy); no lead when the routed department has just returned it."""
    lead = _proposed_lead(ticket)
    return (lead[0] if lead else None), _proposed_assisting(ticket)


def dispatch(
    session: Session,
    user: User,
    ticket: Ticket,
    lead: str,
    assisting: Iterable[str] = (),
    note: str = "",
    addr: str = "",
) -> None:
    perform(session, user, ticket, "dispatch", {"lead": lead, "assisting": list(assisting), "note": note}, addr)


def start(session: Session, user: User, ticket: Ticket, note: str = "", addr: str = "") -> None:
    perform(session, user, ticket, "start", {"note": note}, addr)


def resolve(session: Session, user: User, ticket: Ticket, what_was_done: str, addr: str = "") -> None:
    perform(session, user, ticket, "resolve", {"note": what_was_done}, addr)


def return_ticket(session: Session, user: User, ticket: Ticket, reason: str, addr: str = "") -> None:
    perform(session, user, ticket, "return", {"note": reason}, addr)


def reject(session: Session, user: User, ticket: Ticket, reason: str, addr: str = "") -> None:
    perform(session, user, ticket, "reject", {"note": reason}, addr)


def merge(session: Session, user: User, ticket: Ticket, into_number: str, addr: str = "") -> None:
    perform(session, user, ticket, "merge", {"into": into_number}, addr)


def add_note(session: Session, user: User, ticket: Ticket, note: str, addr: str = "") -> None:
    perform(session, user, ticket, "note", {"note": note}, addr)


def reply(session: Session, user: User, ticket: Ticket, message: str, addr: str = "") -> None:
    """An answer for the resident: sent to their conversation, and in the history their status question shows."""
    perform(session, user, ticket, "reply", {"note": message}, addr)


def recategorize(session: Session, user: User, ticket: Ticket, category_id: str, addr: str = "") -> Optional[str]:
    previous = ticket.category_id
    perform(session, user, ticket, "recategorize", {"category": category_id}, addr)
    return previous if previous != category_id else None


def follow_up(session: Session, user: User, ticket: Ticket, level: str, comment: str = "", addr: str = "") -> None:
    perform(session, user, ticket, "follow_up", {"rating": level, "note": comment}, addr)
