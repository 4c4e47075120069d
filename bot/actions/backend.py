"""The actions' only door to the ticket store. Every call runs its transaction in a worker thread
(`off_the_loop`): the action server never waits on the database in its event loop."""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, List, Optional, Tuple, TypeVar

from bot import knowledge as knowledge_answers
from bot import settings, taxonomy
from bot.parsing import mask_phones_in
from bot.ratings import Rating
from bot.store import duplicates, followers, knowledge, outbox, states, status_checks, surveys
from bot.store.db import session_scope
from bot.store.schema import KnowledgeQuestion, Notification
from bot.store.tickets import NewReport, create_ticket, find_by_number, tickets_of_conversation
from bot.store.workdays import local_today, to_local

logger = logging.getLogger(__name__)
Result = TypeVar("Result")


def off_the_loop(function: Callable[..., Result]) -> Callable[..., Awaitable[Result]]:
    @functools.wraps(function)
    async def in_a_thread(*args: Any, **kwargs: Any) -> Result:
        return await asyncio.to_thread(function, *args, **kwargs)

    return in_a_thread


@off_the_loop
def submit(report: NewReport) -> tuple[str, str, str, bool]:
    """(ticket number, department name, deadline, created) — idempotent per submission key."""
    tax = taxonomy.load()
    with session_scope() as session:
        ticket, created = create_ticket(session, report, tax)
        return ticket.number, ticket.lead_department.name, ticket.deadline.isoformat(), created


def _describe(ticket) -> str:
    seen = outbox.last_seen_by_resident(ticket)  # never an internal note
    updated = ""
    if seen is not None:
        entry, line = seen
        local = to_local(entry.at)
        updated = f"｜最近更新 {local:%m-%d %H:%M}（{mask_phones_in(line)}）"
    overdue = "，已超期" if ticket.is_overdue(local_today()) else ""
    text = mask_phones_in(ticket.description)
    text = text if len(text) <= 30 else text[:30] + "…"
    return (
        f"· {ticket.number}：{text}\n"
        f"  状态：{states.LABELS.get(ticket.status, ticket.status)}{overdue}｜{ticket.lead_department.name}｜"
        f"时限 {ticket.deadline.isoformat()}{updated}"
    )


@off_the_loop
def conversation_summary(conversation_id: str) -> List[str]:
    """The conversation's own tickets, then those it follows."""
    with session_scope() as session:
        own = [_describe(t) for t in tickets_of_conversation(session, conversation_id)]
        followed = [_describe(t) + "（您关注的）" for t in followers.tickets_followed(session, conversation_id)]
        return own + followed


@off_the_loop
def ticket_summary_if_owned(number: str, conversation_id: str) -> Optional[str]:
    with session_scope() as session:
        ticket = find_by_number(session, number)
        if ticket is not None and followers.concerns(session, ticket, conversation_id):
            return _describe(ticket)
    return None


@off_the_loop
def phone_check_locked(number: str, source: Optional[str]) -> bool:
    with session_scope() as session:
        return status_checks.locked(session, number, source)


@off_the_loop
def ticket_summary_if_phone_matches(
    number: str, last4: str, conversation_id: str, source: Optional[str]
) -> Optional[str]:
    """The ticket's summary when the digits match; None otherwise. Raises TooManyTries."""
    with session_scope() as session:
        ticket = status_checks.verify(session, number, last4, conversation_id, source)
        return _describe(ticket) if ticket is not None else None


@dataclass(frozen=True)
class Update:
    """A message for the resident about one of their tickets, as the update action shows it."""

    id: int
    kind: str
    note: str
    ticket_number: str
    department_name: str
    deadline: str
    survey_open: bool


def _update_of(session, message) -> Update:
    ticket = message.ticket
    return Update(
        id=message.id,
        kind=message.kind,
        note=message.note or "",
        ticket_number=ticket.number,
        department_name=ticket.lead_department.name,
        deadline=ticket.deadline.isoformat(),
        survey_open=followers.awaiting_verdict(session, ticket, message.conversation_id) is not None,
    )


@off_the_loop
def updates_for(conversation_id: str, notification_id: Optional[str] = None) -> List[Update]:
    """The update pushed to this conversation, or (without an id) all it has not been shown yet."""
    with session_scope() as session:
        if notification_id is None:
            return [_update_of(session, m) for m in outbox.undelivered_of(session, conversation_id)]
        message = session.get(Notification, int(notification_id)) if str(notification_id).isdigit() else None
        if message is None or message.conversation_id != conversation_id:
            return []
        return [_update_of(session, message)]


@off_the_loop
def mark_shown(notification_ids: List[int]) -> None:
    with session_scope() as session:
        for message_id in notification_ids:
            outbox.mark_delivered(session, message_id, "next_message")


@off_the_loop
def survey_still_open(number: str, conversation_id: str) -> bool:
    with session_scope() as session:
        ticket = find_by_number(session, number)
        return ticket is not None and followers.awaiting_verdict(session, ticket, conversation_id) is not None


@off_the_loop
def record_survey(number: str, conversation_id: str, rating: Rating) -> Tuple[str, str]:
    """("reopened" | "closed" | "noted" | "noted_unhappy" | "not_open", department name) — only for
    the tickets this conversation filed ("reopened" / "closed") or follows ("noted…": a follower's
    verdict is recorded, bot/store/followers.py)."""
    with session_scope() as session:
        ticket = find_by_number(session, number)
        if ticket is None or not followers.concerns(session, ticket, conversation_id):
            return "not_open", ""
        try:
            if ticket.conversation_id != conversation_id:
                followers.record_verdict(session, ticket, conversation_id, rating)
                return ("noted_unhappy" if rating.reopens else "noted"), ticket.lead_department.name
            surveys.record(session, ticket, rating, "chat", "resident")
        except surveys.SurveyClosed:
            return "not_open", ticket.lead_department.name
        return ("reopened" if rating.reopens else "closed"), ticket.lead_department.name


# ---------------------------------------------------------------- the same problem reported again


@dataclass(frozen=True)
class Duplicate:
    """An open ticket a new report seems to repeat, as the resident is told of it."""

    number: str
    description: str
    department_name: str
    status: str


def _probe(report: NewReport) -> duplicates.Probe:
    return duplicates.Probe.of_report(
        report.description, report.category_id, report.location, report.latitude, report.longitude
    )


@off_the_loop
def find_duplicate(report: NewReport) -> Optional[Duplicate]:
    """The open ticket of the same problem at the same place, filed within the window by someone
    else (a resident's own tickets and the ones they follow are theirs already). None when the
    district has the question off (MINSHENG_DUPLICATE_QUESTION=off)."""
    if not settings.load().duplicate_question:
        return None
    with session_scope() as session:
        for found in duplicates.candidates(session, _probe(report)):
            ticket = found.ticket
            if followers.concerns(session, ticket, report.conversation_id or ""):
                continue
            text = mask_phones_in(ticket.description)
            return Duplicate(
                number=ticket.number,
                description=text if len(text) <= 30 else text[:30] + "…",
                department_name=ticket.lead_department.name,
                status=states.LABELS.get(ticket.status, ticket.status),
            )
    return None


@off_the_loop
def follow(number: str, report: NewReport) -> Optional[Tuple[str, str, str]]:
    """The resident follows the ticket instead of filing their own: (number, department name,
    deadline), or None when the ticket is no longer open (their own is filed then)."""
    with session_scope() as session:
        ticket = find_by_number(session, number)
        if ticket is None or not followers.open_for_following(ticket) or not report.conversation_id:
            return None
        followers.follow(
            session,
            ticket,
            report.conversation_id,
            followers.REPORT,
            description=report.description,
            location=report.location,
            phone=report.phone,
            note=f"又一位居民反映了同一问题，转为关注居民：{report.description[:100]}",
        )
        return ticket.number, ticket.lead_department.name, ticket.deadline.isoformat()


# ---------------------------------------------------------------- questions (咨询)


@dataclass(frozen=True)
class Answer:
    """The knowledge base's reply to a question: the entry, how sure the decision is, whether that is
    enough to give it as the answer (sure) or only to ask whether it is what the resident means, and
    the department an enquiry about it goes to."""

    entry_id: Optional[int]
    question: str
    answer: str
    department_id: Optional[str]
    category_id: Optional[str]
    score: float
    sure: bool = True


_answerer = knowledge_answers.Answerer()


def warm_up_answers() -> None:
    """Builds the index of the published entries now (the meaning of each of their texts: a few
    seconds for the sample base), so that the first resident who asks does not wait for it."""
    try:
        with session_scope() as session:
            _answerer.index(session)
    except Exception:  # the store not there yet: the first question builds the index
        logger.warning("the knowledge base's index is built at the first question instead", exc_info=True)


def _answer_of(entry: knowledge_answers.Entry, score: float, sure: bool) -> Answer:
    return Answer(entry.id, entry.question, entry.answer, entry.department_id, entry.category_id, score, sure)


@off_the_loop
def answer_question(text: str) -> Optional[Answer]:
    """The best published entry for the question when it is good enough to answer or to suggest
    (bot/knowledge.py's verdict), else None."""
    with session_scope() as session:
        found, verdict = _answerer.reply(session, text)
    if found is None or verdict is None:
        return None
    return _answer_of(found.entry, found.score, verdict == knowledge_answers.ANSWER)


@off_the_loop
def suggested_answer(entry_id: int, score: float) -> Optional[Answer]:
    """The entry suggested to the resident, now that they said it is what they meant (None if it has
    been unpublished since)."""
    with session_scope() as session:
        entry = _answerer.entry(session, entry_id)
    return _answer_of(entry, score, True) if entry is not None else None


@off_the_loop
def record_question(
    text: str,
    outcome: str,
    conversation_id: str,
    script: Optional[str],
    entry_id: Optional[int] = None,
    score: Optional[float] = None,
) -> int:
    """Keeps a question that got no good answer or a 没帮助 (or a 有帮助) for staff; its id."""
    with session_scope() as session:
        return knowledge.record_question(
            session, text, outcome, conversation_id=conversation_id, script=script, entry_id=entry_id, score=score
        ).id


@off_the_loop
def file_enquiry(report: NewReport, question_id: Optional[int]) -> tuple[str, str, str]:
    """Files the question as an enquiry (咨询件) and ties it to the stored question:
    (ticket number, department name, deadline) — the same ticket however often it is sent."""
    tax = taxonomy.load()
    with session_scope() as session:
        ticket, _created = create_ticket(session, report, tax)
        if question_id is not None:
            asked = session.get(KnowledgeQuestion, question_id)
            if asked is not None and asked.conversation_id == report.conversation_id:
                asked.ticket_id = ticket.id
        return ticket.number, ticket.lead_department.name, ticket.deadline.isoformat()
