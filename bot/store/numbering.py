"""Ticket numbers like MS-20261125-0007: a prefix, the local date and a sequence per day."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import settings
from bot.store.schema import DailySequence


def prefix() -> str:
    return settings.load().ticket_prefix


def next_number(session: Session, day: dt.date) -> str:
    """Take the next number of `day` inside the caller's transaction.

    The UPDATE locks the day's row (PostgreSQL) or the database (SQLite) until the caller
    commits, so two reports filed at the same moment never get the same number."""
    key = day.strftime("%Y%m%d")
    for _attempt in range(5):
        result = session.execute(
            update(DailySequence).where(DailySequence.day == key).values(last=DailySequence.last + 1)
        )
        if result.rowcount:
            last = session.get(DailySequence, key, populate_existing=True).last
            break
        try:
            with session.begin_nested():
                session.add(DailySequence(day=key, last=1))
            last = 1
            break
        except IntegrityError:
            continue  # another transaction created the day's row first: increment it instead
    else:
        raise RuntimeError("could not allocate a ticket number")
    width = max(4, len(str(last)))
    return f"{prefix()}-{key}-{last:0{width}d}"
