"""The knowledge base in the store, on SQLite and PostgreSQL: entries, their revisions, what
answers residents, and the questions kept for staff."""

import pytest

from bot import taxonomy
from bot.store import knowledge
from bot.store.db import session_scope
from bot.store.knowledge import EntryDraft, InvalidEntry
from bot.store.schema import Ticket
from bot.store.tickets import InvalidReport, NewReport, create_ticket


def fee_draft(**changes):
    values = dict(
        question="物业费怎么交？",
        answer="可以在物业服务中心前台缴纳，也可以用小区公众号在线缴费。",
        phrasings=["物业费在哪里交", "  物业费在哪里交 ", "", "交物业费去哪"],
        category_id="property",
    )
    values.update(changes)
    return EntryDraft(**values)


def test_an_entry_keeps_every_revision_with_who_and_what(database_url):
    tax = taxonomy.load()
    with session_scope(database_url) as session:
        entry = knowledge.create(session, fee_draft(), tax, "dispatcher:li")
        entry_id = entry.id
        # blank and repeated phrasings are dropped; the category's department answers for it
        assert knowledge.phrasings_of(entry) == ["物业费在哪里交", "交物业费去哪"]
        assert entry.department_id == "housing_property" and not entry.published
    with session_scope(database_url) as session:
        entry = knowledge.get(session, entry_id)
        assert not knowledge.edit(session, entry, EntryDraft.of(entry), tax, "admin:admin")
        changed = fee_draft(answer="物业服务中心前台或公众号“幸福家园”缴费，支持微信支付。")
        assert knowledge.edit(session, entry, changed, tax, "admin:admin")
        assert knowledge.set_published(session, entry, True, "admin:admin")
        assert not knowledge.set_published(session, entry, True, "admin:admin")
    with session_scope(database_url) as session:
        revisions = knowledge.history(session, entry_id)
        assert [(r.version, r.change, r.changed_by) for r in revisions] == [
            (3, "published", "admin:admin"),
            (2, "edited", "admin:admin"),
            (1, "created", "dispatcher:li"),
        ]
        assert "微信支付" in revisions[1].answer and "微信支付" not in revisions[2].answer


def test_only_published_entries_answer_and_every_change_is_seen(database_url):
    tax = taxonomy.load()
    with session_scope(database_url) as session:
        before = knowledge.signature(session)
        draft = knowledge.create(session, fee_draft(), tax, "admin:admin")
        live = knowledge.create(session, fee_draft(question="垃圾几点可以扔？", published=True), tax, "admin:admin")
        after_create = knowledge.signature(session)
        assert [e.id for e in knowledge.published_entries(session)] == [live.id]
        knowledge.set_published(session, draft, True, "admin:admin")
        after_publish = knowledge.signature(session)
        knowledge.edit(
            session,
            live,
            fee_draft(question="垃圾几点可以扔？", answer="早7点到9点，晚6点到8点。", published=True),
            tax,
            "admin:admin",
        )
        after_edit = knowledge.signature(session)
    assert len({before, after_create, after_publish, after_edit}) == 4


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"question": "  "}, "question"),
        ({"answer": ""}, "answer"),
        ({"question": "问" * 201}, "question"),
        ({"answer": "答" * 2001}, "answer"),
        ({"department_id": "nowhere"}, "department_id"),
        ({"category_id": "nothing"}, "category_id"),
        ({"phrasings": [f"问法{i}" for i in range(31)]}, "phrasings"),
    ],
)
def test_the_store_refuses_a_bad_entry_and_writes_nothing(database_url, changes, field):
    tax = taxonomy.load()
    with pytest.raises(InvalidEntry) as refused:
        with session_scope(database_url) as session:
            knowledge.create(session, fee_draft(**changes), tax, "admin:admin")
    assert refused.value.field == field
    with session_scope(database_url) as session:
        assert knowledge.search(session)[1] == 0


def test_search_finds_words_in_questions_phrasings_and_answers(database_url):
    tax = taxonomy.load()
    with session_scope(database_url) as session:
        knowledge.import_drafts(
            session,
            [
                fee_draft(),
                fee_draft(
                    question="居住证要带什么材料？",
                    answer="身份证和租房合同。",
                    phrasings=[],
                    category_id="public_services",
                ),
            ],
            tax,
            "system",
            sample=True,
        )
        # the same file imported again adds nothing
        assert knowledge.import_drafts(session, [fee_draft()], tax, "system") == 0
        assert [e.question for e in knowledge.search(session, "交物业费")[0]] == ["物业费怎么交？"]
        assert [e.question for e in knowledge.search(session, "租房合同")[0]] == ["居住证要带什么材料？"]
        assert knowledge.search(session, "50%_")[1] == 0
        # either script finds an entry written in the other
        assert [e.question for e in knowledge.search(session, "物業費")[0]] == ["物业费怎么交？"]
        assert [e.question for e in knowledge.search(session, "居住證 租房合同")[0]] == ["居住证要带什么材料？"]
        knowledge.import_drafts(
            session,
            [fee_draft(question="狗證要去哪裡辦？", answer="帶身分證到派出所。", phrasings=[], category_id="safety")],
            tax,
            "system",
        )
        assert [e.question for e in knowledge.search(session, "狗证")[0]] == ["狗證要去哪裡辦？"]
        entries, total = knowledge.search(session, department_id="public_services")
        assert total == 1 and entries[0].sample


def test_questions_without_a_good_answer_wait_until_an_entry_covers_them(database_url):
    tax = taxonomy.load()
    with session_scope(database_url) as session:
        missed = knowledge.record_question(
            session, "电动车在哪充电", knowledge.UNANSWERED, "c1", "simplified", score=0.1
        )
        disliked = knowledge.record_question(session, "物業費怎麼繳", knowledge.NOT_HELPFUL, "c2", "traditional")
        knowledge.record_question(session, "物业费怎么交", knowledge.HELPFUL, "c3")
        assert [q.id for q in knowledge.questions_to_improve(session)] == [disliked.id, missed.id]
        entry = knowledge.create(session, fee_draft(question="电动车在哪里充电？"), tax, "admin:admin")
        assert knowledge.mark_covered(session, [missed.id], entry) == 1
        assert [q.id for q in knowledge.questions_to_improve(session)] == [disliked.id]
        with pytest.raises(ValueError):
            knowledge.record_question(session, "x", "maybe")


def test_an_enquiry_is_a_ticket_of_its_own_kind(database_url):
    tax = taxonomy.load()
    base = dict(conversation_id="c1", description="电动车在哪充电？", category_id="public_services")
    with session_scope(database_url) as session:
        enquiry, _ = create_ticket(session, NewReport(submission_key="q1", kind="enquiry", **base), tax)
        report, _ = create_ticket(session, NewReport(submission_key="r1", **base), tax)
        assert (enquiry.kind, report.kind) == ("enquiry", "report")
        with pytest.raises(InvalidReport):
            create_ticket(session, NewReport(submission_key="x1", kind="rumour", **base), tax)
    with session_scope(database_url) as session:
        assert session.query(Ticket).filter_by(kind="enquiry").count() == 1
