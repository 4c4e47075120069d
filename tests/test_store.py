"""The ticket store, on SQLite and PostgreSQL."""

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from bot import taxonomy
from bot.store import states
from bot.store.db import session_scope
from bot.store.schema import Category, Department, Ticket, TicketEvent
from bot.store.tickets import NewReport, create_ticket, find_by_number, tickets_of_conversation, transition
from bot.store.workdays import add_working_days

NOON_UTC = dt.datetime(2026, 11, 25, 4, 0)  # a Wednesday, 12:00 in Beijing


def report(key="k1", conversation="c1", category="building", urgency="normal", **extra):
    return NewReport(
        submission_key=key,
        conversation_id=conversation,
        description="3栋楼道瓷砖掉了",
        category_id=category,
        urgency=urgency,
        **extra,
    )


def test_migration_loads_the_taxonomy(database_url):
    tax = taxonomy.load()
    with session_scope(database_url) as session:
        assert session.query(Category).count() == len(tax.categories) == 12
        assert session.get(Category, "roads").department_id == "transport"
        assert session.get(Department, "housing").name == "住建局"


def test_numbers_follow_the_local_day_and_count_up(database_url):
    tax = taxonomy.load()
    with session_scope(database_url) as session:
        first, _ = create_ticket(session, report("a"), tax, now=NOON_UTC)
        second, _ = create_ticket(session, report("b"), tax, now=NOON_UTC)
        # 17:00 UTC is already the next day in Beijing
        late, _ = create_ticket(session, report("c"), tax, now=dt.datetime(2026, 11, 25, 17, 0))
    assert (first.number, second.number) == ("MS-20261125-0001", "MS-20261125-0002")
    assert late.number == "MS-20261126-0001"


def test_same_submission_creates_one_ticket(database_url):
    tax = taxonomy.load()
    with session_scope(database_url) as session:
        first, created_first = create_ticket(session, report("same"), tax, now=NOON_UTC)
    with session_scope(database_url) as session:
        again, created_again = create_ticket(session, report("same"), tax, now=NOON_UTC)
    assert created_first and not created_again
    assert again.number == first.number
    with session_scope(database_url) as session:
        assert session.query(Ticket).count() == 1
        assert session.query(TicketEvent).count() == 1


def test_concurrent_reports_get_distinct_numbers(database_url):
    tax = taxonomy.load()
    numbers, errors = [], []

    def file(i):
        try:
            with session_scope(database_url) as session:
                ticket, _ = create_ticket(session, report(f"k{i}"), tax, now=NOON_UTC)
                numbers.append(ticket.number)
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=file, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(numbers) == [f"MS-20261125-{i:04d}" for i in range(1, 9)]


def test_deadline_by_category_and_urgency_in_working_days(database_url):
    tax = taxonomy.load()
    with session_scope(database_url) as session:
        normal, _ = create_ticket(session, report("n", category="sanitation"), tax, now=NOON_UTC)
        hazard, _ = create_ticket(session, report("h", urgency="hazard"), tax, now=NOON_UTC)
        emergency, _ = create_ticket(session, report("e", category="utilities", urgency="emergency"), tax, now=NOON_UTC)
    assert normal.deadline == dt.date(2026, 11, 30)  # 3 working days from Wednesday: Monday
    assert hazard.deadline == dt.date(2026, 11, 27)  # 2 working days
    assert emergency.deadline == dt.date(2026, 11, 25)  # same day
    assert emergency.flagged and not normal.flagged
    assert normal.lead_department_id == "sanitation"


def test_unknown_category_goes_to_triage(database_url):
    with session_scope(database_url) as session:
        ticket, _ = create_ticket(session, report("x", category="no-such"), taxonomy.load(), now=NOON_UTC)
    assert ticket.category_id == "other" and ticket.lead_department_id == "street_office"


def test_tickets_of_a_conversation_only(database_url):
    tax = taxonomy.load()
    with session_scope(database_url) as session:
        create_ticket(session, report("1", conversation="alice"), tax, now=NOON_UTC)
        create_ticket(session, report("2", conversation="bob"), tax, now=NOON_UTC)
        mine = tickets_of_conversation(session, "alice")
    assert [t.conversation_id for t in mine] == ["alice"]


def test_transitions_follow_the_state_table_and_are_recorded(database_url):
    with session_scope(database_url) as session:
        ticket, _ = create_ticket(session, report(), taxonomy.load(), now=NOON_UTC)
        transition(session, ticket, states.DISPATCHED, actor="dispatcher:wang")
        with pytest.raises(states.IllegalTransition):
            transition(session, ticket, states.CLOSED, actor="dispatcher:wang")
        with pytest.raises(states.IllegalTransition):
            transition(session, ticket, states.RETURNED, actor="housing:li")  # a reason is required
        transition(session, ticket, states.RETURNED, actor="housing:li", note="不属于本部门")
        number = ticket.number
    with session_scope(database_url) as session:
        ticket = find_by_number(session, number)
        history = [(e.from_status, e.to_status, e.actor) for e in ticket.events]
    assert ticket.status == states.RETURNED
    assert history == [
        (None, "submitted", "resident"),
        ("submitted", "dispatched", "dispatcher:wang"),
        ("dispatched", "returned", "housing:li"),
    ]


def test_every_state_has_a_label_and_terminal_states_go_nowhere():
    assert set(states.LABELS) == set(states.TRANSITIONS)
    for terminal in (states.CLOSED, states.DUPLICATE, states.REJECTED, states.CANCELLED):
        assert not states.TRANSITIONS[terminal]
    assert states.REOPENED in states.TRANSITIONS[states.RESOLVED]


def test_working_days_skip_weekends_and_holidays():
    friday = dt.date(2026, 11, 27)
    assert add_working_days(friday, 1) == dt.date(2026, 11, 30)
    assert add_working_days(friday, 1, {dt.date(2026, 11, 30)}) == dt.date(2026, 12, 1)
    assert add_working_days(friday, 0) == friday


def test_migrations_downgrade_and_upgrade_again(database_url):
    from alembic import command

    from bot.store.migrate import alembic_config, upgrade

    command.downgrade(alembic_config(database_url), "base")
    assert "tickets" not in sa.inspect(sa.create_engine(database_url)).get_table_names()
    upgrade(database_url)
    assert "tickets" in sa.inspect(sa.create_engine(database_url)).get_table_names()


def test_the_response_migration_gives_existing_tickets_their_response_deadline_and_first_answer(database_url):
    from alembic import command

    from bot.store.migrate import alembic_config, upgrade
    from bot.store.workdays import response_due

    tax = taxonomy.load()
    with session_scope(database_url) as session:
        answered, _ = create_ticket(session, report("m1", urgency="hazard"), tax, now=NOON_UTC)
        transition(session, answered, states.DISPATCHED, "dispatcher:d", now=NOON_UTC + dt.timedelta(hours=3))
        transition(session, answered, states.IN_PROGRESS, "department:d", now=NOON_UTC + dt.timedelta(hours=4))
        waiting, _ = create_ticket(session, report("m2", urgency="emergency"), tax, now=NOON_UTC)
    command.downgrade(alembic_config(database_url), "0011")
    upgrade(database_url)
    with session_scope(database_url) as session:
        answered, waiting = find_by_number(session, answered.number), find_by_number(session, waiting.number)
        assert answered.responded_at == NOON_UTC + dt.timedelta(hours=3) and waiting.responded_at is None
        assert answered.response_due == response_due(NOON_UTC, "hazard") == dt.datetime(2026, 11, 25, 16, 0)
        assert waiting.response_due == NOON_UTC + dt.timedelta(hours=1)


def test_a_ticket_records_its_street_and_community_or_is_flagged(database_url):
    tax = taxonomy.load()
    with session_scope(database_url) as session:
        known, _ = create_ticket(session, report("p1", location="錦繡江南4棟門口"), tax, now=NOON_UTC)
        unknown, _ = create_ticket(session, report("p2", location="沃尔玛后面的停车场"), tax, now=NOON_UTC)
        located, _ = create_ticket(
            session, report("p3", location="这附近", latitude=30.47055, longitude=106.63605), tax, now=NOON_UTC
        )
        none, _ = create_ticket(session, report("p4"), tax, now=NOON_UTC)
        assert (known.street, known.community, known.place_unknown) == ("枣山街道", "城南社区", False)
        assert (unknown.street, unknown.community, unknown.place_unknown) == (None, None, True)
        assert unknown.location == "沃尔玛后面的停车场"  # kept as the resident said it
        assert (located.street, located.community) == ("枣山街道", "城南社区")
        assert (located.latitude, located.longitude) == (30.47055, 106.63605)
        assert not none.place_unknown  # no place given: nothing to check


@pytest.mark.parametrize("latitude, longitude", [(91.0, 106.6), (30.4, 181.0), (30.4, None)])
def test_impossible_coordinates_are_refused(database_url, latitude, longitude):
    from bot.store.tickets import InvalidReport

    with session_scope(database_url) as session:
        with pytest.raises(InvalidReport, match="坐标"):
            create_ticket(session, report("bad", latitude=latitude, longitude=longitude), taxonomy.load())
