"""Closing the loop in the store: the outbox written with each change, delivery claims, surveys
and their reminders, phone follow-ups, the scheduler's lease and the satisfaction figures —
on SQLite and PostgreSQL."""

import datetime as dt

import pytest

from bot import taxonomy
from bot.notify import scheduler
from bot.ratings import Rating
from bot.staff import accounts, statistics, workflow
from bot.store import outbox, states, surveys
from bot.store.db import session_scope
from bot.store.schema import Notification, Survey, Ticket
from bot.store.tickets import NewReport, create_ticket, find_by_number


def resolved_ticket(db, key="k", conversation="resident-1"):
    staff = accounts.create_user(db, f"d-{key}", "long-enough", "dispatcher")
    ticket, _ = create_ticket(db, NewReport(key, conversation, "路灯坏了", "roads"), taxonomy.load())
    workflow.dispatch(db, staff, ticket, "transport")
    workflow.start(db, staff, ticket)
    workflow.resolve(db, staff, ticket, "已更换灯泡")
    return ticket, staff


def kinds(db, ticket):
    return [n.kind for n in outbox.of_ticket(db, ticket.id)]


def test_each_change_and_reply_puts_a_message_in_the_outbox_in_the_same_transaction(database_url):
    with session_scope(database_url) as db:
        ticket, staff = resolved_ticket(db)
        workflow.add_note(db, staff, ticket, "内部：材料已报销")
        assert kinds(db, ticket) == ["dispatched", "in_progress", "resolved"]
        number = ticket.number
    with pytest.raises(RuntimeError), session_scope(database_url) as db:
        ticket = find_by_number(db, number)
        workflow.reply(db, staff, ticket, "灯泡换的是LED的")
        raise RuntimeError("the request failed after the reply")
    with session_scope(database_url) as db:
        ticket = find_by_number(db, number)
        assert kinds(db, ticket) == ["dispatched", "in_progress", "resolved"]  # rolled back with the reply
        workflow.reply(db, staff, ticket, "灯泡换的是LED的")
        assert kinds(db, ticket)[-1] == "reply" and outbox.of_ticket(db, ticket.id)[-1].note == "灯泡换的是LED的"


def test_tickets_filed_by_staff_for_someone_without_a_chat_get_no_messages(database_url):
    with session_scope(database_url) as db:
        ticket, _ = resolved_ticket(db, conversation=None)
        assert kinds(db, ticket) == []
        assert surveys.open_survey_of(db, ticket.id) is not None  # a phone follow-up can still rate it


def test_a_claim_is_taken_once_and_taken_over_when_it_runs_out(database_url):
    now = dt.datetime.utcnow() + dt.timedelta(minutes=1)
    with session_scope(database_url) as db:
        resolved_ticket(db)
    with session_scope(database_url) as db:
        first = outbox.claim_due(db, holder_seconds=60, now=now)
    with session_scope(database_url) as db:
        assert outbox.claim_due(db, holder_seconds=60, now=now + dt.timedelta(seconds=30)) == []
    with session_scope(database_url) as db:
        again = outbox.claim_due(db, holder_seconds=60, now=now + dt.timedelta(seconds=61))
        assert [m.id for m in again] == [m.id for m in first] and {m.attempts for m in again} == {2}
        assert outbox.mark_delivered(db, again[0].id, "push") is True
        assert outbox.mark_delivered(db, again[0].id, "push") is False


def test_failed_pushes_back_off_then_wait_for_the_residents_next_message(database_url):
    now = dt.datetime.utcnow() + dt.timedelta(minutes=1)
    with session_scope(database_url) as db:
        resolved_ticket(db)
    gaps = []
    for _ in range(outbox.MAX_PUSH_ATTEMPTS):
        with session_scope(database_url) as db:
            claimed = [m for m in outbox.claim_due(db, now=now) if m.kind == "resolved"]
            assert len(claimed) == 1
            status = outbox.push_failed(db, claimed[0].id, "Rasa unreachable", now=now)
            message = db.get(Notification, claimed[0].id)
            if status == outbox.PENDING:
                gaps.append((message.next_attempt_at - now).total_seconds())
                now = message.next_attempt_at
    assert gaps == [30, 60, 120, 240, 480]
    with session_scope(database_url) as db:
        message = db.query(Notification).filter_by(kind="resolved").one()
        assert message.status == outbox.WAITING and message.last_error == "Rasa unreachable"
        assert message in outbox.undelivered_of(db, "resident-1")


@pytest.mark.parametrize(
    "level, status, flagged",
    [(5, states.CLOSED, False), (3, states.CLOSED, False), (2, states.REOPENED, True), (1, states.REOPENED, True)],
)
def test_a_verdict_closes_or_reopens_with_the_comment_in_the_history(database_url, level, status, flagged):
    with session_scope(database_url) as db:
        ticket, _ = resolved_ticket(db)
        surveys.record(db, ticket, Rating(level, "灯还是一闪一闪的"), "chat", "resident")
        assert ticket.status == status and ticket.flagged is flagged
        assert ticket.lead_department_id == "transport"
        assert "灯还是一闪一闪的" in ticket.events[-1].note
        with pytest.raises(surveys.SurveyClosed):
            surveys.record(db, ticket, Rating(5, None), "chat", "resident")


def test_a_reopened_ticket_resolved_again_is_surveyed_again(database_url):
    with session_scope(database_url) as db:
        ticket, staff = resolved_ticket(db)
        surveys.record(db, ticket, Rating(2, None), "chat", "resident")
        workflow.start(db, staff, ticket)
        workflow.resolve(db, staff, ticket, "重新接线")
        workflow.follow_up(db, staff, ticket, "4", "电话里说修好了")
        assert ticket.status == states.CLOSED
        assert [(s.rating, s.source) for s in surveys.of_ticket(db, ticket.id)] == [(2, "chat"), (4, "phone")]
        assert "电话回访：满意；意见：电话里说修好了" in ticket.events[-1].note
        with pytest.raises(workflow.Refused):
            workflow.follow_up(db, staff, ticket, "4")


def test_no_answer_one_reminder_after_three_days_then_closed_as_not_rated(database_url):
    with session_scope(database_url) as db:
        ticket, _ = resolved_ticket(db)
        resolved_at = surveys.open_survey_of(db, ticket.id).created_at
        number = ticket.number
    day = dt.timedelta(days=1)
    assert scheduler.run_due_jobs(resolved_at + 2 * day)["reminders"] == 0
    assert scheduler.run_due_jobs(resolved_at + 3 * day)["reminders"] == 1
    assert scheduler.run_due_jobs(resolved_at + 4 * day) == {
        "reminders": 0,
        "not_rated": 0,
        "overdue": 0,
        "forgotten": 0,
    }
    assert scheduler.run_due_jobs(resolved_at + 6 * day)["not_rated"] == 1
    with session_scope(database_url) as db:
        ticket = find_by_number(db, number)
        assert ticket.status == states.CLOSED and "未评价" in ticket.events[-1].note
        assert kinds(db, ticket).count(outbox.SURVEY_REMINDER) == 1
        assert db.query(Survey).one().status == surveys.NOT_RATED


def test_an_overdue_ticket_is_noted_once(database_url):
    with session_scope(database_url) as db:
        ticket, _ = create_ticket(db, NewReport("o", "c", "垃圾没人收", "sanitation"), taxonomy.load())
        deadline = ticket.deadline
    later = dt.datetime.combine(deadline + dt.timedelta(days=2), dt.time(12))
    assert scheduler.run_due_jobs(later)["overdue"] == 1
    assert scheduler.run_due_jobs(later)["overdue"] == 0
    with session_scope(database_url) as db:
        assert "已超过办理时限" in db.query(Ticket).one().events[-1].note


def test_only_one_process_holds_the_scheduler_lease_until_it_lapses(database_url):
    now = dt.datetime(2026, 11, 25, 8, 0)
    assert scheduler.take_lease("web-1", now) is True
    assert scheduler.take_lease("web-2", now + dt.timedelta(seconds=5)) is False
    assert scheduler.take_lease("web-1", now + dt.timedelta(seconds=10)) is True  # renewed
    assert scheduler.take_lease("web-2", now + dt.timedelta(seconds=35)) is False
    assert scheduler.take_lease("web-2", now + dt.timedelta(seconds=41)) is True  # web-1 stopped renewing
    scheduler.release_lease("web-2")
    assert scheduler.take_lease("web-1") is True


def test_satisfaction_response_and_reopen_rates_by_department(database_url):
    with session_scope(database_url) as db:
        verdicts = [5, 4, 3, 2, None]
        for i, level in enumerate(verdicts):
            ticket, _ = resolved_ticket(db, key=f"t{i}", conversation=f"r{i}")
            if level:
                surveys.record(db, ticket, Rating(level, None), "chat", "resident")
        month = statistics.Period.parse(dt.datetime.utcnow().strftime("%Y-%m"))
        [row] = statistics.satisfaction(db, month)
        assert (row.department_id, row.surveyed, row.answered, row.satisfied, row.reopened) == ("transport", 5, 4, 3, 1)
        assert row.satisfaction_rate == 0.75 and row.response_rate == 0.8 and row.reopen_rate == 0.2
        assert statistics.badly_rated([row]) == [row]


def test_old_login_failures_and_phone_checks_are_forgotten(database_url):
    """Names, addresses and ticket numbers of failed attempts are kept only while they count."""
    from bot.store.schema import LoginFailure, StaffSession, StatusCheck

    now = dt.datetime(2026, 11, 26, 12, 0, 0)
    with session_scope(database_url) as db:
        user = accounts.create_user(db, "kept", "long-enough", "dispatcher")
        for age in (dt.timedelta(days=31), dt.timedelta(days=2)):
            db.add(LoginFailure(username="kept", remote_addr="203.0.113.5", at=now - age))
            db.add(StatusCheck(ticket_number="MS-20261001-0001", source="203.0.113.5", at=now - age, succeeded=False))
            db.add(
                StaffSession(
                    token_hash=str(age.days) * 10,
                    user_id=user.id,
                    created_at=now - age,
                    expires_at=now - age + dt.timedelta(hours=12),
                )
            )
    assert scheduler.run_due_jobs(now)["forgotten"] == 3
    with session_scope(database_url) as db:
        assert [db.query(model).count() for model in (LoginFailure, StatusCheck, StaffSession)] == [1, 1, 1]
