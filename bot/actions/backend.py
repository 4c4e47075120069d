"""The actions' only door to the ticket store."""
from __future__ import annotations

import datetime as dt
import logging
from typing import List, Optional

from bot import taxonomy
from bot.parsing import mask_phones_in, phone_last4
from bot.store import states
from bot.store.db import session_scope
from bot.store.tickets import NewReport, create_ticket, find_by_number, last_update, tickets_of_conversation
from bot.store.workdays import local_today, local_zone

logger = logging.getLogger(__name__)


def submit(report: NewReport) -> tuple[str, str, str, bool]:
    """(ticket number, department name, deadline, created) — idempotent per submission key."""
    tax = taxonomy.load()
    with session_scope() as session:
        ticket, created = create_ticket(session, report, tax)
        return ticket.number, ticket.lead_department.name, ticket.deadline.isoformat(), created


def _describe(ticket) -> str:
    entry = last_update(ticket)
    updated = ""
    if entry is not None:
        local = entry.at.replace(tzinfo=dt.timezone.utc).astimezone(local_zone())
        note = f"（{entry.note}）" if entry.note else ""
        updated = f"｜最近更新 {local:%m-%d %H:%M}{note}"
    overdue = "，已超期" if ticket.status in states.OPEN and ticket.deadline < local_today() else ""
    text = mask_phones_in(ticket.description)
    text = text if len(text) <= 30 else text[:30] + "…"
    return (
        f"· {ticket.number}：{text}\n"
        f"  状态：{states.LABELS.get(ticket.status, ticket.status)}{overdue}｜{ticket.lead_department.name}｜"
        f"时限 {ticket.deadline.isoformat()}{updated}"
    )


def conversation_summary(conversation_id: str) -> List[str]:
    with session_scope() as session:
        return [_describe(t) for t in tickets_of_conversation(session, conversation_id)]


def ticket_summary_if_owned(number: str, conversation_id: str) -> Optional[str]:
    with session_scope() as session:
        ticket = find_by_number(session, number)
        if ticket is not None and ticket.conversation_id == conversation_id:
            return _describe(ticket)
    return None


def ticket_summary_if_phone_matches(number: str, last4: str) -> Optional[str]:
    with session_scope() as session:
        ticket = find_by_number(session, number)
        if ticket is not None and ticket.phone and phone_last4(ticket.phone) == last4:
            return _describe(ticket)
    return None
