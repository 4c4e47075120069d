"""Staff actions on a ticket. Each follows the state table, writes the ticket's history and the
audit log in one transaction, and refuses what the state table or the role does not allow."""
from __future__ import annotations

from typing import Iterable, Optional

from sqlalchemy.orm import Session

from bot import limits
from bot.staff import audit, permissions
from bot.ratings import LEVELS, Rating
from bot.store import outbox, states, surveys
from bot.store.schema import Department, Ticket, TicketAssist, TicketEvent, User, utcnow
from bot.store.tickets import find_by_number, transition
from bot.taxonomy import load as load_taxonomy


class Refused(ValueError):
    """The action cannot be taken now: wrong state, missing reason, unknown department."""


class NotPermitted(Refused):
    """The user's role or department does not allow the action on this ticket."""


def _actor(user: User) -> str:
    return f"{user.role}:{user.username}"


def _require(user: User, action: str, ticket: Ticket) -> None:
    if not permissions.can_do(user, action, ticket):
        raise NotPermitted("您没有权限对这个工单执行此操作")


def _checked(text: str, what: str, limit: int = limits.NOTE) -> str:
    text = (text or "").strip()
    if len(text) > limit:
        raise Refused(f"{what}太长了，请控制在 {limit} 个字以内")
    return text


def _move(session: Session, user: User, ticket: Ticket, target: str, note: str, action: str, addr: str, **detail) -> None:
    _require(user, action, ticket)
    note = _checked(note, "说明")
    try:
        transition(session, ticket, target, actor=_actor(user), note=note.strip())
    except states.IllegalTransition as error:
        raise Refused(str(error)) from error
    if target in outbox.NOTIFIED_STATES:
        outbox.enqueue(session, ticket, target, outbox.told_note(target, note.strip()))
    audit.record(session, user.username, action, ticket.id, addr, to=target, note=note.strip(), **detail)


def dispatch(session: Session, user: User, ticket: Ticket, lead: str, assisting: Iterable[str] = (),
             note: str = "", addr: str = "") -> None:
    """Send to a lead department (主办) with assisting ones (协办); also re-dispatch after a return."""
    departments = {lead, *assisting}
    if any(session.get(Department, d) is None for d in departments):
        raise Refused("没有这个部门")
    _require(user, "dispatch", ticket)
    ticket.lead_department_id = lead
    session.query(TicketAssist).filter(TicketAssist.ticket_id == ticket.id).delete()
    for department in sorted(set(assisting) - {lead}):
        session.add(TicketAssist(ticket_id=ticket.id, department_id=department))
    names = "、".join(session.get(Department, d).name for d in [lead, *sorted(set(assisting) - {lead})])
    _move(session, user, ticket, states.DISPATCHED, note or f"派至 {names}", "dispatch", addr,
          lead=lead, assisting=sorted(set(assisting) - {lead}))
    session.expire(ticket, ["assisting"])


def return_ticket(session: Session, user: User, ticket: Ticket, reason: str, addr: str = "") -> None:
    _move(session, user, ticket, states.RETURNED, reason, "return", addr)


def start(session: Session, user: User, ticket: Ticket, note: str = "", addr: str = "") -> None:
    _move(session, user, ticket, states.IN_PROGRESS, note or "开始办理", "start", addr)


def resolve(session: Session, user: User, ticket: Ticket, what_was_done: str, addr: str = "") -> None:
    _move(session, user, ticket, states.RESOLVED, what_was_done, "resolve", addr)
    surveys.open_survey(session, ticket)


def follow_up(session: Session, user: User, ticket: Ticket, level: str, comment: str = "", addr: str = "") -> None:
    """A phone follow-up (电话回访): the resident's verdict as told to staff, with the chat survey's effect."""
    _require(user, "follow_up", ticket)
    if not level.isdigit() or int(level) not in LEVELS:
        raise Refused("请选择满意程度")
    comment = _checked(comment, "回访意见", limits.COMMENT)
    try:
        surveys.record(session, ticket, Rating(int(level), comment.strip() or None), "phone", _actor(user))
    except surveys.SurveyClosed as error:
        raise Refused(str(error)) from error
    audit.record(session, user.username, "follow_up", ticket.id, addr, rating=int(level), note=comment.strip())


def reject(session: Session, user: User, ticket: Ticket, reason: str, addr: str = "") -> None:
    _move(session, user, ticket, states.REJECTED, reason, "reject", addr)


def merge(session: Session, user: User, ticket: Ticket, into_number: str, addr: str = "") -> Ticket:
    original = find_by_number(session, into_number.strip().upper())
    if original is None or original.id == ticket.id:
        raise Refused("找不到要并入的工单")
    if original.status not in states.OPEN | {states.RESOLVED}:
        raise Refused("只能并入仍在办理的工单")
    ticket.merged_into_id = original.id
    _move(session, user, ticket, states.DUPLICATE, f"并入 {original.number}", "merge", addr, into=original.number)
    return original


def _remark(session: Session, user: User, ticket: Ticket, action: str, label: str, text: str, addr: str) -> None:
    """A line in the history that changes no state: an internal note or a reply to the resident."""
    _require(user, action, ticket)
    text = _checked(text, label)
    if not text:
        raise Refused(f"{label}不能为空")
    session.add(TicketEvent(ticket_id=ticket.id, at=utcnow(), actor=_actor(user), from_status=ticket.status,
                            to_status=ticket.status, note=f"{label}：{text.strip()}",
                            kind="reply" if action == "reply" else "note"))
    if action == "reply":
        outbox.enqueue(session, ticket, outbox.REPLY, text.strip())
    audit.record(session, user.username, action, ticket.id, addr, note=text.strip())


def add_note(session: Session, user: User, ticket: Ticket, note: str, addr: str = "") -> None:
    _remark(session, user, ticket, "note", "内部备注", note, addr)


def reply(session: Session, user: User, ticket: Ticket, message: str, addr: str = "") -> None:
    """An answer for the resident: sent to their conversation, and in the history their status question shows."""
    _remark(session, user, ticket, "reply", "答复", message, addr)


def recategorize(session: Session, user: User, ticket: Ticket, category_id: str, addr: str = "") -> Optional[str]:
    """Correct the category; the correction is kept (audit log) as a training example."""
    _require(user, "recategorize", ticket)
    if category_id not in load_taxonomy().categories:
        raise Refused("没有这个类别")
    previous = ticket.category_id
    if previous == category_id:
        return None
    ticket.category_id = category_id
    session.add(TicketEvent(ticket_id=ticket.id, at=utcnow(), actor=_actor(user), from_status=ticket.status,
                            to_status=ticket.status, note=f"类别更正：{previous} → {category_id}", kind="note"))
    audit.record(session, user.username, "recategorize", ticket.id, addr, previous=previous, category=category_id,
                 text=ticket.description)
    return previous


def perform(session: Session, user: User, ticket: Ticket, action: str, fields: dict, addr: str = "") -> None:
    """One named action with its fields (from a console form or a JSON body)."""
    note = str(fields.get("note") or "")
    if action == "dispatch":
        assisting = fields.get("assisting") or []
        dispatch(session, user, ticket, str(fields.get("lead") or ""),
                 [assisting] if isinstance(assisting, str) else [str(a) for a in assisting], note, addr)
    elif action == "return":
        return_ticket(session, user, ticket, note, addr)
    elif action == "start":
        start(session, user, ticket, note, addr)
    elif action == "resolve":
        resolve(session, user, ticket, note, addr)
    elif action == "reject":
        reject(session, user, ticket, note, addr)
    elif action == "merge":
        merge(session, user, ticket, str(fields.get("into") or ""), addr)
    elif action == "note":
        add_note(session, user, ticket, note, addr)
    elif action == "reply":
        reply(session, user, ticket, note, addr)
    elif action == "follow_up":
        follow_up(session, user, ticket, str(fields.get("rating") or ""), note, addr)
    elif action == "recategorize":
        recategorize(session, user, ticket, str(fields.get("category") or ""), addr)
    else:
        raise KeyError(action)


ACTION_NAMES = tuple(permissions.ACTIONS)
