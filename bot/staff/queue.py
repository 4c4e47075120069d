"""The ticket queue: filters, sorting and pages, done in the database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import List, Optional

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.staff.permissions import visible_tickets
from bot.store import states
from bot.store.schema import Ticket, User
from bot.store.tickets import KINDS
from bot.store.workdays import local_today
from bot.textnorm import clean_user_text

PAGE_SIZE = 50
SORTS = {
    "newest": Ticket.created_at.desc(),
    "oldest": Ticket.created_at.asc(),
    "deadline": Ticket.deadline.asc(),
}


# The queue's filters as they arrive in a URL (console and API alike): name, type, meaning.
PARAMETERS = (
    ("status", "string", "ticket state"),
    ("category", "string", "category id"),
    ("department", "string", "lead department id"),
    ("urgency", "string", "emergency | hazard | normal"),
    ("kind", "string", "report (投诉/求助) | enquiry (咨询件)"),
    ("overdue", "string", "1: only open tickets past their deadline"),
    ("flagged", "string", "1: only tickets flagged for the supervisor (emergencies, reopened by the resident)"),
    ("q", "string", "number, words or place"),
    ("from", "string", "created on or after (YYYY-MM-DD)"),
    ("to", "string", "created on or before (YYYY-MM-DD)"),
    ("sort", "string", "newest | oldest | deadline"),
    ("page", "integer", "1-based page of 50"),
)


@dataclass
class QueueFilter:
    status: str = ""
    category: str = ""
    department: str = ""
    urgency: str = ""
    kind: str = ""
    overdue: bool = False
    flagged: bool = False
    text: str = ""
    date_from: Optional[dt.date] = None
    date_to: Optional[dt.date] = None
    sort: str = "newest"
    page: int = 1

    @classmethod
    def from_query(cls, query) -> "QueueFilter":
        def words(name: str, limit: int) -> str:
            return clean_user_text(query.get(name, ""), limit)  # no NUL: PostgreSQL refuses it

        def date(name):
            try:
                return dt.date.fromisoformat(query.get(name, ""))
            except ValueError:
                return None

        try:
            page = max(1, int(query.get("page", "1")))
        except ValueError:
            page = 1
        sort = query.get("sort", "newest")
        return cls(
            status=query.get("status", "") if query.get("status", "") in states.LABELS else "",
            category=words("category", 64),
            department=words("department", 64),
            urgency=query.get("urgency", "") if query.get("urgency", "") in ("emergency", "hazard", "normal") else "",
            kind=query.get("kind", "") if query.get("kind", "") in KINDS else "",
            overdue=query.get("overdue") == "1",
            flagged=query.get("flagged") == "1",
            text=words("q", 100),
            date_from=date("from"),
            date_to=date("to"),
            sort=sort if sort in SORTS else "newest",
            page=page,
        )


@dataclass
class QueuePage:
    tickets: List[Ticket] = field(default_factory=list)
    total: int = 0
    page: int = 1
    pages: int = 1


def apply_filters(query, wanted: QueueFilter):
    if wanted.status:
        query = query.where(Ticket.status == wanted.status)
    if wanted.category:
        query = query.where(Ticket.category_id == wanted.category)
    if wanted.department:
        query = query.where(Ticket.lead_department_id == wanted.department)
    if wanted.urgency:
        query = query.where(Ticket.urgency == wanted.urgency)
    if wanted.kind:
        query = query.where(Ticket.kind == wanted.kind)
    if wanted.overdue:
        query = query.where(Ticket.is_overdue(local_today()))
    if wanted.flagged:
        query = query.where(Ticket.flagged.is_(True))
    if wanted.text:
        like = f"%{wanted.text.replace('%', '').replace('_', '')}%"
        columns = (Ticket.number, Ticket.description, Ticket.location)
        if wanted.text.lower() != wanted.text.upper():  # a letter with a case (a number "ms-2026…"): either case
            query = query.where(or_(*(c.ilike(like) for c in columns)))
        else:  # Chinese words, digits: no case to ignore, and LIKE is several times faster than ILIKE on UTF-8
            query = query.where(or_(*(c.like(like) for c in columns)))
    if wanted.date_from:
        query = query.where(Ticket.created_at >= dt.datetime.combine(wanted.date_from, dt.time()))
    if wanted.date_to:
        query = query.where(Ticket.created_at < dt.datetime.combine(wanted.date_to + dt.timedelta(days=1), dt.time()))
    return query


def search(session: Session, user: User, wanted: QueueFilter) -> QueuePage:
    query = apply_filters(visible_tickets(user, select(Ticket)), wanted)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(wanted.page, pages)
    rows = (
        session.execute(
            query.order_by(SORTS[wanted.sort], Ticket.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
        )
        .scalars()
        .all()
    )
    return QueuePage(list(rows), total, page, pages)
