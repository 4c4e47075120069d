"""Supervisor figures: collected, solved, in progress and overdue, by department or category,
for a period — the ledger ("445 collected, 217 solved") the district reports — and the residents'
verdicts: satisfaction, reopen and response rates by department."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import List, Optional, Tuple

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from bot.ratings import REOPENING, SATISFIED
from bot.store import states
from bot.store.schema import Survey, Ticket
from bot.store.surveys import ANSWERED
from bot.store.workdays import local_today

SOLVED = (states.RESOLVED, states.CLOSED)


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive
    label: str

    @classmethod
    def month(cls, year: int, month: int) -> "Period":
        last = calendar.monthrange(year, month)[1]
        return cls(dt.date(year, month, 1), dt.date(year, month, last), f"{year}年{month}月")

    @classmethod
    def half_month(cls, year: int, month: int, second: bool) -> "Period":
        last = calendar.monthrange(year, month)[1]
        if second:
            return cls(dt.date(year, month, 16), dt.date(year, month, last), f"{year}年{month}月下半月")
        return cls(dt.date(year, month, 1), dt.date(year, month, 15), f"{year}年{month}月上半月")

    @classmethod
    def parse(cls, text: Optional[str], today: Optional[dt.date] = None) -> "Period":
        """'2026-11' (a month), '2026-11-1' / '2026-11-2' (its halves); the current month otherwise."""
        today = today or local_today()
        try:
            parts = (text or "").split("-")
            year, month = int(parts[0]), int(parts[1])
            if len(parts) == 3:
                return cls.half_month(year, month, parts[2] == "2")
            return cls.month(year, month)
        except (ValueError, IndexError):
            return cls.month(today.year, today.month)

    def bounds(self) -> Tuple[dt.datetime, dt.datetime]:
        return dt.datetime.combine(self.start, dt.time()), dt.datetime.combine(
            self.end + dt.timedelta(days=1), dt.time()
        )


@dataclass
class Row:
    key: str
    collected: int
    solved: int
    in_progress: int
    overdue: int

    @property
    def solved_rate(self) -> Optional[float]:
        return self.solved / self.collected if self.collected else None


def figures(session: Session, period: Period, by: str = "department") -> List[Row]:
    column = Ticket.lead_department_id if by == "department" else Ticket.category_id
    start, end = period.bounds()
    today = local_today()
    query = (
        select(
            column,
            func.count(),
            func.sum(case((Ticket.status.in_(SOLVED), 1), else_=0)),
            func.sum(case((Ticket.is_open, 1), else_=0)),
            func.sum(case((Ticket.is_overdue(today), 1), else_=0)),
        )
        .where(Ticket.created_at >= start, Ticket.created_at < end)
        .group_by(column)
        .order_by(func.count().desc())
    )
    return [Row(key, int(n), int(s or 0), int(p or 0), int(o or 0)) for key, n, s, p, o in session.execute(query)]


def totals(rows: List[Row]) -> Row:
    return Row(
        "合计",
        sum(r.collected for r in rows),
        sum(r.solved for r in rows),
        sum(r.in_progress for r in rows),
        sum(r.overdue for r in rows),
    )


@dataclass
class OverdueTicket:
    number: str
    description: str
    department_id: str
    deadline: dt.date
    days_over: int
    status: str


def overdue_open(session: Session, today: Optional[dt.date] = None) -> List[OverdueTicket]:
    """Every open ticket past its deadline, longest overdue first."""
    today = today or local_today()
    query = select(Ticket).where(Ticket.is_overdue(today)).order_by(Ticket.deadline.asc(), Ticket.id.asc())
    return [
        OverdueTicket(t.number, t.description, t.lead_department_id, t.deadline, (today - t.deadline).days, t.status)
        for t in session.execute(query).scalars()
    ]


@dataclass
class SatisfactionRow:
    """Surveys of resolutions made in the period, by the department that resolved them."""

    department_id: str
    surveyed: int
    answered: int
    satisfied: int
    reopened: int

    @property
    def response_rate(self) -> Optional[float]:
        return self.answered / self.surveyed if self.surveyed else None

    @property
    def satisfaction_rate(self) -> Optional[float]:
        """Very satisfied, satisfied and basically satisfied among the answers."""
        return self.satisfied / self.answered if self.answered else None

    @property
    def reopen_rate(self) -> Optional[float]:
        return self.reopened / self.surveyed if self.surveyed else None


def satisfaction(session: Session, period: Period) -> List[SatisfactionRow]:
    start, end = period.bounds()
    query = (
        select(
            Survey.department_id,
            func.count(),
            func.sum(case((Survey.status == ANSWERED, 1), else_=0)),
            func.sum(case((and_(Survey.status == ANSWERED, Survey.rating.in_(SATISFIED)), 1), else_=0)),
            func.sum(case((and_(Survey.status == ANSWERED, Survey.rating.in_(REOPENING)), 1), else_=0)),
        )
        .where(Survey.created_at >= start, Survey.created_at < end)
        .group_by(Survey.department_id)
        .order_by(Survey.department_id)
    )
    return [
        SatisfactionRow(key, int(n), int(a or 0), int(s or 0), int(r or 0))
        for key, n, a, s, r in session.execute(query)
    ]


def satisfaction_total(rows: List[SatisfactionRow]) -> SatisfactionRow:
    return SatisfactionRow(
        "合计",
        sum(r.surveyed for r in rows),
        sum(r.answered for r in rows),
        sum(r.satisfied for r in rows),
        sum(r.reopened for r in rows),
    )


def badly_rated(rows: List[SatisfactionRow], below: float = 0.8, at_least: int = 1) -> List[SatisfactionRow]:
    """Departments whose satisfaction rate is under `below`, worst first (the bulletin names them)."""
    rated = [
        r for r in rows if r.answered >= at_least and r.satisfaction_rate is not None and r.satisfaction_rate < below
    ]
    return sorted(rated, key=lambda r: (r.satisfaction_rate, -r.answered))
