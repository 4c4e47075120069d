"""The outbox of messages for residents. A message is written in the transaction of the change it
tells of; the deliverer claims it, pushes it, and marks it. A claim expires, so a deliverer that
died mid-way is taken over; the action that shows the message skips one the resident already got."""

from __future__ import annotations

import datetime as dt
from typing import List, Optional, Tuple

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from bot.store import states
from bot.store.schema import Notification, Ticket, TicketEvent, TicketFollower, utcnow

PENDING = "pending"
SENDING = "sending"
WAITING = "waiting"  # the channel cannot push: shown at the resident's next message
DELIVERED = "delivered"
UNDELIVERED = (PENDING, SENDING, WAITING)

STATUS_LABELS = {PENDING: "待发送", SENDING: "发送中", WAITING: "待居民下次对话时告知", DELIVERED: "已送达"}
VIA_LABELS = {"push": "推送", "next_message": "对话中告知"}

REPLY = "reply"
SURVEY_REMINDER = "survey_reminder"
# What each kind of message is called on the ticket page: a change of state the state table says
# the resident is told of (bot/store/states.py TOLD), a staff reply, a survey reminder.
KIND_LABELS = {**{state: told.label for state, told in states.TOLD.items()}, REPLY: "答复", SURVEY_REMINDER: "评价提醒"}


def resident_line(event: TicketEvent) -> Optional[str]:
    """How a history line reads to the resident; None for the lines only staff may see (internal
    notes, returns between departments, corrections, the overdue mark). The state table says which
    changes they see and whose note is written for them."""
    if event.kind == REPLY:
        return event.note
    if event.kind != "status" or event.from_status == event.to_status or event.to_status not in states.SEEN:
        return None
    label = states.LABELS.get(event.to_status, event.to_status)
    told = states.TOLD.get(event.to_status)
    return f"{label}：{event.note}" if told and told.note and event.note else label


def last_seen_by_resident(ticket: Ticket) -> Optional[Tuple[TicketEvent, str]]:
    for event in reversed(ticket.events):
        line = resident_line(event)
        if line is not None:
            return event, line
    return None


MAX_PUSH_ATTEMPTS = 6
CLAIM_SECONDS = 60


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, … at most an hour between attempts."""
    return dt.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def recipients(session: Session, ticket: Ticket) -> List[str]:
    """The conversations told of a ticket: the one it came from (none for tickets filed by staff),
    then its followers' (bot/store/followers.py), each once."""
    followers = session.execute(
        select(TicketFollower.conversation_id).where(TicketFollower.ticket_id == ticket.id).order_by(TicketFollower.id)
    ).scalars()
    found: List[str] = [ticket.conversation_id] if ticket.conversation_id else []
    for conversation_id in followers:
        if conversation_id not in found:
            found.append(conversation_id)
    return found


def enqueue(
    session: Session, ticket: Ticket, kind: str, note: Optional[str] = None, now: Optional[dt.datetime] = None
) -> List[Notification]:
    """A message about `ticket` for each conversation told of it (`recipients`)."""
    now = now or utcnow()
    messages = []
    for conversation_id in recipients(session, ticket):
        message = Notification(
            ticket_id=ticket.id,
            conversation_id=conversation_id,
            kind=kind,
            note=note,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(message)
        messages.append(message)
    session.flush()
    return messages


def claim_due(
    session: Session, holder_seconds: int = CLAIM_SECONDS, limit: int = 20, now: Optional[dt.datetime] = None
) -> List[Notification]:
    """Claims messages due for a push (and ones whose claim ran out), committed by the caller
    before anything is sent."""
    now = now or utcnow()
    due = or_(
        and_(Notification.status == PENDING, Notification.next_attempt_at <= now),
        and_(Notification.status == SENDING, Notification.claimed_until < now),
    )
    ids = list(session.execute(select(Notification.id).where(due).order_by(Notification.id).limit(limit)).scalars())
    claimed = []
    for message_id in ids:
        result = session.execute(
            update(Notification)
            .where(Notification.id == message_id, due)
            .values(
                status=SENDING,
                claimed_until=now + dt.timedelta(seconds=holder_seconds),
                attempts=Notification.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            claimed.append(message_id)
    session.flush()
    return [session.get(Notification, i, populate_existing=True) for i in claimed]


def mark_delivered(session: Session, message_id: int, via: str, now: Optional[dt.datetime] = None) -> bool:
    """True if this call delivered it; False if it had been delivered already."""
    result = session.execute(
        update(Notification)
        .where(Notification.id == message_id, Notification.status != DELIVERED)
        .values(status=DELIVERED, delivered_at=now or utcnow(), delivered_via=via, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def push_failed(session: Session, message_id: int, error: str, now: Optional[dt.datetime] = None) -> Optional[str]:
    """After a failed push: try again later, or, after the last attempt, wait for the resident's
    next message. Returns the new status (None if it was delivered meanwhile)."""
    now = now or utcnow()
    message = session.get(Notification, message_id, populate_existing=True)
    if message is None or message.status == DELIVERED:
        return None
    message.last_error = error[:500]
    message.claimed_until = None
    if message.attempts >= MAX_PUSH_ATTEMPTS:
        message.status = WAITING
    else:
        message.status = PENDING
        message.next_attempt_at = now + backoff(message.attempts)
    session.flush()
    return message.status


def wait_for_next_message(session: Session, message_id: int, reason: str) -> None:
    session.execute(
        update(Notification)
        .where(Notification.id == message_id, Notification.status != DELIVERED)
        .values(status=WAITING, claimed_until=None, last_error=reason[:500])
        .execution_options(synchronize_session=False)
    )


def undelivered_of(session: Session, conversation_id: str) -> List[Notification]:
    return list(
        session.execute(
            select(Notification)
            .where(Notification.conversation_id == conversation_id, Notification.status.in_(UNDELIVERED))
            .order_by(Notification.id)
        ).scalars()
    )


def of_ticket(session: Session, ticket_id: int) -> List[Notification]:
    return list(
        session.execute(
            select(Notification).where(Notification.ticket_id == ticket_id).order_by(Notification.id)
        ).scalars()
    )
