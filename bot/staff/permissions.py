"""What each role may see and do. Department staff see only their department's tickets (lead or
assisting); supervisors read everything; dispatchers and admins work every ticket."""
from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.sql import Select

from bot.store.schema import Ticket, TicketAssist, User

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
    "follow_up": {"department", "dispatcher", "admin"},
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


def ticket_query() -> Select:
    return select(Ticket)
