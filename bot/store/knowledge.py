"""The knowledge base (知识库) in the store: entries staff keep, each change kept as a revision, and
the questions residents asked that it did not answer well.

Rules decided here once:
- Only a published entry answers residents (`published_entries`); a draft is staff's work in hand.
- Every change writes a revision: who, when, what the entry said after it (`history`).
- An entry names the department that answers for it; an enquiry (咨询件) filed from one of its
  questions goes to that department.
- The answering side (bot/knowledge.py) rebuilds its index when `signature` changes, so an entry
  published in the console answers the next question without a restart or retraining."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot import limits
from bot.errors import InvalidInput
from bot.store.schema import KnowledgeEntry, KnowledgeQuestion, KnowledgeRevision, utcnow
from bot.taxonomy import Taxonomy
from bot.textnorm import fold_width, to_simplified, to_traditional

# A ticket's kind: a problem to fix (投诉/求助) or a question for a department to answer (咨询件).
REPORT = "report"
ENQUIRY = "enquiry"
KINDS = (REPORT, ENQUIRY)

# What became of a resident's question.
UNANSWERED = "unanswered"  # no entry good enough: "这个问题我还答不上来"
NOT_HELPFUL = "not_helpful"  # answered, and the resident said 没帮助
HELPFUL = "helpful"  # answered, and the resident said 有帮助
OUTCOMES = (UNANSWERED, NOT_HELPFUL, HELPFUL)
TO_IMPROVE = (UNANSWERED, NOT_HELPFUL)  # what staff see in the list of questions to answer

CREATED, EDITED, PUBLISHED, UNPUBLISHED = "created", "edited", "published", "unpublished"
MOST_PHRASINGS = 30


class InvalidEntry(InvalidInput):
    """An entry the store refuses; the message says what is wrong, for the member of staff."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)


@dataclass
class EntryDraft:
    """What staff (or the sample file) write of an entry."""

    question: str
    answer: str
    phrasings: List[str] = field(default_factory=list)
    department_id: Optional[str] = None
    category_id: Optional[str] = None
    published: bool = False

    @classmethod
    def of(cls, entry: KnowledgeEntry) -> "EntryDraft":
        return cls(
            question=entry.question,
            answer=entry.answer,
            phrasings=phrasings_of(entry),
            department_id=entry.department_id,
            category_id=entry.category_id,
            published=entry.published,
        )


def phrasings_of(entry: KnowledgeEntry) -> List[str]:
    return [line for line in (entry.phrasings or "").splitlines() if line.strip()]


def clean(draft: EntryDraft, taxonomy: Taxonomy) -> EntryDraft:
    """The draft with its texts trimmed and blank or repeated phrasings dropped; raises InvalidEntry
    for what the store refuses, whoever sends it (console form, API, sample file)."""
    question = (draft.question or "").strip()
    answer = (draft.answer or "").strip()
    if not question:
        raise InvalidEntry("question", "请填写问题")
    if len(question) > limits.QUESTION:
        raise InvalidEntry("question", f"问题太长了，请控制在 {limits.QUESTION} 个字以内")
    if not answer:
        raise InvalidEntry("answer", "请填写答案")
    if len(answer) > limits.ANSWER:
        raise InvalidEntry("answer", f"答案太长了，请控制在 {limits.ANSWER} 个字以内")
    phrasings: List[str] = []
    for line in draft.phrasings:
        line = " ".join(line.split())
        if line and line != question and line not in phrasings:
            if len(line) > limits.QUESTION:
                raise InvalidEntry("phrasings", f"每种问法请控制在 {limits.QUESTION} 个字以内")
            phrasings.append(line)
    if len(phrasings) > MOST_PHRASINGS:
        raise InvalidEntry("phrasings", f"其他问法最多 {MOST_PHRASINGS} 条")
    if draft.department_id is not None and draft.department_id not in taxonomy.departments:
        raise InvalidEntry("department_id", "没有这个部门")
    if draft.category_id is not None and draft.category_id not in taxonomy.categories:
        raise InvalidEntry("category_id", "没有这个类别")
    department = draft.department_id
    if department is None and draft.category_id is not None:
        department = taxonomy.categories[draft.category_id].department_id
    return EntryDraft(question, answer, phrasings, department, draft.category_id, bool(draft.published))


def _write(entry: KnowledgeEntry, draft: EntryDraft) -> None:
    entry.question = draft.question
    entry.answer = draft.answer
    entry.phrasings = "\n".join(draft.phrasings)
    entry.department_id = draft.department_id
    entry.category_id = draft.category_id
    entry.published = draft.published


def _revise(session: Session, entry: KnowledgeEntry, change: str, actor: str, now: dt.datetime) -> None:
    entry.updated_at = now
    entry.updated_by = actor
    session.flush()
    session.add(
        KnowledgeRevision(
            entry_id=entry.id,
            version=entry.version,
            change=change,
            question=entry.question,
            phrasings=entry.phrasings,
            answer=entry.answer,
            department_id=entry.department_id,
            category_id=entry.category_id,
            published=entry.published,
            changed_by=actor,
            changed_at=now,
        )
    )
    session.flush()


def create(
    session: Session,
    draft: EntryDraft,
    taxonomy: Taxonomy,
    actor: str,
    sample: bool = False,
    now: Optional[dt.datetime] = None,
) -> KnowledgeEntry:
    draft = clean(draft, taxonomy)
    now = now or utcnow()
    entry = KnowledgeEntry(sample=sample, version=1, created_at=now, updated_at=now, updated_by=actor)
    _write(entry, draft)
    session.add(entry)
    _revise(session, entry, CREATED, actor, now)
    return entry


def edit(
    session: Session,
    entry: KnowledgeEntry,
    draft: EntryDraft,
    taxonomy: Taxonomy,
    actor: str,
    now: Optional[dt.datetime] = None,
) -> bool:
    """Writes the draft over the entry as a new version; False (and nothing written) if it changes
    nothing. Publishing or withdrawing through an edit is recorded as such."""
    draft = clean(draft, taxonomy)
    if draft == EntryDraft.of(entry):
        return False
    change = EDITED
    if draft.published != entry.published:
        only_state = EntryDraft(**{**draft.__dict__, "published": entry.published}) == EntryDraft.of(entry)
        if only_state:
            change = PUBLISHED if draft.published else UNPUBLISHED
    _write(entry, draft)
    entry.version += 1
    _revise(session, entry, change, actor, now or utcnow())
    return True


def set_published(
    session: Session, entry: KnowledgeEntry, published: bool, actor: str, now: Optional[dt.datetime] = None
) -> bool:
    """Publishes or withdraws the entry; False if it already was so."""
    if entry.published == published:
        return False
    entry.published = published
    entry.version += 1
    _revise(session, entry, PUBLISHED if published else UNPUBLISHED, actor, now or utcnow())
    return True


def get(session: Session, entry_id: int) -> Optional[KnowledgeEntry]:
    return session.get(KnowledgeEntry, entry_id)


def history(session: Session, entry_id: int) -> List[KnowledgeRevision]:
    """The entry's revisions, newest first."""
    return list(
        session.execute(
            select(KnowledgeRevision)
            .where(KnowledgeRevision.entry_id == entry_id)
            .order_by(KnowledgeRevision.version.desc())
        ).scalars()
    )


def search(
    session: Session,
    words: str = "",
    department_id: Optional[str] = None,
    category_id: Optional[str] = None,
    published: Optional[bool] = None,
    offset: int = 0,
    limit: int = 50,
) -> Tuple[List[KnowledgeEntry], int]:
    """Entries for the console's list, newest change first, and how many match in all. `words`
    are looked for in the question, the other phrasings and the answer, each in either script
    ("物業費" finds an entry written "物业费", and the other way round)."""
    query = select(KnowledgeEntry)
    if words.strip():
        for word in words.split():
            word = fold_width(word).replace("%", "").replace("_", "")
            patterns = [f"%{form}%" for form in dict.fromkeys((word, to_simplified(word), to_traditional(word)))]
            query = query.where(
                or_(
                    *(
                        column.like(pattern)
                        for pattern in patterns
                        for column in (KnowledgeEntry.question, KnowledgeEntry.phrasings, KnowledgeEntry.answer)
                    )
                )
            )
    if department_id is not None:
        query = query.where(KnowledgeEntry.department_id == department_id)
    if category_id is not None:
        query = query.where(KnowledgeEntry.category_id == category_id)
    if published is not None:
        query = query.where(KnowledgeEntry.published == published)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(
        query.order_by(KnowledgeEntry.updated_at.desc(), KnowledgeEntry.id.desc()).offset(offset).limit(limit)
    ).scalars()
    return list(rows), total


def published_entries(session: Session) -> List[KnowledgeEntry]:
    """The entries that answer residents, in id order."""
    return list(
        session.execute(
            select(KnowledgeEntry).where(KnowledgeEntry.published.is_(True)).order_by(KnowledgeEntry.id)
        ).scalars()
    )


def signature(session: Session) -> Tuple[int, int, Optional[dt.datetime]]:
    """Changes whenever an entry is created, changed, published or withdrawn: (count, sum of
    versions, newest change) — one cheap query, read before answering a question."""
    count, versions, newest = session.execute(
        select(func.count(KnowledgeEntry.id), func.sum(KnowledgeEntry.version), func.max(KnowledgeEntry.updated_at))
    ).one()
    return int(count or 0), int(versions or 0), newest


def import_drafts(
    session: Session, drafts: Sequence[EntryDraft], taxonomy: Taxonomy, actor: str, sample: bool = False
) -> int:
    """Adds the drafts whose question the base does not have yet; returns how many were added."""
    known = set(session.execute(select(KnowledgeEntry.question)).scalars())
    added = 0
    for draft in drafts:
        if draft.question.strip() not in known:
            create(session, draft, taxonomy, actor, sample=sample)
            known.add(draft.question.strip())
            added += 1
    return added


def drafts_from_file(path: Path) -> Tuple[List[EntryDraft], bool]:
    """The entries of a knowledge file (bot/knowledge_sample.yml's layout: question, phrasings,
    answer, department, category, published) as drafts, and whether the file is sample content."""
    from bot.knowledge import read_file

    items, sample = read_file(path)
    drafts = [
        EntryDraft(
            question=str(item["question"]),
            answer=str(item["answer"]),
            phrasings=[str(p) for p in item.get("phrasings") or []],
            department_id=item.get("department"),
            category_id=item.get("category"),
            published=bool(item.get("published", True)),
        )
        for item in items
    ]
    return drafts, sample


SAMPLE_ACTOR = "system:sample"


def load_sample(session: Session, taxonomy: Taxonomy, path: Optional[Path] = None) -> int:
    """The shipped sample entries (bot/knowledge_sample.yml), into a base that has never had an
    entry; how many were added (0 once the district has any entry of its own or the sample)."""
    from bot.knowledge import SAMPLE_FILE

    if session.execute(select(func.count(KnowledgeEntry.id))).scalar_one():
        return 0
    drafts, _ = drafts_from_file(path or SAMPLE_FILE)
    return import_drafts(session, drafts, taxonomy, SAMPLE_ACTOR, sample=True)


def record_question(
    session: Session,
    text: str,
    outcome: str,
    conversation_id: Optional[str] = None,
    script: Optional[str] = None,
    entry_id: Optional[int] = None,
    score: Optional[float] = None,
    now: Optional[dt.datetime] = None,
) -> KnowledgeQuestion:
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    question = KnowledgeQuestion(
        text=text[: limits.MESSAGE],
        outcome=outcome,
        conversation_id=conversation_id,
        script=script,
        entry_id=entry_id,
        score=score,
        created_at=now or utcnow(),
    )
    session.add(question)
    session.flush()
    return question


def questions_to_improve(
    session: Session, since: Optional[dt.datetime] = None, limit: int = 1000
) -> List[KnowledgeQuestion]:
    """Questions that got no good answer or a 没帮助 and that no entry was written from yet,
    newest first (grouped by similarity where they are shown)."""
    query = select(KnowledgeQuestion).where(
        KnowledgeQuestion.outcome.in_(TO_IMPROVE), KnowledgeQuestion.covered_by_id.is_(None)
    )
    if since is not None:
        query = query.where(KnowledgeQuestion.created_at >= since)
    return list(session.execute(query.order_by(KnowledgeQuestion.id.desc()).limit(limit)).scalars())


def mark_covered(session: Session, question_ids: Iterable[int], entry: KnowledgeEntry) -> int:
    """The questions an entry was written from leave the list of questions to answer."""
    ids = list(question_ids)
    if not ids:
        return 0
    rows = session.execute(select(KnowledgeQuestion).where(KnowledgeQuestion.id.in_(ids))).scalars()
    count = 0
    for question in rows:
        question.covered_by_id = entry.id
        count += 1
    session.flush()
    return count
