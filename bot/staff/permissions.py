"""What each role may see and do, asked in one call: `allows(user, permission, ticket)`.

Permissions are the ticket actions of bot/staff/workflow.py (their roles are in the action table)
and these:
- view_ticket: any ticket with view_all_departments, otherwise (department staff) only their
  department's tickets, as lead or assisting;
- view_phone: residents' phone numbers in full (supervisors see them masked, also where a resident
  typed one into their words);
- file_on_behalf: register what a resident said face to face, by phone, … (not supervisors);
- view_statistics: the dashboard, the inspection list and the bulletin (not department staff);
- view_knowledge: the knowledge base and the questions residents asked (everyone);
- edit_knowledge: create, edit, publish and withdraw knowledge-base entries — any entry with
  edit_all_knowledge, otherwise (department staff) only their own department's entries
  (`may_edit_entry`); supervisors read only.
With a ticket, a permission also needs view_ticket of that ticket."""

from __future__ import annotations

from typing import Dict, FrozenSet, Optional

from sqlalchemy import exists, or_, select
from sqlalchemy.sql import Select

from bot.parsing import mask_phone, mask_phones_in
from bot.staff.accounts import ROLES
from bot.store.schema import Ticket, TicketAssist, User

EVERYONE = frozenset(ROLES)

PERMISSIONS: Dict[str, FrozenSet[str]] = {
    "view_ticket": EVERYONE,
    "view_all_departments": frozenset({"dispatcher", "supervisor", "admin"}),
    "view_phone": frozenset({"dispatcher", "department", "admin"}),
    "file_on_behalf": frozenset({"dispatcher", "department", "admin"}),
    "view_statistics": frozenset({"dispatcher", "supervisor", "admin"}),
    "view_knowledge": EVERYONE,
    "edit_knowledge": frozenset({"dispatcher", "department", "admin"}),
    "edit_all_knowledge": frozenset({"dispatcher", "admin"}),
}


def _roles(permission: str) -> FrozenSet[str]:
    if permission in PERMISSIONS:
        return PERMISSIONS[permission]
    from bot.staff.workflow import ACTIONS  # the action table names who may take each action

    action = ACTIONS.get(permission)
    return action.roles if action is not None else frozenset()


def _sees(user: User, ticket: Ticket) -> bool:
    if user.role in PERMISSIONS["view_all_departments"]:
        return True
    return ticket.lead_department_id == user.department_id or any(d.id == user.department_id for d in ticket.assisting)


def allows(user: Optional[User], permission: str, ticket: Optional[Ticket] = None) -> bool:
    """May `user` do `permission` (on `ticket`, when given)? Unknown permissions are refused."""
    if user is None or not user.active or user.role not in _roles(permission):
        return False
    return ticket is None or _sees(user, ticket)


def may_edit_entry(user: Optional[User], department_id: Optional[str]) -> bool:
    """May `user` create, edit, publish or withdraw a knowledge-base entry of `department_id`?
    Department staff only their own department's (an entry of no department is not theirs)."""
    if not allows(user, "edit_knowledge"):
        return False
    assert user is not None
    if user.role in PERMISSIONS["edit_all_knowledge"]:
        return True
    return department_id is not None and department_id == user.department_id


def visible_tickets(user: User, query: Select) -> Select:
    """The view_ticket rule as a query filter."""
    if user.role in PERMISSIONS["view_all_departments"]:
        return query
    assisting = exists().where(TicketAssist.ticket_id == Ticket.id, TicketAssist.department_id == user.department_id)
    return query.where(or_(Ticket.lead_department_id == user.department_id, assisting))


def shown_phone(user: User, phone: Optional[str]) -> Optional[str]:
    if not phone:
        return phone
    return phone if allows(user, "view_phone") else mask_phone(phone)


def shown_text(user: User, text: Optional[str]) -> Optional[str]:
    """A resident's words, a place or a note as this user may read them: phone numbers inside are
    masked for those without view_phone."""
    if not text or allows(user, "view_phone"):
        return text
    return mask_phones_in(text)


def ticket_query() -> Select:
    return select(Ticket)
