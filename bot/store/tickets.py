"""Creating, finding and changing tickets. Every change is written to the ticket's history."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import limits, places
from bot.errors import InvalidInput
from bot.parsing import PHOTO_PATH, find_phone
from bot.store import states
from bot.store.numbering import next_number
from bot.store.schema import Ticket, TicketEvent, utcnow
from bot.store.workdays import add_working_days, holidays, local_today, response_due
from bot.taxonomy import Taxonomy

# A ticket's kind: a problem to fix (投诉/求助) or a question the knowledge base did not answer, for
# the responsible department to answer (咨询件). Labels: bot/labels.py.
REPORT = "report"
ENQUIRY = "enquiry"
KINDS = (REPORT, ENQUIRY)


@dataclass
class NewReport:
    submission_key: str
    conversation_id: Optional[str]  # None: filed by staff for someone without a chat
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
    # The position the resident's device gave ("用当前位置"), WGS-84.
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    # "report" (投诉/求助) or "enquiry" (咨询件: a question for the department to answer).
    kind: str = REPORT
    # The lead department when it is not the category's own (an enquiry goes to the department of
    # the knowledge-base entry it asks about); an id the taxonomy does not know is ignored.
    department_id: Optional[str] = None


class InvalidReport(InvalidInput):
    """A report the store refuses, whoever sent it: the message says what is wrong, for the resident."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)


_CHANNEL = re.compile(r"^[a-z][a-z0-9_]*$")
_TOO_LONG = "{what}太长了，请控制在 {limit} 个字以内"


def _check_length(field: str, what: str, value: Optional[str], limit: int) -> None:
    if value is not None and len(value) > limit:
        raise InvalidReport(field, _TOO_LONG.format(what=what, limit=limit))


def check_report(report: NewReport, taxonomy: Taxonomy) -> None:
    """The store's own check of every value of a report, however it arrived (chat, console, API or
    a forged request): lengths, urgency, confidence, phone, photo, channel. An unknown category is
    not refused: it goes to "other" (triage)."""
    if not (report.submission_key or "").strip():
        raise InvalidReport("submission_key", "缺少提交编号")
    _check_length("submission_key", "提交编号", report.submission_key, 2 * limits.CONVERSATION_ID)
    _check_length("conversation_id", "对话编号", report.conversation_id, limits.CONVERSATION_ID)
    if not (report.description or "").strip():
        raise InvalidReport("description", "请说一说遇到了什么问题")
    _check_length("description", "问题描述", report.description, limits.DESCRIPTION)
    _check_length("location", "地点", report.location, limits.LOCATION)
    _check_length("detail", "补充说明", report.detail, limits.DETAIL)
    if report.urgency not in taxonomy.urgency_names:
        raise InvalidReport("urgency", "紧急程度不对")
    for field, confidence in (
        ("category_confidence", report.category_confidence),
        ("urgency_confidence", report.urgency_confidence),
    ):
        if confidence is not None and not 0.0 <= confidence <= 1.0:
            raise InvalidReport(field, "置信度应在 0 到 1 之间")
    if report.phone is not None:
        found = find_phone(report.phone)
        if len(report.phone) > limits.PHONE or found is None or found.value != report.phone:
            raise InvalidReport("phone", "电话号码不对")
    if report.photo_url is not None and not PHOTO_PATH.match(report.photo_url):
        raise InvalidReport("photo_url", "照片不是本系统上传的")
    if len(report.channel or "") > limits.CHANNEL or not _CHANNEL.match(report.channel or ""):
        raise InvalidReport("channel", "来源渠道不对")
    if report.script not in (None, "simplified", "traditional"):
        raise InvalidReport("script", "文字类型不对")
    if (report.latitude, report.longitude) != (None, None) and not places.valid_position(
        report.latitude, report.longitude
    ):
        raise InvalidReport("latitude", "位置坐标不对")
    _check_length("actor", "登记人", report.actor, 200)
    if report.kind not in KINDS:
        raise InvalidReport("kind", "工单类型不对")


def create_ticket(
    session: Session, report: NewReport, taxonomy: Taxonomy, now: Optional[dt.datetime] = None
) -> tuple[Ticket, bool]:
    """Create the ticket of a confirmed report, or return the one already created for the same
    submission key. Returns (ticket, created). Raises InvalidReport for values the store refuses."""
    check_report(report, taxonomy)
    existing = find_by_submission_key(session, report.submission_key)
    if existing is not None:
        return existing, False
    now = now or utcnow()
    today = local_today(now)
    category = report.category_id if report.category_id in taxonomy.categories else "other"
    place = place_of(report)
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
        street=place.street,
        community=place.community,
        latitude=report.latitude,
        longitude=report.longitude,
        detail=report.detail,
        photo_url=report.photo_url,
        phone=report.phone,
        script=report.script,
        status=states.SUBMITTED,
        lead_department_id=report.department_id
        if report.department_id in taxonomy.departments
        else taxonomy.categories[category].department_id,
        deadline=deadline_from(today, taxonomy, category, report.urgency),
        response_due=response_due(now, report.urgency),
        flagged=report.urgency == "emergency",
        kind=report.kind,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(ticket)
            session.flush()
            session.add(
                TicketEvent(
                    ticket_id=ticket.id,
                    at=now,
                    actor=report.actor,
                    from_status=None,
                    to_status=states.SUBMITTED,
                    note="收到反映",
                    kind="status",
                )
            )
            session.flush()
    except IntegrityError:
        # The same submission was committed by a concurrent retry in the meantime.
        existing = find_by_submission_key(session, report.submission_key)
        if existing is None:
            raise
        return existing, False
    return ticket, True


def place_of(report: NewReport) -> places.Place:
    """The 街道 and 社区 of a report: from the words of its place, else from the device's position."""
    gazetteer = places.load()
    place = gazetteer.resolve(report.location)
    if not place.known and report.latitude is not None and report.longitude is not None:
        place = gazetteer.nearest(report.latitude, report.longitude) or places.UNKNOWN
    return place


def deadline_from(day: dt.date, taxonomy: Taxonomy, category_id: str, urgency: str) -> dt.date:
    """The category's (or the urgency's shorter) working days after `day`; unknown categories count as "other"."""
    category = category_id if category_id in taxonomy.categories else "other"
    return add_working_days(day, taxonomy.deadline_days(category, urgency), holidays())


def find_by_submission_key(session: Session, key: str) -> Optional[Ticket]:
    return session.execute(select(Ticket).where(Ticket.submission_key == key)).scalar_one_or_none()


def find_by_number(session: Session, number: str) -> Optional[Ticket]:
    if "\x00" in number:  # no ticket has one, and PostgreSQL refuses it in a query
        return None
    return session.execute(select(Ticket).where(Ticket.number == number)).scalar_one_or_none()


def tickets_of_conversation(session: Session, conversation_id: str, limit: int = 10) -> List[Ticket]:
    return list(
        session.execute(
            select(Ticket)
            .where(Ticket.conversation_id == conversation_id)
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(limit)
        ).scalars()
    )


def transition(
    session: Session, ticket: Ticket, target: str, actor: str, note: str = "", now: Optional[dt.datetime] = None
) -> TicketEvent:
    """Move a ticket to another state, refusing what the state table does not allow."""
    states.check(ticket.status, target, note)
    now = now or utcnow()
    entry = TicketEvent(
        ticket_id=ticket.id,
        at=now,
        actor=actor,
        from_status=ticket.status,
        to_status=target,
        note=note or None,
        kind="status",
    )
    ticket.status = target
    ticket.updated_at = now
    add_to_history(session, ticket, entry)
    session.flush()
    return entry


def note_in_history(
    session: Session,
    ticket: Ticket,
    actor: str,
    note: str,
    now: Optional[dt.datetime] = None,
    kind: str = "note",
) -> TicketEvent:
    """A history line that changes nothing: a note for staff (residents never see kind "note") or,
    with kind states.REPLY, a reply to the resident."""
    entry = TicketEvent(
        ticket_id=ticket.id,
        at=now or utcnow(),
        actor=actor,
        from_status=ticket.status,
        to_status=ticket.status,
        note=note,
        kind=kind,
    )
    return add_to_history(session, ticket, entry)


def add_to_history(session: Session, ticket: Ticket, entry: TicketEvent) -> TicketEvent:
    """Every line of a ticket's history after its first is written here, so that the ticket keeps
    when it was first answered (responded_at: the earliest line that answers the resident)."""
    session.add(entry)
    if states.answers(entry.kind, entry.to_status) and (ticket.responded_at is None or entry.at < ticket.responded_at):
        ticket.responded_at = entry.at
    return entry
