"""What each role may see and do. Department staff see only their department's tickets (lead or
assisting); supervisors read everything; dispatchers and admins work every ticket."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import exists, or_, select
from sqlalchemy.sql import Select

from bot.parsing import mask_phone, mask_phones_in
from bot.store.schema import Ticket, TicketAssist, User

# Roles that see residents' phone numbers in full; others (supervisors) see them masked, also
# where a resident typed one into their words.
PHONE_ROLES = frozenset({"dispatcher", "department", "admin"})

# action -> roles that may take it
ACTIONS = {
    "dispatch": {"dispatcher", "admin"},
    "recategorize": {"dispatcher", "admin"},
    "merge": {"dispatcher", "admin"},
    "reject": {"dispatcher", "admin"},
    "return": {"department", "dispatcher", "admin"},
    "start": {"department", "dispatcher", "admin"},
    "resolve": {"department", "dispatcher", "admin"},
    "note": {"department", "dispatcher", "supervisor", "admin"},
    "reply": {"department", "dispatcher", "admin"},
    # A department does not record how residents rated its own work: the phone follow-up (电话回访)
    # is for the dispatching side and the supervisors.
    "follow_up": {"dispatcher", "supervisor", "admin"},
}


def visible_tickets(user: User, query: Select) -> Select:
    if user.role != "department":
        return query
    assisting = exists().where(TicketAssist.ticket_id == Ticket.id, TicketAssist.department_id == user.department_id)
    return query.where(or_(Ticket.lead_department_id == user.department_id, assisting))


def can_see(user: User, ticket: Ticket) -> bool:
    if user.role != "department":
        return True
    return ticket.lead_department_id == user.department_id or any(d.id == user.department_id for d in ticket.assisting)


def can_do(user: User, action: str, ticket: Ticket) -> bool:
    return user.role in ACTIONS.get(action, set()) and can_see(user, ticket)


def may_view_phone(user: User) -> bool:
    return user.role in PHONE_ROLES


def shown_phone(user: User, phone: Optional[str]) -> Optional[str]:
    if not phone:
        return phone
    return phone if may_view_phone(user) else mask_phone(phone)


def shown_text(user: User, text: Optional[str]) -> Optional[str]:
    """A resident's words, a place or a note as this user may read them: phone numbers inside are
    masked for roles that may not see phones."""
    if not text or may_view_phone(user):
        return text
    return mask_phones_in(text)


def ticket_query() -> Select:
    return select(Ticket)
