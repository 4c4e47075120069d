"""The knowledge base as staff work it, console and API alike: what a form or a JSON body says of
an entry, who may change which entry (bot/staff/permissions.py `may_edit_entry`), each change
audited in the same transaction; and the questions residents asked that got no good answer,
grouped by similarity for staff to write entries from.

The store's rules (what an entry may say, revisions, what answers residents) are
bot/store/knowledge.py's; this module adds only who and the audit line."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import limits, taxonomy
from bot.errors import NotFound, NotPermitted
from bot.staff import audit, permissions, serializers
from bot.store import knowledge
from bot.store.knowledge import EntryDraft
from bot.store.schema import KnowledgeEntry, KnowledgeQuestion, KnowledgeRevision, User
from bot.textnorm import clean_user_text, normalize

# Two questions at least this alike (cosine of their character n-grams, as duplicates.py compares
# reports' words) ask the same thing; a group is the questions linked by such pairs. Rewordings of
# one question score from about 0.45 ("犬只登记需要哪些材料" / "给犬只登记要带什么证件材料"),
# different questions below 0.1.
QUESTION_SIMILARITY = 0.4
EXAMPLES_SHOWN = 5
# A group's newest questions an entry written from it covers at once (they travel in a link).
MOST_COVERED = 200
CHANGES = {
    knowledge.CREATED: "新建",
    knowledge.EDITED: "修改",
    knowledge.PUBLISHED: "发布",
    knowledge.UNPUBLISHED: "撤回",
}
FIELD_LABELS = {
    "question": "问题",
    "phrasings": "其他问法",
    "answer": "答案",
    "department_id": "责任部门",
    "category_id": "类别",
    "published": "发布状态",
}


def actor_of(user: User) -> str:
    return f"{user.role}:{user.username}"


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "on", "true", "yes")


def _lines(value: Any) -> List[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return str(value or "").splitlines()


def _optional_id(value: Any) -> Optional[str]:
    text = str(value or "").strip()
    return text[:64] or None


def draft_of(values: Mapping[str, Any], base: Optional[EntryDraft] = None) -> EntryDraft:
    """An entry as a form or a JSON body writes it (question, phrasings — a list or one a line —,
    answer, department, category, published); a field left out keeps `base`'s value."""
    base = base or EntryDraft(question="", answer="")

    def given(name: str, default: Any, read) -> Any:
        return read(values[name]) if name in values else default

    return EntryDraft(
        question=given("question", base.question, lambda v: str(v or "")),
        answer=given("answer", base.answer, lambda v: str(v or "")),
        phrasings=given("phrasings", list(base.phrasings), _lines),
        department_id=given("department", base.department_id, _optional_id),
        category_id=given("category", base.category_id, _optional_id),
        published=given("published", base.published, _flag),
    )


def entry_of(session: Session, entry_id: int) -> KnowledgeEntry:
    entry = knowledge.get(session, entry_id)
    if entry is None:
        raise NotFound("没有这个知识条目")
    return entry


def _check(user: User, department_id: Optional[str]) -> None:
    if not permissions.allows(user, "edit_knowledge"):
        raise NotPermitted("督查账号只能查看知识库")
    if not permissions.may_edit_entry(user, department_id):
        raise NotPermitted("只能编辑本部门的知识条目")


def create_entry(
    session: Session, user: User, draft: EntryDraft, remote_addr: str = "", covering: Sequence[int] = ()
) -> KnowledgeEntry:
    """A new entry by `user`; `covering`: the residents' questions it was written from, which leave
    the list of questions to improve."""
    tax = taxonomy.load()
    _check(user, knowledge.clean(draft, tax).department_id)
    entry = knowledge.create(session, draft, tax, actor_of(user))
    covered = knowledge.mark_covered(session, _open_questions(session, covering), entry)
    audit.record(
        session,
        user.username,
        "knowledge_create",
        remote_addr=remote_addr,
        entry_id=entry.id,
        question=entry.question,
        published=entry.published,
        **({"covered_questions": covered} if covered else {}),
    )
    return entry


def update_entry(
    session: Session, user: User, entry_id: int, values: Mapping[str, Any], remote_addr: str = ""
) -> Tuple[KnowledgeEntry, bool]:
    """The entry with `values` written over it (fields left out unchanged); False when nothing
    changed. Department staff may neither change another department's entry nor give theirs away."""
    tax = taxonomy.load()
    entry = entry_of(session, entry_id)
    _check(user, entry.department_id)
    draft = draft_of(values, EntryDraft.of(entry))
    _check(user, knowledge.clean(draft, tax).department_id)
    before = EntryDraft.of(entry)
    changed = knowledge.edit(session, entry, draft, tax, actor_of(user))
    if changed:
        audit.record(
            session,
            user.username,
            "knowledge_edit",
            remote_addr=remote_addr,
            entry_id=entry.id,
            version=entry.version,
            fields=changed_fields(before, EntryDraft.of(entry)),
        )
    return entry, changed


def publish_entry(
    session: Session, user: User, entry_id: int, published: bool, remote_addr: str = ""
) -> Tuple[KnowledgeEntry, bool]:
    entry = entry_of(session, entry_id)
    _check(user, entry.department_id)
    changed = knowledge.set_published(session, entry, published, actor_of(user))
    if changed:
        action = "knowledge_publish" if published else "knowledge_unpublish"
        audit.record(session, user.username, action, remote_addr=remote_addr, entry_id=entry.id, version=entry.version)
    return entry, changed


def changed_fields(before: EntryDraft, after: EntryDraft) -> List[str]:
    return [name for name in FIELD_LABELS if getattr(before, name) != getattr(after, name)]


def _as_draft(revision: KnowledgeRevision) -> EntryDraft:
    return EntryDraft(
        question=revision.question,
        answer=revision.answer,
        phrasings=[line for line in (revision.phrasings or "").splitlines() if line.strip()],
        department_id=revision.department_id,
        category_id=revision.category_id,
        published=revision.published,
    )


@dataclass
class Change:
    """A line of an entry's history: a revision and what it changed against the one before."""

    revision: KnowledgeRevision
    label: str
    fields: List[str]  # FIELD_LABELS keys; every field for the first version


def history(session: Session, entry_id: int) -> List[Change]:
    """The entry's revisions, newest first, each with what it changed."""
    revisions = knowledge.history(session, entry_id)
    found = []
    for index, revision in enumerate(revisions):
        older = revisions[index + 1] if index + 1 < len(revisions) else None
        fields = changed_fields(_as_draft(older), _as_draft(revision)) if older else []
        found.append(Change(revision, CHANGES.get(revision.change, revision.change), fields))
    return found


# ---------------------------------------------------------------- the list


PAGE_SIZE = 50
STATES = {"published": "已发布", "draft": "草稿"}
# The list's filters as they arrive in a URL (console and API alike): name, type, meaning.
PARAMETERS = (
    ("q", "string", "words looked for in the question, the other phrasings and the answer"),
    ("department", "string", "department id"),
    ("category", "string", "category id"),
    ("state", "string", "published | draft"),
    ("page", "integer", "1-based page of 50"),
)


@dataclass
class EntryFilter:
    words: str = ""
    department: str = ""
    category: str = ""
    state: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, query) -> "EntryFilter":
        tax = taxonomy.load()
        try:
            page = max(1, int(query.get("page", "1")))
        except ValueError:
            page = 1
        return cls(
            words=clean_user_text(query.get("q", ""), 100),  # no NUL: PostgreSQL refuses it
            department=query.get("department", "") if query.get("department", "") in tax.departments else "",
            category=query.get("category", "") if query.get("category", "") in tax.categories else "",
            state=query.get("state", "") if query.get("state", "") in STATES else "",
            page=page,
        )

    @property
    def published(self) -> Optional[bool]:
        return {"published": True, "draft": False}.get(self.state)


def search(session: Session, user: User, wanted: EntryFilter, page_size: int = PAGE_SIZE) -> serializers.KnowledgePage:
    """A page of entries as this user sees them (serializers.KnowledgePage): everyone reads every
    entry; `editable` says which this user may change."""
    arguments: Dict[str, Any] = dict(
        words=wanted.words,
        department_id=wanted.department or None,
        category_id=wanted.category or None,
        published=wanted.published,
    )
    page = wanted.page
    entries, total = knowledge.search(session, offset=(page - 1) * page_size, limit=page_size, **arguments)
    pages = max(1, -(-total // page_size))
    if page > pages:  # past the end: the last page
        page = pages
        entries, total = knowledge.search(session, offset=(page - 1) * page_size, limit=page_size, **arguments)
    return serializers.KnowledgePage(
        total=total,
        page=page,
        pages=pages,
        page_size=page_size,
        entries=[serializers.knowledge_summary(e, user) for e in entries],
    )


def detail(session: Session, user: User, entry_id: int) -> serializers.KnowledgeDetail:
    """The entry with its history (serializers.KnowledgeDetail)."""
    return serializers.knowledge_detail(entry_of(session, entry_id), history(session, entry_id), user)


# ---------------------------------------------------------------- residents' questions to improve


def _open_questions(session: Session, ids: Sequence[int]) -> List[int]:
    """Of `ids`, the questions still to improve (an entry may be written from them)."""
    if not ids:
        return []
    rows = session.execute(
        select(KnowledgeQuestion.id).where(
            KnowledgeQuestion.id.in_(list(ids)),
            KnowledgeQuestion.outcome.in_(knowledge.TO_IMPROVE),
            KnowledgeQuestion.covered_by_id.is_(None),
        )
    ).scalars()
    return list(rows)


@dataclass
class QuestionGroup:
    """Questions residents asked alike: the most typical one first."""

    typical: str
    count: int
    examples: List[str]  # distinct texts, the typical one first, at most EXAMPLES_SHOWN
    others: List[str]  # every other distinct text (the new entry's other phrasings)
    newest: dt.datetime
    ids: List[int] = field(default_factory=list)  # the newest MOST_COVERED
    unanswered: int = 0  # of `count`: got no answer (the rest got a 没帮助)


def _groups(questions: Sequence[KnowledgeQuestion]) -> List[List[int]]:
    """Indices of `questions`, linked where two ask alike (connected components)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    from bot.store.duplicates import vectors

    matrix = vectors([normalize(q.text) for q in questions])
    similar = (matrix @ matrix.T) >= QUESTION_SIMILARITY
    count, labels = connected_components(csr_matrix(similar), directed=False)
    found: List[List[int]] = [[] for _ in range(count)]
    for index, label in enumerate(labels):
        found[label].append(index)
    return found


def group_questions(questions: Sequence[KnowledgeQuestion]) -> List[QuestionGroup]:
    """Questions grouped by similarity, largest group first, then the newest."""
    if not questions:
        return []
    from bot.store.duplicates import vectors

    groups = []
    for members in _groups(questions):
        asked = [questions[i] for i in members]
        texts = list(dict.fromkeys(q.text.strip() for q in asked if q.text.strip()))
        if len(texts) > 1:
            matrix = vectors([normalize(t) for t in texts])
            closeness = (matrix @ matrix.T).sum(axis=1).A.ravel()
            typical = texts[int(closeness.argmax())]
        else:
            typical = texts[0] if texts else asked[0].text
        others = [t for t in texts if t != typical]
        groups.append(
            QuestionGroup(
                typical=typical,
                count=len(asked),
                examples=[typical, *others][:EXAMPLES_SHOWN],
                others=others,
                newest=max(q.created_at for q in asked),
                ids=sorted(q.id for q in asked)[-MOST_COVERED:],
                unanswered=sum(1 for q in asked if q.outcome == knowledge.UNANSWERED),
            )
        )
    groups.sort(key=lambda g: (-g.count, -g.newest.timestamp()))
    return groups


def questions_waiting(session: Session) -> int:
    """How many residents' questions are waiting for an entry (one count, for the list's link)."""
    return int(
        session.execute(
            select(func.count(KnowledgeQuestion.id)).where(
                KnowledgeQuestion.outcome.in_(knowledge.TO_IMPROVE), KnowledgeQuestion.covered_by_id.is_(None)
            )
        ).scalar_one()
    )


def questions_to_improve(session: Session, since: Optional[dt.datetime] = None) -> List[QuestionGroup]:
    return group_questions(knowledge.questions_to_improve(session, since=since))


def questions_to_improve_for(session: Session, user: User) -> List[QuestionGroup]:
    """The groups as this user may read them (phone numbers in residents' words masked for those
    without view_phone): the console's list and the API's alike."""
    groups = questions_to_improve(session)
    for group in groups:
        group.typical = permissions.shown_text(user, group.typical) or ""
        group.examples = [permissions.shown_text(user, t) or "" for t in group.examples]
        group.others = [permissions.shown_text(user, t) or "" for t in group.others]
    return groups


def draft_from_questions(session: Session, ids: Sequence[int]) -> Tuple[EntryDraft, List[int]]:
    """The create form filled from residents' questions still to improve: the most typical as the
    question, the others as other phrasings; and the ids of those questions."""
    open_ids = _open_questions(session, ids)
    if not open_ids:
        return EntryDraft(question="", answer=""), []
    asked = list(session.execute(select(KnowledgeQuestion).where(KnowledgeQuestion.id.in_(open_ids))).scalars())
    group = group_questions(asked)
    typical = group[0].typical if len(group) == 1 else max(group, key=lambda g: g.count).typical
    cut = limits.QUESTION  # a resident's message may be longer than an entry's question
    others = list(dict.fromkeys(q.text.strip()[:cut] for q in asked if q.text.strip() and q.text.strip() != typical))
    return (
        EntryDraft(question=typical[:cut], answer="", phrasings=others[: knowledge.MOST_PHRASINGS]),
        sorted(open_ids),
    )
