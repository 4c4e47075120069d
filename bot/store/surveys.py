"""Satisfaction surveys: opened when a ticket is resolved, answered in the chat or by a phone
follow-up (电话回访), reminded once after 3 days, closed as not rated 3 days after that. The two
lowest levels reopen the ticket for the same department and flag it for the supervisor."""

from __future__ import annotations

import datetime as dt
from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import taxonomy
from bot.errors import Conflict
from bot.ratings import Rating
from bot.store import outbox, states
from bot.store.schema import Survey, Ticket, utcnow
from bot.store.tickets import deadline_from, transition
from bot.store.workdays import local_today

ASKED = "asked"
REMINDED = "reminded"
ANSWERED = "answered"
NOT_RATED = "not_rated"
OPEN = (ASKED, REMINDED)

REMIND_AFTER = dt.timedelta(days=3)
CLOSE_AFTER_REMINDER = dt.timedelta(days=3)

STATUS_LABELS = {ASKED: "待评价", REMINDED: "已提醒", ANSWERED: "已评价", NOT_RATED: "未评价"}
SOURCE_LABELS = {"chat": "对话评价", "phone": "电话回访"}


class SurveyClosed(Conflict):
    """No survey of this ticket is waiting for an answer."""


def open_survey(session: Session, ticket: Ticket, now: Optional[dt.datetime] = None) -> Survey:
    survey = Survey(
        ticket_id=ticket.id, department_id=ticket.lead_department_id, status=ASKED, created_at=now or utcnow()
    )
    session.add(survey)
    session.flush()
    return survey


def open_survey_of(session: Session, ticket_id: int) -> Optional[Survey]:
    return (
        session.execute(
            select(Survey).where(Survey.ticket_id == ticket_id, Survey.status.in_(OPEN)).order_by(Survey.id.desc())
        )
        .scalars()
        .first()
    )


def awaiting_verdict(session: Session, ticket: Ticket) -> Optional[Survey]:
    """The survey a resident's (or a phone follow-up's) verdict would answer now, if any."""
    return open_survey_of(session, ticket.id) if ticket.status == states.RESOLVED else None


def of_ticket(session: Session, ticket_id: int) -> List[Survey]:
    return list(session.execute(select(Survey).where(Survey.ticket_id == ticket_id).order_by(Survey.id)).scalars())


def record(
    session: Session, ticket: Ticket, rating: Rating, source: str, actor: str, now: Optional[dt.datetime] = None
) -> Survey:
    """The resident's verdict: closes the ticket, or reopens it (same department, flagged)."""
    now = now or utcnow()
    survey = awaiting_verdict(session, ticket)
    if survey is None:
        raise SurveyClosed("这个工单现在没有待评价的回访")
    survey.status = ANSWERED
    survey.rating = rating.level
    survey.comment = rating.comment
    survey.source = source
    survey.recorded_by = actor
    survey.closed_at = now
    note = f"{SOURCE_LABELS.get(source, source)}：{rating.label}" + (
        f"；意见：{rating.comment}" if rating.comment else ""
    )
    if rating.reopens:
        transition(session, ticket, states.REOPENED, actor=actor, note=note + "。按居民意见重新办理", now=now)
        ticket.flagged = True
        ticket.deadline = deadline_from(local_today(now), taxonomy.load(), ticket.category_id, ticket.urgency)
        ticket.overdue_noted_at = None
    else:
        transition(session, ticket, states.CLOSED, actor=actor, note=note, now=now)
    session.flush()
    return survey


def send_due_reminders(session: Session, now: Optional[dt.datetime] = None) -> int:
    """One reminder for each survey unanswered for 3 days."""
    now = now or utcnow()
    due = (
        session.execute(
            select(Survey).where(Survey.status == ASKED, Survey.created_at <= now - REMIND_AFTER).with_for_update()
        )
        .scalars()
        .all()
    )
    for survey in due:
        survey.status = REMINDED
        survey.reminded_at = now
        outbox.enqueue(session, survey.ticket, outbox.SURVEY_REMINDER, now=now)
    session.flush()
    return len(due)


def close_unrated(session: Session, now: Optional[dt.datetime] = None) -> int:
    """Closes, as not rated, each ticket whose survey went unanswered 3 days after the reminder."""
    now = now or utcnow()
    due = (
        session.execute(
            select(Survey)
            .where(Survey.status == REMINDED, Survey.reminded_at <= now - CLOSE_AFTER_REMINDER)
            .with_for_update()
        )
        .scalars()
        .all()
    )
    for survey in due:
        survey.status = NOT_RATED
        survey.closed_at = now
        if survey.ticket.status == states.RESOLVED:
            transition(session, survey.ticket, states.CLOSED, actor="system", note="居民未评价，自动关闭", now=now)
    session.flush()
    return len(due)
