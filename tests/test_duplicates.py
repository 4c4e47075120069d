"""The same problem reported twice: the duplicate lookup, followers, merging, hot spots — on SQLite
and PostgreSQL."""

import datetime as dt

import pytest

from bot import taxonomy
from bot.actions.duplicates import DIFFERENT, SAME, same_problem
from bot.ratings import Rating
from bot.staff import accounts, hotspots, statistics, workflow
from bot.store import duplicates, followers, outbox, states, surveys
from bot.store.db import session_scope
from bot.store.schema import AuditEntry, Notification, Ticket, TicketEvent
from bot.store.tickets import NewReport, create_ticket

LAMP = "锦绣江南4栋门口的路灯坏了好几天了，晚上黑漆漆的"


def file(session, key, text, place, category="roads", conversation="owner", at=None):
    report = NewReport(key, conversation, text, category, location=place)
    ticket, _ = create_ticket(session, report, taxonomy.load(), now=at)
    return ticket


def probe(text, place, category="roads"):
    return duplicates.Probe.of_report(text, category, place)


# ---------------------------------------------------------------- the judgement


@pytest.mark.parametrize(
    "other, place, same",
    [
        ("4栋楼下那盏路灯不亮了，晚上出门看不见路", "锦绣江南小区4栋", True),
        ("錦繡江南四棟門口路燈壞了，麻煩派人來修一下", "錦繡江南4棟", True),
        ("锦绣江南9栋门口的路灯坏了好几天了", "锦绣江南9栋门口", False),  # another building
        (LAMP.replace("锦绣江南", "阳光小区"), "阳光小区4栋门口", False),  # another compound
        ("4栋门口的垃圾桶满了一直没人清理，臭得很", "锦绣江南4栋门口", False),  # another problem
    ],
)
def test_the_same_problem_at_the_same_place_and_nothing_else(other, place, same):
    score = duplicates.similarity(probe(LAMP, "锦绣江南4栋门口"), probe(other, place))
    assert duplicates.is_same(score) is same, score


def test_an_open_ticket_of_the_same_problem_is_found_within_the_window_only(database_url):
    now = dt.datetime(2026, 11, 20, 10, 0)
    with session_scope(database_url) as db:
        old = file(db, "old", LAMP, "锦绣江南4栋门口", at=now - dt.timedelta(days=10))
        recent = file(db, "recent", LAMP, "锦绣江南4栋门口", at=now - dt.timedelta(days=2))
        file(db, "other", "锦绣江南4栋门口的井盖不见了", "锦绣江南4栋门口", at=now - dt.timedelta(days=1))
        closed = file(db, "closed", LAMP, "锦绣江南4栋门口", at=now - dt.timedelta(days=1))
        closed.status = states.CLOSED
        db.flush()
        found = duplicates.candidates(db, probe("4栋楼下的路灯不亮了，晚上看不见路", "锦绣江南4栋"), now=now)
        assert [c.ticket.number for c in found] == [recent.number]
        assert found[0].score.total >= duplicates.threshold()
        wider = duplicates.candidates(db, probe(LAMP, "锦绣江南4栋门口"), now=now, window_days=30)
        assert {c.ticket.number for c in wider} == {old.number, recent.number}


# ---------------------------------------------------------------- followers


def resolve(db, ticket):
    admin = accounts.create_user(db, f"admin-{ticket.id}", "x" * 12, "admin")
    workflow.dispatch(db, admin, ticket, ticket.lead_department_id)
    workflow.resolve(db, admin, ticket, "已更换灯泡")
    return admin


def test_a_follower_is_told_every_update_and_asked_the_survey_like_the_resident(database_url):
    with session_scope(database_url) as db:
        ticket = file(db, "a", LAMP, "锦绣江南4栋门口", conversation="owner")
        followers.follow(db, ticket, "neighbour", description="4栋路灯不亮")
        followers.follow(db, ticket, "neighbour")  # once only
        followers.follow(db, ticket, "owner")  # the resident already hears of it
        resolve(db, ticket)
        told = db.query(Notification).filter_by(ticket_id=ticket.id).all()
        by_conversation = {c: sorted(n.kind for n in told if n.conversation_id == c) for c in ("owner", "neighbour")}
        assert by_conversation["owner"] == by_conversation["neighbour"] == ["dispatched", "resolved"]
        assert followers.awaiting_verdict(db, ticket, "neighbour") is not None
        assert followers.awaiting_verdict(db, ticket, "stranger") is None


def test_a_followers_dissatisfaction_is_recorded_and_flagged_but_only_the_resident_reopens(database_url):
    with session_scope(database_url) as db:
        ticket = file(db, "a", LAMP, "锦绣江南4栋门口")
        followers.follow(db, ticket, "neighbour")
        resolve(db, ticket)
        followers.record_verdict(db, ticket, "neighbour", Rating(2, "灯还是不亮"))
        assert ticket.status == states.RESOLVED and ticket.flagged
        assert followers.awaiting_verdict(db, ticket, "neighbour") is None  # answered once
        with pytest.raises(surveys.SurveyClosed):
            followers.record_verdict(db, ticket, "neighbour", Rating(5, None))
        assert [v.rating for v in followers.verdicts_of(db, ticket.id)] == [2]
        assert any("关注居民评价：不满意" in (e.note or "") for e in ticket.events)
        # The satisfaction figures count the ticket's own resident's verdict only.
        surveys.record(db, ticket, Rating(5, None), "chat", "resident")
        assert ticket.status == states.CLOSED
        period = statistics.Period.parse(f"{ticket.created_at:%Y-%m}")
        rated = statistics.satisfaction_total(statistics.satisfaction(db, period))
        assert rated.satisfaction_rate == 1.0


def test_merging_makes_the_merged_tickets_residents_followers_and_audits_both(database_url):
    with session_scope(database_url) as db:
        original = file(db, "a", LAMP, "锦绣江南4栋门口", conversation="first")
        merged = file(db, "b", "4栋门口路灯不亮", "锦绣江南4栋", conversation="second")
        followers.follow(db, merged, "third")
        dispatcher = accounts.create_user(db, "disp", "x" * 12, "dispatcher")
        workflow.merge(db, dispatcher, merged, original.number.lower())
        assert merged.status == states.DUPLICATE and merged.merged_into_id == original.id
        assert [f.conversation_id for f in followers.of_ticket(db, original.id)] == ["second", "third"]
        assert {a.ticket_id for a in db.query(AuditEntry).filter(AuditEntry.action.in_(["merge", "merged_in"]))} == {
            original.id,
            merged.id,
        }
        told_of_merge = {n.conversation_id for n in db.query(Notification).filter_by(ticket_id=merged.id)}
        assert told_of_merge == {"second", "third"}
        resolve(db, original)
        told = {n.conversation_id for n in db.query(Notification).filter_by(ticket_id=original.id, kind="resolved")}
        assert told == {"first", "second", "third"}
        with pytest.raises(workflow.Refused):
            workflow.merge(db, dispatcher, original, merged.number)  # not into a merged ticket


def test_staff_see_suggestions_of_open_and_resolved_tickets(database_url):
    with session_scope(database_url) as db:
        first = file(db, "a", LAMP, "锦绣江南4栋门口")
        second = file(db, "b", "錦繡江南四棟門口路燈壞了，麻煩派人來修一下", "錦繡江南4棟")
        file(db, "c", "锦绣江南4栋电梯又停了，老人上不去楼", "锦绣江南4栋", category="building")
        found = duplicates.suggestions(db, second)
        assert [c.ticket.number for c in found] == [first.number]
        assert 0 < found[0].score.total <= 1 and found[0].score.place == 1.0


# ---------------------------------------------------------------- hot spots


def test_hot_spots_rank_clusters_by_size_and_compare_with_the_previous_period(database_url):
    day = dt.datetime(2026, 10, 10, 9, 0)
    lamp = ["{}栋门口的路灯坏了", "{}栋那边的路灯坏了，晚上很黑", "{}栋楼下路灯坏了好几天"]
    with session_scope(database_url) as db:
        for i in range(6):
            text = lamp[i % 3].format(i + 1)
            file(db, f"lamp-{i}", "锦绣江南" + text, f"锦绣江南{i + 1}栋", at=day + dt.timedelta(days=i))
        for i in range(2):
            file(
                db,
                f"old-lamp-{i}",
                f"锦绣江南{i + 1}栋的路灯坏了",
                f"锦绣江南{i + 1}栋",
                at=day - dt.timedelta(days=20),
            )
        for i in range(2):
            file(db, f"trash-{i}", "红星小区门口垃圾没人收，臭得很", "红星小区门口", "sanitation", at=day)
        file(db, "alone", "育才小区6栋楼道有人飞线充电", "育才小区6栋", "safety", at=day)
        found = hotspots.find(db, statistics.Period.month(2026, 10))
        assert [(h.place, h.size) for h in found] == [("锦绣江南", 6), ("红星小区", 2)]
        assert found[0].previous == 2 and found[0].growth == 2.0
        assert found[1].growth is None  # new this month
        numbers = {t.number for t in db.query(Ticket).filter(Ticket.submission_key.like("lamp-%"))}
        assert set(found[0].numbers) == numbers


def test_hot_spots_follow_a_new_report_and_a_corrected_category_at_once(database_url):
    day, october = dt.datetime(2026, 10, 10, 9, 0), statistics.Period.month(2026, 10)
    with session_scope(database_url) as db:
        for i in range(3):
            text, place = f"锦绣江南{i + 1}栋门口的路灯坏了", f"锦绣江南{i + 1}栋"
            file(db, f"lamp-{i}", text, place, at=day + dt.timedelta(days=i))
        boss = accounts.create_user(db, "boss", "correct-horse", "dispatcher")
    with session_scope(database_url) as db:
        assert [h.size for h in hotspots.find(db, october)] == [3]
        assert [h.size for h in hotspots.find(db, october, limit=1)] == [3]  # asked again: the same
        file(db, "lamp-3", "锦绣江南5栋楼下路灯坏了", "锦绣江南5栋", at=day + dt.timedelta(days=5))
    with session_scope(database_url) as db:
        assert [h.size for h in hotspots.find(db, october)] == [4]
        lamp = db.query(Ticket).filter(Ticket.submission_key == "lamp-0").one()
        workflow.recategorize(db, db.merge(boss), lamp, "utilities")
    with session_scope(database_url) as db:
        found = hotspots.find(db, october)
        assert [h.size for h in found] == [3] and lamp.number not in found[0].numbers
        found[0].numbers.clear()  # what a page does with what it is given is its own
        assert len(hotspots.find(db, october)[0].numbers) == 3


# ---------------------------------------------------------------- the resident's answer


@pytest.mark.parametrize(
    "text, answer",
    [
        ("是同一个问题", SAME),
        ("對，就是這個", SAME),
        ("是的", SAME),
        ("嗯", SAME),
        ("不一样，我要单独反映", DIFFERENT),
        ("不是同一個", DIFFERENT),
        ("两回事", DIFFERENT),
        ("你说啥", None),
        ("", None),
    ],
)
def test_the_residents_answer_about_the_same_problem(text, answer):
    assert same_problem(text) == answer


def test_history_lines_of_followers_are_for_staff_only(database_url):
    with session_scope(database_url) as db:
        ticket = file(db, "a", LAMP, "锦绣江南4栋门口")
        followers.follow(db, ticket, "neighbour", note="又一位居民反映了同一问题")
        line = db.query(TicketEvent).filter_by(ticket_id=ticket.id, kind="note").one()
        assert outbox.resident_line(line) is None
