"""Followers (关注居民) of a ticket: residents who reported the same problem while it was open and
chose to follow it rather than file their own, and the residents of tickets merged into it.

A follower is told of the ticket exactly like its own resident (bot/store/outbox.py `recipients`):
every status change the state table tells, every staff reply, the survey and its reminder.

Their survey answers — the rule, decided here once:
- A follower's verdict is that resident's verdict on the work, recorded against the ticket's
  survey (one per follower and survey) and shown to staff on the ticket page.
- It does not close or reopen the ticket: only the ticket's own resident (or a phone follow-up,
  电话回访) decides that, so one ticket is never closed by one resident and reopened by another.
- A follower's 不满意 / 非常不满意 flags the ticket for the supervisor and writes a staff-only line
  in its history, so nobody's dissatisfaction is lost.
- The satisfaction figures (bot/staff/statistics.py) count one verdict per resolution — the
  ticket's own — as before; followers' verdicts are listed with the ticket, not added to the rates,
  so a popular problem does not weigh more in a department's rate than a lonely one."""

from __future__ import annotations

import datetime as dt
from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.ratings import LEVELS, Rating
from bot.store import states, surveys
from bot.store.schema import FollowerVerdict, Survey, Ticket, TicketFollower, utcnow
from bot.store.tickets import note_in_history

REPORT = "report"  # their own report of the same problem joined the ticket
MERGE = "merge"  # their ticket was merged into it by staff
VIA_LABELS = {REPORT: "反映同一问题后关注", MERGE: "工单并入"}


def follow(
    session: Session,
    ticket: Ticket,
    conversation_id: str,
    via: str = REPORT,
    from_ticket: Optional[Ticket] = None,
    description: Optional[str] = None,
    location: Optional[str] = None,
    phone: Optional[str] = None,
    now: Optional[dt.datetime] = None,
    note: Optional[str] = None,
) -> Optional[TicketFollower]:
    """Makes the conversation a follower of the ticket (once; its own resident already hears of it),
    with `note` as a staff-only line in the ticket's history when it is new. Returns the follower,
    or None for the ticket's own conversation."""
    if not conversation_id or conversation_id == ticket.conversation_id:
        return None
    existing = find(session, ticket.id, conversation_id)
    if existing is not None:
        return existing
    now = now or utcnow()
    follower = TicketFollower(
        ticket_id=ticket.id,
        conversation_id=conversation_id,
        via=via,
        from_ticket_id=from_ticket.id if from_ticket is not None else None,
        description=description,
        location=location,
        phone=phone,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(follower)
            session.flush()
    except IntegrityError:  # the same resident answered twice at once
        return find(session, ticket.id, conversation_id)
    if note:
        note_in_history(session, ticket, "resident", note, now)
        session.flush()
    return follower


def find(session: Session, ticket_id: int, conversation_id: str) -> Optional[TicketFollower]:
    return session.execute(
        select(TicketFollower).where(
            TicketFollower.ticket_id == ticket_id, TicketFollower.conversation_id == conversation_id
        )
    ).scalar_one_or_none()


def of_ticket(session: Session, ticket_id: int) -> List[TicketFollower]:
    return list(
        session.execute(
            select(TicketFollower).where(TicketFollower.ticket_id == ticket_id).order_by(TicketFollower.id)
        ).scalars()
    )


def tickets_followed(session: Session, conversation_id: str, limit: int = 10) -> List[Ticket]:
    return list(
        session.execute(
            select(Ticket)
            .join(TicketFollower, TicketFollower.ticket_id == Ticket.id)
            .where(TicketFollower.conversation_id == conversation_id)
            .order_by(TicketFollower.created_at.desc(), TicketFollower.id.desc())
            .limit(limit)
        ).scalars()
    )


def concerns(session: Session, ticket: Ticket, conversation_id: str) -> bool:
    """Is this conversation told of the ticket: its own resident's, or a follower's?"""
    return ticket.conversation_id == conversation_id or find(session, ticket.id, conversation_id) is not None


def awaiting_verdict(session: Session, ticket: Ticket, conversation_id: str) -> Optional[Survey]:
    """The survey this conversation may answer now: the ticket's own resident answers the ticket's
    survey; a follower answers it once."""
    survey = surveys.awaiting_verdict(session, ticket)
    if survey is None or ticket.conversation_id == conversation_id:
        return survey
    if find(session, ticket.id, conversation_id) is None:
        return None
    answered = session.execute(
        select(FollowerVerdict.id).where(
            FollowerVerdict.survey_id == survey.id, FollowerVerdict.conversation_id == conversation_id
        )
    ).first()
    return None if answered else survey


def record_verdict(
    session: Session, ticket: Ticket, conversation_id: str, rating: Rating, now: Optional[dt.datetime] = None
) -> FollowerVerdict:
    """A follower's answer to the ticket's survey (see the module's rule). Raises SurveyClosed
    when there is nothing for them to answer."""
    now = now or utcnow()
    survey = awaiting_verdict(session, ticket, conversation_id)
    if survey is None or ticket.conversation_id == conversation_id:
        raise surveys.SurveyClosed("这个工单现在没有待评价的回访")
    verdict = FollowerVerdict(
        survey_id=survey.id,
        conversation_id=conversation_id,
        rating=rating.level,
        comment=rating.comment,
        created_at=now,
    )
    session.add(verdict)
    if rating.reopens:
        ticket.flagged = True
        comment = f"；意见：{rating.comment}" if rating.comment else ""
        note_in_history(session, ticket, "follower", f"关注居民评价：{rating.label}{comment}。已标记给督查", now)
    session.flush()
    return verdict


def verdicts_of(session: Session, ticket_id: int) -> List[FollowerVerdict]:
    return list(
        session.execute(
            select(FollowerVerdict)
            .join(Survey, Survey.id == FollowerVerdict.survey_id)
            .where(Survey.ticket_id == ticket_id)
            .order_by(FollowerVerdict.id)
        ).scalars()
    )


def take_over(session: Session, merged: Ticket, into: Ticket, now: Optional[dt.datetime] = None) -> List[str]:
    """On a merge: the merged ticket's resident and its followers follow the ticket it went into.
    Returns the conversations that now follow `into`."""
    joining = [(merged.conversation_id, merged.description, merged.location, merged.phone)]
    joining += [(f.conversation_id, f.description, f.location, f.phone) for f in of_ticket(session, merged.id)]
    moved: List[str] = []
    for conversation, description, location, phone in joining:
        if conversation and follow(
            session,
            into,
            conversation,
            MERGE,
            from_ticket=merged,
            description=description,
            location=location,
            phone=phone,
            now=now,
        ):
            moved.append(conversation)
    return moved


def rating_label(level: int) -> str:
    return LEVELS.get(level, str(level))


def open_for_following(ticket: Ticket) -> bool:
    """A ticket a new report may still join: open (not yet resolved or closed)."""
    return ticket.status in states.OPEN
