"""Tables of the ticket store. Times are naive UTC; deadlines are local calendar dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_method, hybrid_property
from sqlalchemy.orm import declarative_base, declared_attr, relationship, validates

from bot import limits
from bot.errors import InvalidInput
from bot.store import states

Base: Any = declarative_base()  # typed as Any: SQLAlchemy 1.4 models without its mypy plugin
# Room for what the product adds around a member of staff's or a resident's words ("答复：…",
# "电话回访：满意；意见：…。按居民意见重新办理").
FRAMING = 100


class TextTooLong(InvalidInput):
    """A text longer than the store keeps; callers check lengths first and answer in words."""


def _at_most(limit: int, what: str, value):
    if value is not None and len(value) > limit:
        raise TextTooLong(f"{what}太长了，请控制在 {limit} 个字以内")
    return value


def utcnow() -> dt.datetime:
    return dt.datetime.utcnow().replace(microsecond=0)


class Department(Base):
    __tablename__ = "departments"
    id = Column(String(64), primary_key=True)
    name = Column(String(200), nullable=False)


class Category(Base):
    __tablename__ = "categories"
    id = Column(String(64), primary_key=True)
    name = Column(String(200), nullable=False)
    department_id = Column(String(64), ForeignKey("departments.id"), nullable=False)
    deadline_days = Column(Integer, nullable=False)


class DailySequence(Base):
    """The last ticket sequence number handed out on a local calendar day."""

    __tablename__ = "daily_sequences"
    day = Column(String(8), primary_key=True)
    last = Column(Integer, nullable=False)


# A partial index's condition (PostgreSQL and SQLite alike): the open tickets only.
_OPEN_LIST = ", ".join(f"'{s}'" for s in sorted(states.OPEN))
OPEN_ONLY = {
    "postgresql_where": text(f"status IN ({_OPEN_LIST})"),
    "sqlite_where": text(f"status IN ({_OPEN_LIST})"),
}


FIGURES = ["lead_department_id", "category_id", "status", "deadline", "response_due", "responded_at"]


class Ticket(Base):
    __tablename__ = "tickets"
    id = Column(Integer, primary_key=True)
    number = Column(String(40), nullable=False, unique=True)
    # A report confirmed twice (or an action retried) carries the same key and finds its ticket.
    submission_key = Column(String(200), unique=True)
    conversation_id = Column(String(200), index=True)
    channel = Column(String(40), nullable=False, default="chat")
    description = Column(Text, nullable=False)
    category_id = Column(String(64), ForeignKey("categories.id"), nullable=False)
    category_confidence = Column(Float)
    urgency = Column(String(20), nullable=False, default="normal")
    urgency_confidence = Column(Float)
    location = Column(Text)
    # The place as the gazetteer knows it (None: not found there — the dispatcher checks it) and the
    # position the resident's device gave, if any.
    street = Column(String(60), index=True)
    community = Column(String(60))
    latitude = Column(Float)
    longitude = Column(Float)
    detail = Column(Text)
    photo_url = Column(Text)
    phone = Column(String(40))
    script = Column(String(20))
    status = Column(String(20), nullable=False)
    lead_department_id = Column(String(64), ForeignKey("departments.id"), nullable=False)
    deadline = Column(Date, nullable=False)
    flagged = Column(Boolean, nullable=False, default=False)
    # Set once by the scheduled overdue check, which also writes it into the history.
    overdue_noted_at = Column(DateTime)
    merged_into_id = Column(Integer, ForeignKey("tickets.id"))
    # "report" (投诉/求助: a problem to fix) or "enquiry" (咨询件: a question the knowledge base did
    # not answer, for the department to answer): KINDS in bot/store/tickets.py.
    kind = Column(String(20), nullable=False, default="report", server_default="report")
    # The response deadline (响应时限) by urgency, fixed when the ticket is filed, and when it was
    # first answered (states.answers): stamped by bot/store/tickets.py as its history is written, so
    # that the response rate is counted by the database (bot/staff/statistics.py).
    response_due = Column(DateTime)
    responded_at = Column(DateTime)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow)

    category = relationship(Category, lazy="joined")
    assisting = relationship(Department, secondary="ticket_assists", lazy="selectin")
    lead_department = relationship(Department, lazy="joined")
    events = relationship("TicketEvent", order_by="TicketEvent.id", back_populates="ticket")

    # State predicates, in Python and in SQL alike: "overdue" is derived from the deadline, not a state.
    @hybrid_property
    def is_open(self) -> bool:
        return self.status in states.OPEN

    @is_open.expression  # type: ignore[no-redef]
    def is_open(cls):  # noqa: N805 (the class: an SQL expression)
        return cls.status.in_(states.OPEN)

    @hybrid_method
    def is_overdue(self, today: dt.date) -> bool:
        """Open and past its deadline on `today` (the local calendar day: workdays.local_today())."""
        return self.status in states.OPEN and self.deadline < today

    @is_overdue.expression  # type: ignore[no-redef]
    def is_overdue(cls, today: dt.date):  # noqa: N805
        return and_(cls.status.in_(states.OPEN), cls.deadline < today)

    @property
    def place_unknown(self) -> bool:
        """A place was given that the gazetteer does not know: the dispatcher checks it."""
        return bool(self.location) and self.street is None

    __table_args__ = (
        Index("ix_tickets_status_deadline", "status", "deadline"),
        Index("ix_tickets_created_at", "created_at"),
        Index("ix_tickets_department_created", "lead_department_id", "created_at"),
        Index("ix_tickets_category_created", "category_id", "created_at"),
        Index("ix_tickets_community_created", "community", "created_at"),
        # Open tickets by deadline: the queue's "overdue, soonest deadline first" reads its page off
        # the first, the inspection list the longest overdue of each department off the second.
        Index("ix_tickets_open_deadline", "deadline", text("id DESC"), **OPEN_ONLY),
        Index("ix_tickets_open_department_deadline", "lead_department_id", "deadline", "id", **OPEN_ONLY),
        # A period's figures (bot/staff/statistics.py) read these of each ticket filed in it: on
        # PostgreSQL from the index alone, without the rows and their long texts.
        Index("ix_tickets_created_figures", "created_at", postgresql_include=FIGURES),
    )


class TicketAssist(Base):
    """An assisting department (协办) of a ticket; the lead (主办) is on the ticket itself."""

    __tablename__ = "ticket_assists"
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    department_id = Column(String(64), ForeignKey("departments.id"), primary_key=True, index=True)


class TicketFollower(Base):
    """A resident who follows a ticket: their report of the same problem joined it ("report"), or
    their own ticket was merged into it ("merge"). They get its updates and its survey; what they
    said is kept for staff."""

    __tablename__ = "ticket_followers"
    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False)
    conversation_id = Column(String(200), nullable=False, index=True)
    via = Column(String(20), nullable=False)
    from_ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="SET NULL"))
    description = Column(Text)
    location = Column(Text)
    phone = Column(String(40))
    created_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("ticket_id", "conversation_id", name="uq_ticket_followers_ticket_conversation"),)


class TicketEvent(Base):
    """One change in a ticket's history: who, when, from which state to which, and why."""

    __tablename__ = "ticket_events"
    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    at = Column(DateTime, nullable=False, default=utcnow)
    actor = Column(String(200), nullable=False)
    from_status = Column(String(20))
    to_status = Column(String(20), nullable=False)
    note = Column(Text)
    # "status" (a change of state), "reply" (sent to the resident), "note" (staff only: internal
    # notes, corrections, the overdue mark). What a resident may see is decided in bot/store/outbox.py.
    kind = Column(String(20), nullable=False, default="status")

    ticket = relationship(Ticket, back_populates="events")

    @validates("note")
    def _note(self, _key, value):
        return _at_most(limits.NOTE + FRAMING, "说明", value)


class User(Base):
    """A member of staff: dispatcher, department staff, supervisor or admin."""

    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    username = Column(String(80), nullable=False, unique=True)
    display_name = Column(String(200))
    password_hash = Column(String(300), nullable=False)
    role = Column(String(20), nullable=False)
    department_id = Column(String(64), ForeignKey("departments.id"))
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class LoginFailure(Base):
    __tablename__ = "login_failures"
    id = Column(Integer, primary_key=True)
    username = Column(String(80), nullable=False)
    remote_addr = Column(String(64))
    at = Column(DateTime, nullable=False, default=utcnow)
    __table_args__ = (
        Index("ix_login_failures_username_at", "username", "at"),
        Index("ix_login_failures_addr_at", "remote_addr", "at"),
    )


class ChannelKey(Base):
    """A short-lived value a channel shares between its processes (bot/store/channel_keys.py)."""

    __tablename__ = "channel_keys"
    key = Column(String(200), primary_key=True)
    value = Column(Text, nullable=False)
    expires_at = Column(DateTime, nullable=False, index=True)


class StaffSession(Base):
    """A signed-in browser. The cookie holds the token; the store keeps its SHA-256 and ends it on
    logout, a password change or a deactivation, however many copies of the cookie exist."""

    __tablename__ = "staff_sessions"
    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False)
    ended_at = Column(DateTime)
    remote_addr = Column(String(64))


class StatusCheck(Base):
    """One try at reading a ticket from another conversation with the phone's last four digits.
    Failed tries are counted per ticket number (existing or not) and per network source, here in
    the store, where no conversation reset or new sender id can clear them."""

    __tablename__ = "status_checks"
    id = Column(Integer, primary_key=True)
    ticket_number = Column(String(40), nullable=False)
    source = Column(String(64))
    conversation_id = Column(String(200))
    at = Column(DateTime, nullable=False, default=utcnow)
    succeeded = Column(Boolean, nullable=False)
    __table_args__ = (
        Index("ix_status_checks_number_at", "ticket_number", "at"),
        Index("ix_status_checks_source_at", "source", "at"),
    )


class AuditEntry(Base):
    """Who did what, when, from which address."""

    __tablename__ = "audit_log"
    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, default=utcnow, index=True)
    actor = Column(String(80), nullable=False)
    action = Column(String(80), nullable=False)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="SET NULL"))
    detail = Column(Text)
    remote_addr = Column(String(64))


class ApiToken(Base):
    """A bearer token for the JSON API, acting as its user; only the SHA-256 is kept."""

    __tablename__ = "api_tokens"
    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    label = Column(String(200))
    created_at = Column(DateTime, nullable=False, default=utcnow)


class Notification(Base):
    """A message for the resident about their ticket (the outbox), written in the same transaction
    as the change it tells of. The deliverer pushes it through Rasa; failing that, the resident sees
    it at their next message. `status`: pending → sending → delivered, or waiting (for the
    resident's next message) when the channel cannot push."""

    __tablename__ = "notifications"
    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    conversation_id = Column(String(200), nullable=False, index=True)
    kind = Column(String(30), nullable=False)
    note = Column(Text)
    status = Column(String(20), nullable=False, default="pending")
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False, default=utcnow)
    claimed_until = Column(DateTime)
    last_error = Column(Text)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    delivered_at = Column(DateTime)
    delivered_via = Column(String(20))

    ticket = relationship(Ticket)

    __table_args__ = (Index("ix_notifications_status_next", "status", "next_attempt_at"),)

    @validates("note")
    def _note(self, _key, value):
        return _at_most(limits.NOTE, "说明", value)


class Survey(Base):
    """The satisfaction survey of one resolution of a ticket (a reopened ticket resolved again gets
    another). `status`: asked → (reminded →) answered | not_rated; `superseded` when the ticket left
    `resolved` some other way."""

    __tablename__ = "surveys"
    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    department_id = Column(String(64), ForeignKey("departments.id"), nullable=False)
    status = Column(String(20), nullable=False, default="asked")
    created_at = Column(DateTime, nullable=False, default=utcnow)
    reminded_at = Column(DateTime)
    closed_at = Column(DateTime)
    rating = Column(Integer)
    comment = Column(Text)
    source = Column(String(20))
    recorded_by = Column(String(200))

    ticket = relationship(Ticket)

    @validates("comment")
    def _comment(self, _key, value):
        return _at_most(limits.COMMENT, "意见", value)

    __table_args__ = (
        Index("ix_surveys_status_created", "status", "created_at"),
        Index("ix_surveys_department_created", "department_id", "created_at"),
    )


class FollowerVerdict(Base):
    """A follower's answer to a ticket's survey: recorded and shown to staff; the ticket's own
    resident's verdict alone closes or reopens it (bot/store/followers.py)."""

    __tablename__ = "follower_verdicts"
    id = Column(Integer, primary_key=True)
    survey_id = Column(Integer, ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False)
    conversation_id = Column(String(200), nullable=False)
    rating = Column(Integer, nullable=False)
    comment = Column(Text)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    survey = relationship(Survey)

    @validates("comment")
    def _comment(self, _key, value):
        return _at_most(limits.COMMENT, "意见", value)

    __table_args__ = (
        UniqueConstraint("survey_id", "conversation_id", name="uq_follower_verdicts_survey_conversation"),
    )


class SchedulerLease(Base):
    """Which web-app process runs the scheduled jobs, until when (one row per job group)."""

    __tablename__ = "scheduler_leases"
    name = Column(String(40), primary_key=True)
    holder = Column(String(200), nullable=False)
    expires_at = Column(DateTime, nullable=False)


class _EntryFields:
    """What an entry of the knowledge base says; kept alike on the entry and on each revision."""

    question = Column(String(200), nullable=False)
    phrasings = Column(Text, nullable=False, default="")  # other ways of asking, one per line
    answer = Column(Text, nullable=False)
    published = Column(Boolean, nullable=False, default=False)

    @declared_attr
    def department_id(cls):  # noqa: N805 (a column with a foreign key is declared per table)
        return Column(String(64), ForeignKey("departments.id"), index=cls.__name__ == "KnowledgeEntry")

    @declared_attr
    def category_id(cls):  # noqa: N805
        return Column(String(64), ForeignKey("categories.id"))


class KnowledgeEntry(_EntryFields, Base):
    """An entry of the knowledge base (知识库): a question residents ask and the answer staff keep.
    Only published entries answer residents; `sample` marks the shipped example content."""

    __tablename__ = "knowledge_entries"
    id = Column(Integer, primary_key=True)
    sample = Column(Boolean, nullable=False, default=False)
    version = Column(Integer, nullable=False, default=1)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow)
    updated_by = Column(String(200), nullable=False)

    department = relationship(Department, lazy="joined")
    category = relationship(Category, lazy="joined")


class KnowledgeRevision(_EntryFields, Base):
    """An entry as one change left it (`change`: created, edited, published, unpublished)."""

    __tablename__ = "knowledge_revisions"
    id = Column(Integer, primary_key=True)
    entry_id = Column(Integer, ForeignKey("knowledge_entries.id", ondelete="CASCADE"), nullable=False)
    version = Column(Integer, nullable=False)
    change = Column(String(20), nullable=False)
    changed_by = Column(String(200), nullable=False)
    changed_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("entry_id", "version", name="uq_knowledge_revisions_entry_version"),)


class KnowledgeQuestion(Base):
    """A question a resident asked, kept when the knowledge base had no good answer ("unanswered")
    or the resident said the answer did not help ("not_helpful"), and the answers they found helpful
    ("helpful"), for staff to improve the base. `ticket_id`: the enquiry filed from it;
    `covered_by_id`: the entry staff wrote from it."""

    __tablename__ = "knowledge_questions"
    id = Column(Integer, primary_key=True)
    text = Column(Text, nullable=False)
    conversation_id = Column(String(200))
    script = Column(String(20))
    entry_id = Column(Integer, ForeignKey("knowledge_entries.id", ondelete="SET NULL"))
    score = Column(Float)
    outcome = Column(String(20), nullable=False)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="SET NULL"))
    covered_by_id = Column(Integer, ForeignKey("knowledge_entries.id", ondelete="SET NULL"))
    created_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (Index("ix_knowledge_questions_outcome_created", "outcome", "created_at"),)
