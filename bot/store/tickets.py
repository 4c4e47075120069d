"""Creating, finding and changing tickets. Every change is written to the ticket's history."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store import states
from bot.store.numbering import next_number
from bot.store.schema import Ticket, TicketEvent, utcnow
from bot.store.workdays import add_working_days, holidays, local_today
from bot.taxonomy import Taxonomy


@dataclass
class NewReport:
    submission_key: str
    conversation_id: str
    description: str
    category_id: str
    urgency: str = "normal"
    category_confidence: Optional[float] = None
    urgency_confidence: Optional[float] = None
    location: Optional[str] = None
    detail: Optional[str] = None
    photo_url: Optional[str] = None
    phone: Optional[str] = None
    script: Optional[str] = None
    channel: str = "chat"
    actor: str = "resident"


def create_ticket(session: Session, report: NewReport, taxonomy: Taxonomy,
                  now: Optional[dt.datetime] = None) -> tuple[Ticket, bool]:
    """Create the ticket of a confirmed report, or return the one already created for the same
    submission key. Returns (ticket, created)."""
    existing = find_by_submission_key(session, report.submission_key)
    if existing is not None:
        return existing, False
    now = now or utcnow()
    today = local_today(now)
    category = report.category_id if report.category_id in taxonomy.categories else "other"
    ticket = Ticket(
        number=next_number(session, today),
        submission_key=report.submission_key,
        conversation_id=report.conversation_id,
        channel=report.channel,
        description=report.description,
        category_id=category,
        category_confidence=report.category_confidence,
        urgency=report.urgency,
        urgency_confidence=report.urgency_confidence,
        location=report.location,
        detail=report.detail,
        photo_url=report.photo_url,
        phone=report.phone,
        script=report.script,
        status=states.SUBMITTED,
        lead_department_id=taxonomy.categories[category].department_id,
        deadline=deadline_from(today, taxonomy, category, report.urgency),
        flagged=report.urgency == "emergency",
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(ticket)
            session.flush()
            session.add(TicketEvent(ticket_id=ticket.id, at=now, actor=report.actor,
                                    from_status=None, to_status=states.SUBMITTED, note="收到反映"))
            session.flush()
    except IntegrityError:
        # The same submission was committed by a concurrent retry in the meantime.
        existing = find_by_submission_key(session, report.submission_key)
        if existing is None:
            raise
        return existing, False
    return ticket, True


def deadline_from(day: dt.date, taxonomy: Taxonomy, category_id: str, urgency: str) -> dt.date:
    """The category's (or the urgency's shorter) working days after `day`; unknown categories count as "other"."""
    category = category_id if category_id in taxonomy.categories else "other"
    return add_working_days(day, taxonomy.deadline_days(category, urgency), holidays())


def find_by_submission_key(session: Session, key: str) -> Optional[Ticket]:
    return session.execute(select(Ticket).where(Ticket.submission_key == key)).scalar_one_or_none()


def find_by_number(session: Session, number: str) -> Optional[Ticket]:
    return session.execute(select(Ticket).where(Ticket.number == number)).scalar_one_or_none()


def tickets_of_conversation(session: Session, conversation_id: str, limit: int = 10) -> List[Ticket]:
    return list(
        session.execute(
            select(Ticket).where(Ticket.conversation_id == conversation_id)
            .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)
        ).scalars()
    )


def transition(session: Session, ticket: Ticket, target: str, actor: str, note: str = "",
               now: Optional[dt.datetime] = None) -> TicketEvent:
    """Move a ticket to another state, refusing what the state table does not allow."""
    states.check(ticket.status, target, note)
    now = now or utcnow()
    entry = TicketEvent(ticket_id=ticket.id, at=now, actor=actor, from_status=ticket.status,
                        to_status=target, note=note or None)
    ticket.status = target
    ticket.updated_at = now
    session.add(entry)
    session.flush()
    return entry


def last_update(ticket: Ticket) -> Optional[TicketEvent]:
    return ticket.events[-1] if ticket.events else None
