"""The shape of a ticket, written once (pydantic models): the API answers with it, its OpenAPI
document is generated from it, the console's queue and ticket page and the CSV/XLSX export read it.
What a user may see is applied here: phone numbers masked for those who may not see them."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Dict, List, Optional

from pydantic import BaseModel, Field

from bot.staff import permissions
from bot.store.schema import Ticket, User
from bot.store.workdays import response_due


class Model(BaseModel):
    class Config:
        allow_population_by_field_name = True
        # Times are kept as naive UTC; on the wire they say so.
        json_encoders = {dt.datetime: lambda value: value.isoformat() + "Z"}

    def as_json(self) -> Dict[str, Any]:
        return json.loads(self.json(by_alias=True))


class HistoryLine(Model):
    at: dt.datetime
    actor: str
    from_: Optional[str] = Field(None, alias="from", description="the state before; null for the first line")
    to: str
    note: Optional[str]
    kind: str = Field(
        "status", description="status (a change of state) | note (staff only) | reply (sent to the resident)"
    )


class TicketSummary(Model):
    """A ticket in the queue."""

    number: str = Field(..., example="MS-20261125-0007")
    status: str
    category: str
    urgency: str = Field(..., description="emergency | hazard | normal")
    lead_department: str
    assisting_departments: List[str]
    deadline: dt.date
    created_at: dt.datetime
    description: str
    location: Optional[str]
    street: Optional[str] = Field(None, description="街道, from the district's gazetteer")
    community: Optional[str] = Field(None, description="社区, from the district's gazetteer")
    place_unknown: bool = Field(False, description="a place was given that the gazetteer does not know: check it")
    flagged: bool = Field(..., description="for the supervisor: an emergency, or reopened by a dissatisfied resident")
    overdue: bool = Field(..., description="open and past its deadline")
    kind: str = Field(
        "report", description="report (投诉/求助: a problem to fix) | enquiry (咨询件: a question to answer)"
    )


class TicketDetail(TicketSummary):
    """One ticket with its history."""

    detail: Optional[str]
    photo_url: Optional[str]
    channel: str
    category_confidence: Optional[float]
    latitude: Optional[float] = Field(None, description="the position the resident's device gave (WGS-84)")
    longitude: Optional[float] = Field(None, description="the position the resident's device gave (WGS-84)")
    phone: Optional[str] = Field(None, description="masked for roles that may not see phone numbers")
    response_due: dt.datetime = Field(
        ..., description="by when it is to be dispatched or its resident contacted (response deadline by urgency)"
    )
    history: List[HistoryLine]


class TicketPage(Model):
    total: int
    page: int
    pages: int
    page_size: int
    tickets: List[TicketSummary]


class FilingBody(Model):
    """A report filed on a resident's behalf; classified by the chat's model unless a category is given."""

    description: str = Field(..., description="the resident's words")
    channel: str = Field(..., description="face_to_face | phone | wechat_group | open_meeting | visit")
    location: Optional[str]
    phone: Optional[str]
    category: Optional[str] = Field(None, description="category id; classified when left out")
    urgency: Optional[str] = Field(None, description="emergency | hazard | normal; classified when left out")
    caller: Optional[str] = Field(None, description="the resident's name or how they are addressed (at most 40)")


class Error(Model):
    error: str


def summary(ticket: Ticket, user: User, today: dt.date) -> TicketSummary:
    """Built from the stored, already typed columns without validating them again: a queue page
    or an export makes one per row, and pydantic's checks cost more than the rest of the row."""
    shown = permissions.shown_text
    return TicketSummary.construct(
        number=ticket.number,
        status=ticket.status,
        category=ticket.category_id,
        urgency=ticket.urgency,
        lead_department=ticket.lead_department_id,
        assisting_departments=[d.id for d in ticket.assisting],
        deadline=ticket.deadline,
        created_at=ticket.created_at,
        description=shown(user, ticket.description) or "",
        location=shown(user, ticket.location),
        street=ticket.street,
        community=ticket.community,
        place_unknown=bool(ticket.place_unknown),
        flagged=bool(ticket.flagged),
        overdue=ticket.is_overdue(today),
        kind=ticket.kind or "report",
    )


def detail(ticket: Ticket, user: User, today: dt.date) -> TicketDetail:
    shown = permissions.shown_text
    return TicketDetail(
        **summary(ticket, user, today).dict(),
        detail=shown(user, ticket.detail),
        photo_url=ticket.photo_url,
        channel=ticket.channel,
        category_confidence=ticket.category_confidence,
        latitude=ticket.latitude,
        longitude=ticket.longitude,
        phone=permissions.shown_phone(user, ticket.phone) or None,
        # As fixed when it was filed (the response rate counts by it); computed for a ticket without.
        response_due=ticket.response_due or response_due(ticket.created_at, ticket.urgency),
        history=[
            HistoryLine(
                **{
                    "at": e.at,
                    "actor": e.actor,
                    "from": e.from_status,
                    "to": e.to_status,
                    "note": shown(user, e.note),
                    "kind": e.kind,
                }
            )
            for e in ticket.events
        ],
    )


class DuplicateCandidate(Model):
    """A ticket that may report the same problem at the same place (bot/store/duplicates.py)."""

    number: str = Field(..., example="MS-20261125-0007")
    status: str
    category: str
    description: str
    location: Optional[str]
    created_at: dt.datetime
    score: float = Field(..., description="0..1; at or above the threshold: the same problem")
    text_score: float = Field(..., description="how alike the words about the problem are, 0..1")
    place_score: float = Field(..., description="1: the same spot; 0: another place")


class DuplicateList(Model):
    threshold: float = Field(..., description="the score at which the chat calls a report the same problem")
    candidates: List[DuplicateCandidate]


def duplicate_candidate(candidate: Any, user: User) -> DuplicateCandidate:
    """`candidate`: a bot.store.duplicates.Candidate."""
    ticket, score = candidate.ticket, candidate.score
    return DuplicateCandidate(
        number=ticket.number,
        status=ticket.status,
        category=ticket.category_id,
        description=permissions.shown_text(user, ticket.description) or "",
        location=permissions.shown_text(user, ticket.location),
        created_at=ticket.created_at,
        score=score.total,
        text_score=score.text,
        place_score=score.place,
    )


# ---------------------------------------------------------------- the knowledge base


class KnowledgeBody(Model):
    """An entry as staff write it. Creating needs question and answer; updating changes only the
    fields given. Department staff write only their own department's entries."""

    question: Optional[str] = Field(None, description="the question as residents ask it (at most 200)")
    phrasings: Optional[List[str]] = Field(None, description="other ways of asking it, at most 30")
    answer: Optional[str] = Field(None, description="plain text, links allowed (at most 2000)")
    department: Optional[str] = Field(None, description="department id; the category's department when left out")
    category: Optional[str] = Field(None, description="category id")
    published: Optional[bool] = Field(None, description="true: answers residents; false: a draft")


class KnowledgeSummary(Model):
    """An entry of the knowledge base in a list."""

    id: int
    question: str
    phrasings: List[str]
    answer: str
    department: Optional[str] = Field(None, description="department id")
    category: Optional[str] = Field(None, description="category id")
    published: bool = Field(..., description="answers residents; false: a draft")
    sample: bool = Field(..., description="shipped example content (示例内容), to be replaced")
    version: int
    updated_at: dt.datetime
    updated_by: str = Field(..., description="who changed it last (role:username)")
    editable: bool = Field(..., description="the token's user may change it")


class KnowledgeRevisionLine(Model):
    version: int
    change: str = Field(..., description="created | edited | published | unpublished")
    changed_at: dt.datetime
    changed_by: str
    changed_fields: List[str] = Field(
        ..., description="question | phrasings | answer | department_id | category_id | published"
    )
    question: str
    phrasings: List[str]
    answer: str
    department: Optional[str]
    category: Optional[str]
    published: bool


class KnowledgeDetail(KnowledgeSummary):
    """One entry with its revisions, newest first."""

    created_at: dt.datetime
    history: List[KnowledgeRevisionLine]


class KnowledgePage(Model):
    total: int
    page: int
    pages: int
    page_size: int
    entries: List[KnowledgeSummary]


class QuestionGroupLine(Model):
    """Questions residents asked alike that the knowledge base did not answer, or answered with a
    没帮助 — the console's 居民问题待完善."""

    typical: str = Field(..., description="the most typical way it was asked")
    count: int = Field(..., description="times asked")
    unanswered: int = Field(..., description="of count: no entry answered (the rest: 没帮助 to an answer)")
    newest: dt.datetime = Field(..., description="when it was last asked")
    texts: List[str] = Field(..., description="every distinct way it was asked, the typical one first")
    question_ids: List[int] = Field(
        ..., description="the newest questions of the group, covered by an entry made from them (console: ?from=)"
    )


class QuestionGroupList(Model):
    asked: int = Field(..., description="questions waiting, in all groups")
    groups: List[QuestionGroupLine] = Field(..., description="largest group first, then the newest")


def question_groups(groups: List[Any]) -> QuestionGroupList:
    """`groups`: bot/staff/knowledge.py QuestionGroup, as the user may read them."""
    return QuestionGroupList(
        asked=sum(g.count for g in groups),
        groups=[
            QuestionGroupLine(
                typical=g.typical,
                count=g.count,
                unanswered=g.unanswered,
                newest=g.newest,
                texts=[g.typical, *g.others],
                question_ids=g.ids,
            )
            for g in groups
        ],
    )


def knowledge_summary(entry: Any, user: User) -> KnowledgeSummary:
    """`entry`: a KnowledgeEntry."""
    return KnowledgeSummary(
        id=entry.id,
        question=entry.question,
        phrasings=[line for line in (entry.phrasings or "").splitlines() if line.strip()],
        answer=entry.answer,
        department=entry.department_id,
        category=entry.category_id,
        published=bool(entry.published),
        sample=bool(entry.sample),
        version=entry.version,
        updated_at=entry.updated_at,
        updated_by=entry.updated_by,
        editable=permissions.may_edit_entry(user, entry.department_id),
    )


def knowledge_detail(entry: Any, changes: List[Any], user: User) -> KnowledgeDetail:
    """`changes`: bot/staff/knowledge.py history(), newest first."""
    return KnowledgeDetail(
        **knowledge_summary(entry, user).dict(),
        created_at=entry.created_at,
        history=[
            KnowledgeRevisionLine(
                version=c.revision.version,
                change=c.revision.change,
                changed_at=c.revision.changed_at,
                changed_by=c.revision.changed_by,
                changed_fields=c.fields,
                question=c.revision.question,
                phrasings=[line for line in (c.revision.phrasings or "").splitlines() if line.strip()],
                answer=c.revision.answer,
                department=c.revision.department_id,
                category=c.revision.category_id,
                published=bool(c.revision.published),
            )
            for c in changes
        ],
    )
