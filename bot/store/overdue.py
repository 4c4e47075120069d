"""The scheduled overdue check: an open ticket past its deadline gets one line in its history."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.schema import Ticket, utcnow
from bot.store.tickets import note_in_history
from bot.store.workdays import local_today


def note_overdue(session: Session, now: Optional[dt.datetime] = None) -> int:
    """Writes into the history, once, that an open ticket has passed its deadline."""
    now = now or utcnow()
    today = local_today(now)
    due = (
        session.execute(
            select(Ticket)
            .where(Ticket.is_overdue(today), Ticket.overdue_noted_at.is_(None))
            .limit(500)
            .with_for_update(of=Ticket)
        )
        .scalars()
        .all()
    )
    for ticket in due:
        ticket.overdue_noted_at = now
        note_in_history(session, ticket, "system", f"已超过办理时限（{ticket.deadline.isoformat()}）", now)
    session.flush()
    return len(due)
