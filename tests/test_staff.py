"""Staff accounts and ticket work, on SQLite and PostgreSQL."""

import pytest

from bot import taxonomy
from bot.staff import accounts, workflow
from bot.store import states
from bot.store.db import session_scope
from bot.store.schema import AuditEntry, Ticket
from bot.store.tickets import NewReport, create_ticket


def new_ticket(session, key="k", category="roads"):
    ticket, _ = create_ticket(session, NewReport(key, "c", "路灯坏了", category), taxonomy.load())
    return ticket


def test_passwords_are_hashed_and_checked(database_url):
    with session_scope(database_url) as db:
        user = accounts.create_user(db, "wang", "correct-horse", "dispatcher")
        assert user.password_hash.startswith("$argon2") and "correct-horse" not in user.password_hash
        assert accounts.authenticate(db, "wang", "correct-horse").id == user.id
        assert accounts.authenticate(db, "wang", "wrong") is None
        assert accounts.authenticate(db, "nobody", "x") is None


def test_guessing_slows_down_the_guesser_without_locking_the_user_out(database_url):
    """The attack: wrong passwords for a real name from one address. That address must wait
    before trying that name again (longer each time); the user at their own desk logs in."""
    attacker, desk = "203.0.113.5", "198.51.100.1"
    from bot.store.schema import LoginFailure, utcnow

    with session_scope(database_url) as db:
        user = accounts.create_user(db, "li", "correct-horse", "dispatcher")
        for name in ("li", "no-such-user"):  # an unknown name is counted and throttled exactly alike
            for _ in range(accounts.FREE_FAILURES):
                assert accounts.authenticate(db, name, "guess", attacker) is None
            assert db.query(LoginFailure).filter_by(username=name, remote_addr=attacker).count() == 3
            for _ in range(3):  # the guesser kept going (each wait is seconds long)
                db.add(LoginFailure(username=name, remote_addr=attacker, at=utcnow()))
            with pytest.raises(accounts.TooManyFailures):
                accounts.authenticate(db, name, "correct-horse", attacker)  # even the right password waits
        assert accounts.authenticate(db, "li", "correct-horse", desk).id == user.id


def test_the_wait_doubles_up_to_a_quarter_of_an_hour(database_url):
    import datetime as dt

    from bot.store.schema import LoginFailure

    start = dt.datetime(2026, 11, 26, 8, 0, 0)
    with session_scope(database_url) as db:
        waits = []
        for _ in range(1, 16):
            db.add(LoginFailure(username="li", remote_addr="203.0.113.5", at=start))
            db.flush()
            waits.append(accounts.wait_needed(db, "li", "203.0.113.5", now=start))
        assert waits[:3] == [0, 0, 1] and waits[3:6] == [2, 4, 8] and waits[-1] == 15 * 60
        assert accounts.wait_needed(db, "li", "198.51.100.1", now=start) == 0
        assert accounts.wait_needed(db, "li", "203.0.113.5", now=start + dt.timedelta(minutes=16)) == 0


def test_an_unknown_name_costs_the_same_as_a_wrong_password(database_url):
    """No timing oracle: both run one argon2 check (median of five tries each, other addresses)."""
    import statistics
    import time

    def median_seconds(name):
        times = []
        for i in range(5):
            with session_scope(database_url) as db:
                started = time.perf_counter()
                assert accounts.authenticate(db, name, "wrong-password", f"192.0.2.{i}{len(name)}") is None
                times.append(time.perf_counter() - started)
        return statistics.median(times)

    with session_scope(database_url) as db:
        accounts.create_user(db, "real", "correct-horse", "dispatcher")
    real, unknown = median_seconds("real"), median_seconds("nobody-by-this-name")
    assert unknown > 0.5 * real, (unknown, real)


@pytest.mark.parametrize(
    "name, password, role, department",
    [
        ("a", "short", "dispatcher", None),
        ("b", "long-enough", "boss", None),
        ("c", "long-enough", "department", None),
        ("d", "long-enough", "department", "no-such"),
    ],
)
def test_bad_accounts_are_refused(database_url, name, password, role, department):
    with session_scope(database_url) as db, pytest.raises(accounts.AccountError):
        accounts.create_user(db, name, password, role, department)


def test_dispatch_work_and_resolve_with_history_and_audit(database_url):
    with session_scope(database_url) as db:
        dispatcher = accounts.create_user(db, "disp", "long-enough", "dispatcher")
        clerk = accounts.create_user(db, "clerk", "long-enough", "department", "transport")
        ticket = new_ticket(db)
        workflow.dispatch(db, dispatcher, ticket, "transport", ["utilities"])
        assert [d.id for d in ticket.assisting] == ["utilities"]
        workflow.start(db, clerk, ticket)
        with pytest.raises(workflow.Refused):
            workflow.resolve(db, clerk, ticket, "   ")  # what was done is required
        workflow.resolve(db, clerk, ticket, "已更换灯泡")
        assert ticket.status == states.RESOLVED
        assert [e.to_status for e in ticket.events] == ["submitted", "dispatched", "in_progress", "resolved"]
        assert [a.action for a in db.query(AuditEntry).order_by(AuditEntry.id)] == ["dispatch", "start", "resolve"]


def test_roles_and_departments_are_enforced(database_url):
    with session_scope(database_url) as db:
        dispatcher = accounts.create_user(db, "disp", "long-enough", "dispatcher")
        other = accounts.create_user(db, "other", "long-enough", "department", "sanitation")
        supervisor = accounts.create_user(db, "sup", "long-enough", "supervisor")
        ticket = new_ticket(db)
        workflow.dispatch(db, dispatcher, ticket, "transport")
        for attempt in (
            lambda: workflow.start(db, other, ticket),
            lambda: workflow.resolve(db, supervisor, ticket, "x"),
            lambda: workflow.dispatch(db, other, ticket, "sanitation"),
        ):
            with pytest.raises(workflow.Refused):
                attempt()
        assert ticket.status == states.DISPATCHED


def test_illegal_transitions_are_refused(database_url):
    with session_scope(database_url) as db:
        dispatcher = accounts.create_user(db, "disp", "long-enough", "dispatcher")
        ticket = new_ticket(db)
        with pytest.raises(workflow.Refused):
            workflow.resolve(db, dispatcher, ticket, "done")  # not dispatched yet
        workflow.reject(db, dispatcher, ticket, "不属于受理范围")
        with pytest.raises(workflow.Refused):
            workflow.dispatch(db, dispatcher, ticket, "transport")


def test_return_redispatch_and_merge(database_url):
    with session_scope(database_url) as db:
        dispatcher = accounts.create_user(db, "disp", "long-enough", "dispatcher")
        clerk = accounts.create_user(db, "clerk", "long-enough", "department", "transport")
        first, second = new_ticket(db, "a"), new_ticket(db, "b")
        workflow.dispatch(db, dispatcher, first, "transport")
        with pytest.raises(workflow.Refused):
            workflow.return_ticket(db, clerk, first, "")
        workflow.return_ticket(db, clerk, first, "路灯归城管局管")
        workflow.dispatch(db, dispatcher, first, "enforcement")
        workflow.merge(db, dispatcher, second, first.number.lower())
        assert second.status == states.DUPLICATE and second.merged_into_id == first.id
        with pytest.raises(workflow.Refused):
            workflow.merge(db, dispatcher, first, "MS-20000101-0001")


def test_category_corrections_are_kept(database_url):
    with session_scope(database_url) as db:
        dispatcher = accounts.create_user(db, "disp", "long-enough", "dispatcher")
        ticket = new_ticket(db)
        assert workflow.recategorize(db, dispatcher, ticket, "building") == "roads"
        entry = db.query(AuditEntry).filter(AuditEntry.action == "recategorize").one()
        assert '"category": "building"' in entry.detail and "路灯坏了" in entry.detail
        assert db.get(Ticket, ticket.id).category_id == "building"
