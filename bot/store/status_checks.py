"""Reading a ticket from another conversation: the phone's last four digits, with failed tries
counted here, per ticket number and per network source, over a window no conversation reset can
clear. A number that does not exist counts and answers exactly like one whose digits differ."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import limits
from bot.errors import TooManyAttempts
from bot.parsing import phone_last4
from bot.store.schema import StatusCheck, Ticket, utcnow
from bot.store.tickets import find_by_number

WINDOW = dt.timedelta(hours=24)
FAILURES_PER_TICKET = 5  # 5 of 10,000 possible endings a day: guessing one takes years
FAILURES_PER_SOURCE = 10  # one address trying many tickets


class TooManyTries(TooManyAttempts):
    """Checks of this ticket number (or from this source) are locked for now."""


def _failures(session: Session, since: dt.datetime, **where) -> int:
    query = (
        select(func.count()).select_from(StatusCheck).where(StatusCheck.succeeded.is_(False), StatusCheck.at >= since)
    )
    for column, value in where.items():
        query = query.where(getattr(StatusCheck, column) == value)
    return session.execute(query).scalar_one()


def locked(session: Session, number: str, source: Optional[str], now: Optional[dt.datetime] = None) -> bool:
    since = (now or utcnow()) - WINDOW
    if _failures(session, since, ticket_number=number[:40]) >= FAILURES_PER_TICKET:
        return True
    return source is not None and _failures(session, since, source=source[:64]) >= FAILURES_PER_SOURCE


def verify(
    session: Session,
    number: str,
    last4: str,
    conversation_id: str,
    source: Optional[str],
    now: Optional[dt.datetime] = None,
) -> Optional[Ticket]:
    """The ticket when `last4` ends the phone it was filed with; None otherwise (unknown number,
    anonymous ticket, other digits). Raises TooManyTries, before looking, while locked."""
    now = now or utcnow()
    if locked(session, number, source, now):
        raise TooManyTries(f"{number}: too many failed checks")
    ticket = find_by_number(session, number)
    matches = ticket is not None and bool(ticket.phone) and phone_last4(ticket.phone) == last4
    session.add(
        StatusCheck(
            ticket_number=number[:40],
            source=(source or None) and source[:64],
            conversation_id=(conversation_id or "")[: limits.CONVERSATION_ID],
            at=now,
            succeeded=matches,
        )
    )
    session.flush()
    return ticket if matches else None
