"""Supervisor figures: collected, solved, in progress and overdue, by department or category,
for a period — the ledger ("445 collected, 217 solved") the district reports — the three rates of
12345 practice (response, resolution, satisfaction), the weekly trend, and the residents' verdicts:
satisfaction, reopen and survey response rates by department."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from sqlalchemy import and_, case, func, or_, select, union_all
from sqlalchemy.orm import Session

from bot import settings, taxonomy
from bot.errors import InvalidInput
from bot.ratings import LEVELS, REOPENING, SATISFIED
from bot.store import states
from bot.store.schema import Survey, Ticket, TicketEvent, utcnow
from bot.store.surveys import ANSWERED
from bot.store.workdays import local_today, local_zone, utc_midnight

SOLVED = (states.RESOLVED, states.CLOSED)
ANSWERING_STATES = tuple(sorted(states.ANSWERING))  # what answers a resident (响应): bot/store/states.py
PERIOD_PATTERN = "YYYY-MM（整月）或 YYYY-MM-1 / YYYY-MM-2（上 / 下半月）"


class BadPeriod(InvalidInput):
    """A period the pages cannot show: answered 400 with what is expected."""

    status = 400


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
        """'2026-11' (a month), '2026-11-1' / '2026-11-2' (its halves); the current month when
        nothing is given. Anything else raises BadPeriod."""
        today = today or local_today()
        text = (text or "").strip()
        if not text:
            return cls.month(today.year, today.month)
        match = re.fullmatch(r"(\d{4})-(\d{1,2})(?:-([12]))?", text)
        if match is None or not 2000 <= int(match.group(1)) <= 2100 or not 1 <= int(match.group(2)) <= 12:
            raise BadPeriod(f"期间「{text[:40]}」看不懂：请选择月份或半月，格式为 {PERIOD_PATTERN}", field="period")
        year, month = int(match.group(1)), int(match.group(2))
        if match.group(3):
            return cls.half_month(year, month, match.group(3) == "2")
        return cls.month(year, month)

    @property
    def value(self) -> str:
        """The form this period is written in a URL ('2026-11', '2026-11-1')."""
        if self.start.day == 1 and self.end.month == self.start.month and self.end.day > 15:
            return f"{self.start:%Y-%m}"
        return f"{self.start:%Y-%m}-{1 if self.start.day == 1 else 2}"

    @property
    def is_month(self) -> bool:
        return "-" not in self.value[5:]

    @classmethod
    def recent(cls, today: Optional[dt.date] = None, months: int = 12) -> List["Period"]:
        """The choices of the period selector: each of the last `months` months, newest first,
        followed by its two halves (those begun by `today`)."""
        today = today or local_today()
        year, month, found = today.year, today.month, []
        for _ in range(months):
            found.append(cls.month(year, month))
            found.extend(
                p for p in (cls.half_month(year, month, False), cls.half_month(year, month, True)) if p.start <= today
            )
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        return found

    def bounds(self) -> Tuple[dt.datetime, dt.datetime]:
        """The period's first and last local midnight as the store keeps times (naive UTC): a report
        filed at 00:30 on the 1st, local time, belongs to that month, not to the one before."""
        zone = local_zone()
        return utc_midnight(self.start, zone), utc_midnight(self.end + dt.timedelta(days=1), zone)


@dataclass
class Row:
    key: str
    collected: int
    solved: int
    in_progress: int  # 办理中: states.IN_HAND
    overdue: int
    # The response rate's two counts: tickets due an answer by now, and those answered in time.
    response_due: int = 0
    answered_in_time: int = 0
    # The satisfaction rate's: verdicts given, and satisfied ones (surveys of the period).
    rated: int = 0
    satisfied: int = 0

    @property
    def solved_rate(self) -> Optional[float]:
        """Resolution rate (办结率): solved ÷ collected."""
        return self.solved / self.collected if self.collected else None

    @property
    def response_rate(self) -> Optional[float]:
        """Response rate (响应率): answered within the response deadline ÷ due an answer."""
        return self.answered_in_time / self.response_due if self.response_due else None

    @property
    def satisfaction_rate(self) -> Optional[float]:
        """Satisfaction rate (满意率): as SatisfactionRow.satisfaction_rate."""
        return self.satisfied / self.rated if self.rated else None


def _key_column(by: str):
    return Ticket.lead_department_id if by == "department" else Ticket.category_id


def figures(
    session: Session,
    period: Period,
    by: str = "department",
    now: Optional[dt.datetime] = None,
    rated: Optional[List["SatisfactionRow"]] = None,
) -> List[Row]:
    """The ledger and the three rates of the tickets collected in the period, by department or
    category: the ledger and the response rate in one pass over the period's tickets. `rated`:
    the period's satisfaction(), when the page has it already (by department, the same verdicts)."""
    column = _key_column(by)
    start, end = period.bounds()
    now = now or utcnow()
    today = local_today(now)
    query = (
        select(
            column,
            func.count(),
            func.sum(case((Ticket.status.in_(SOLVED), 1), else_=0)),
            func.sum(case((Ticket.status.in_(states.IN_HAND), 1), else_=0)),
            func.sum(case((Ticket.is_overdue(today), 1), else_=0)),
            *_response_counts(now),
        )
        .where(Ticket.created_at >= start, Ticket.created_at < end)
        .group_by(column)
        .order_by(func.count().desc())
    )
    rows = [
        Row(key, int(n), int(s or 0), int(p or 0), int(o or 0), int(d or 0), int(a or 0))
        for key, n, s, p, o, d, a in session.execute(query)
    ]
    if by == "department" and rated is not None:
        verdicts = {r.department_id: (r.answered, r.satisfied) for r in rated}
    else:
        verdicts = _verdicts(session, period, by)
    for row in rows:
        row.rated, row.satisfied = verdicts.get(row.key, (0, 0))
    return rows


def response_rules() -> str:
    """The response deadlines in force, in words ("紧急 1 小时，安全隐患当个工作日，一般 1 个工作日")."""
    tax, current = taxonomy.load(), settings.load()
    words = []
    for urgency in ("emergency", "hazard", "normal"):
        rule = current.response_deadline(urgency)
        if rule.hours is not None:
            told = f" {rule.hours} 小时"
        else:
            told = "当个工作日" if not rule.working_days else f" {rule.working_days} 个工作日"
        words.append(f"{tax.urgency_names.get(urgency, urgency)}{told}")
    return "，".join(words)


def _response_counts(now: dt.datetime):
    """The response rate's two sums over tickets: due an answer by `now` — answered, or past the
    response deadline kept on the ticket (by urgency, bot/store/workdays.py) — and answered by that
    deadline (the first answer: states.answers). A ticket the resident cancelled is neither."""
    counted = Ticket.status != states.CANCELLED
    due = and_(counted, or_(Ticket.responded_at.isnot(None), Ticket.response_due <= now))
    in_time = and_(counted, Ticket.responded_at <= Ticket.response_due)
    return func.sum(case((due, 1), else_=0)), func.sum(case((in_time, 1), else_=0))


def responses(
    session: Session, period: Period, by: str = "department", now: Optional[dt.datetime] = None
) -> Dict[str, Tuple[int, int]]:
    """(due an answer, answered in time) by department or category, for the tickets collected in
    the period (see _response_counts); groups with none due are left out."""
    column = _key_column(by)
    start, end = period.bounds()
    query = (
        select(column, *_response_counts(now or utcnow()))
        .where(Ticket.created_at >= start, Ticket.created_at < end)
        .group_by(column)
    )
    counted = {key: (int(d or 0), int(a or 0)) for key, d, a in session.execute(query)}
    return {key: pair for key, pair in counted.items() if pair[0]}


def _verdicts(session: Session, period: Period, by: str) -> Dict[str, Tuple[int, int]]:
    """(answered, satisfied) surveys of the period by department, or by the ticket's category."""
    start, end = period.bounds()
    answered = Survey.status == ANSWERED
    column = Survey.department_id if by == "department" else Ticket.category_id
    query = select(
        column,
        func.sum(case((answered, 1), else_=0)),
        func.sum(case((and_(answered, Survey.rating.in_(SATISFIED)), 1), else_=0)),
    ).where(Survey.created_at >= start, Survey.created_at < end)
    if by != "department":
        query = query.join(Ticket, Ticket.id == Survey.ticket_id)
    return {key: (int(a or 0), int(s or 0)) for key, a, s in session.execute(query.group_by(column))}


def totals(rows: List[Row]) -> Row:
    return Row(
        "合计",
        sum(r.collected for r in rows),
        sum(r.solved for r in rows),
        sum(r.in_progress for r in rows),
        sum(r.overdue for r in rows),
        sum(r.response_due for r in rows),
        sum(r.answered_in_time for r in rows),
        sum(r.rated for r in rows),
        sum(r.satisfied for r in rows),
    )


@dataclass
class Week:
    start: dt.date
    collected: int = 0
    solved: int = 0

    @property
    def label(self) -> str:
        return f"{self.start.month}月{self.start.day}日起"


def weekly_trend(session: Session, period: Period, weeks: int = 12) -> List[Week]:
    """Collected and solved (first resolved) per week, Monday to Sunday of the local calendar (the
    settings' time zone), for the `weeks` weeks up to the one the period ends in."""
    last_monday = period.end - dt.timedelta(days=period.end.weekday())
    mondays = [last_monday - dt.timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    found = [Week(monday) for monday in mondays]
    # Each week's first local midnight as the store keeps times (naive UTC), and the next week's.
    zone = local_zone()
    edges = [utc_midnight(monday, zone) for monday in [*mondays, mondays[-1] + dt.timedelta(days=7)]]

    def week_of(column):
        return case(*[(column < edge, index) for index, edge in enumerate(edges[1:])], else_=-1)

    # One count per week, each a range of the created_at index (cheaper than a week worked out
    # for each of the 12 weeks' tickets).
    weekly = [
        select(func.count()).where(Ticket.created_at >= begin, Ticket.created_at < end).scalar_subquery()
        for begin, end in zip(edges, edges[1:])
    ]
    for week, n in zip(found, session.execute(select(*weekly)).one()):
        week.collected = int(n)
    resolved = (
        select(TicketEvent.ticket_id, func.min(TicketEvent.at).label("at"))
        .where(TicketEvent.kind == "status", TicketEvent.to_status == states.RESOLVED)
        .where(TicketEvent.at >= edges[0], TicketEvent.at < edges[-1])
        .group_by(TicketEvent.ticket_id)
        .subquery()
    )
    solved = week_of(resolved.c.at).label("week")
    for index, n in session.execute(select(solved, func.count()).group_by(solved)):
        found[index].solved += int(n)
    return found


@dataclass
class OverdueTicket:
    number: str
    description: str
    department_id: str
    deadline: dt.date
    days_over: int
    status: str


def overdue_open(
    session: Session, today: Optional[dt.date] = None, per_department: int = 20
) -> Tuple[List[OverdueTicket], Dict[str, int]]:
    """The open tickets past their deadline, longest overdue first — at most `per_department` of
    each department — and how many each department has in all: the counts in one statement, the
    longest overdue of every department in another (one indexed part per department, reading
    only the rows shown: ix_tickets_open_department_deadline)."""
    today = today or local_today()
    overdue = Ticket.is_overdue(today)
    counts = {
        department: int(n)
        for department, n in session.execute(
            select(Ticket.lead_department_id, func.count()).where(overdue).group_by(Ticket.lead_department_id)
        )
    }
    parts = [
        select(
            select(
                Ticket.id,
                Ticket.number,
                Ticket.description,
                Ticket.lead_department_id.label("department"),
                Ticket.deadline,
                Ticket.status,
            )
            .where(overdue, Ticket.lead_department_id == department)
            .order_by(Ticket.deadline.asc(), Ticket.id.asc())
            .limit(per_department)
            .subquery()
        )
        for department in sorted(counts)
    ]
    rows = sorted(session.execute(union_all(*parts)), key=lambda r: (r.deadline, r.id)) if parts else []
    tickets = [
        OverdueTicket(r.number, r.description, r.department, r.deadline, (today - r.deadline).days, r.status)
        for r in rows
    ]
    return tickets, counts


@dataclass
class Reopened:
    """A ticket a resident rated 不满意 / 非常不满意 in the period, and so reopened."""

    number: str
    description: str
    department_id: str
    rating: str
    comment: str
    rated_at: dt.datetime
    status: str


def reopened(session: Session, period: Period) -> List[Reopened]:
    """The tickets reopened by a dissatisfied verdict given in the period, most recent first."""
    start, end = period.bounds()
    query = (
        select(Survey, Ticket)
        .join(Ticket, Ticket.id == Survey.ticket_id)
        .where(Survey.status == ANSWERED, Survey.rating.in_(REOPENING))
        .where(Survey.closed_at >= start, Survey.closed_at < end)
        .order_by(Survey.closed_at.desc(), Survey.id.desc())
    )
    return [
        Reopened(
            t.number,
            t.description,
            v.department_id,
            LEVELS.get(v.rating, ""),
            v.comment or "",
            v.closed_at,
            t.status,
        )
        for v, t in session.execute(query)
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


@dataclass
class Kinds:
    """The period's tickets by kind, as 12345 centres count them: 投诉/求助 and 咨询."""

    reports: int = 0
    enquiries: int = 0


def kinds(session: Session, period: Period) -> Kinds:
    """How many reports and how many enquiries were collected in the period (one grouped query)."""
    start, end = period.bounds()
    counted = dict(
        session.execute(
            select(Ticket.kind, func.count())
            .where(Ticket.created_at >= start, Ticket.created_at < end)
            .group_by(Ticket.kind)
        ).all()
    )
    return Kinds(reports=int(counted.get("report", 0)), enquiries=int(counted.get("enquiry", 0)))
