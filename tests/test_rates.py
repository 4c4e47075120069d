"""The three rates (三率) and the ledger on a fixture month, October 2026 (National Day week
included), against figures worked out by hand; the period a page is asked for."""

import datetime as dt

import pytest

from bot import taxonomy
from bot.ratings import Rating
from bot.staff import statistics
from bot.staff.statistics import BadPeriod, Period
from bot.store import states, surveys
from bot.store.db import session_scope
from bot.store.tickets import NewReport, create_ticket, note_in_history, transition

OCTOBER = Period.month(2026, 10)
NOW = dt.datetime(2026, 11, 2)  # UTC: 2 November 08:00 in Beijing


def at(text: str) -> dt.datetime:
    """Naive UTC, as the store keeps times."""
    return dt.datetime.fromisoformat(text)


@pytest.fixture
def response_deadlines():
    """MINSHENG_RESPONSE_DEADLINES while the month's tickets are filed ("": the defaults)."""
    return ""


@pytest.fixture
def october(database_url, monkeypatch, response_deadlines):
    for name in ("MINSHENG_HOLIDAYS", "MINSHENG_WORKDAYS", "MINSHENG_RESPONSE_DEADLINES"):
        monkeypatch.delenv(name, raising=False)
    if response_deadlines:
        monkeypatch.setenv("MINSHENG_RESPONSE_DEADLINES", response_deadlines)
    tax = taxonomy.load()
    with session_scope(database_url) as db:

        def ticket(key, category, created, urgency="normal"):
            made, _ = create_ticket(
                db, NewReport(key, f"c-{key}", "楼下路灯坏了一个星期", category, urgency=urgency), tax, now=at(created)
            )
            return made

        def move(t, target, when, note=""):
            transition(db, t, target, "dispatcher:disp", note=note, now=at(when))

        def verdict(t, resolved, rated, level):
            move(t, states.RESOLVED, resolved, "已处理")
            surveys.open_survey(db, t, now=at(resolved))
            surveys.record(db, t, Rating(level, ""), "chat", "resident", now=at(rated))

        # 交通运输局 (roads; normal: answered by the end of the next working day)
        t1 = ticket("t1", "roads", "2026-10-09 02:00")  # Fri; due the make-up Saturday 10 Oct, 24:00
        move(t1, states.DISPATCHED, "2026-10-10 09:00")  # in time
        verdict(t1, "2026-10-12 03:00", "2026-10-12 05:00", 4)  # 满意 → closed
        t2 = ticket("t2", "roads", "2026-10-01 03:00")  # a holiday: due the end of Fri 9 Oct
        move(t2, states.DISPATCHED, "2026-10-09 08:00")  # in time
        t3 = ticket("t3", "roads", "2026-10-12 01:00")  # Mon; due Tue 13 Oct 24:00 (16:00 UTC)
        move(t3, states.DISPATCHED, "2026-10-14 02:00")  # late
        move(t3, states.IN_PROGRESS, "2026-10-14 03:00")
        verdict(t3, "2026-10-20 03:00", "2026-10-21 03:00", 2)  # 不满意 → reopened
        ticket("t4", "roads", "2026-10-20 01:00")  # never answered: late
        early = ticket("t0", "roads", "2026-09-29 01:00")  # September's, answered in October
        move(early, states.DISPATCHED, "2026-10-02 01:00")

        # 综合行政执法局（环卫） (sanitation)
        s1 = ticket("s1", "sanitation", "2026-10-15 02:00", "hazard")  # due the same day, 16:00 UTC
        note_in_history(
            db, s1, "dispatcher:disp", "已电话联系居民", now=at("2026-10-15 06:00"), kind=states.REPLY
        )  # contacted in time; dispatched only the next day
        move(s1, states.DISPATCHED, "2026-10-16 01:00")
        s2 = ticket("s2", "sanitation", "2026-10-16 02:00", "emergency")  # due within the hour
        move(s2, states.DISPATCHED, "2026-10-16 02:30")  # in time
        verdict(s2, "2026-10-16 05:00", "2026-10-16 08:00", 5)  # 非常满意 → closed
        s3 = ticket("s3", "sanitation", "2026-10-17 02:00", "emergency")
        move(s3, states.DISPATCHED, "2026-10-17 03:30")  # 90 minutes: late
        ticket("s4", "sanitation", "2026-10-30 20:00")  # Sat 31 Oct in Beijing: due Tue 3 Nov, not yet

        # 住建局 (building): dispatched in time, then handed back as not theirs
        r1 = ticket("r1", "building", "2026-10-21 01:00")
        move(r1, states.DISPATCHED, "2026-10-21 02:00")
        move(r1, states.RETURNED, "2026-10-22 02:00", "不属于本部门")
    return database_url


def by_key(rows):
    return {r.key: r for r in rows}


def test_the_three_rates_of_a_month_by_department(october):
    with session_scope(october) as db:
        rows = by_key(statistics.figures(db, OCTOBER, "department", now=NOW))
    assert set(rows) == {"transport", "sanitation", "housing"}
    road, trash, housing = rows["transport"], rows["sanitation"], rows["housing"]
    # collected, solved (resolved or closed), 办理中 (dispatched, in progress, reopened), overdue
    assert (road.collected, road.solved, road.in_progress) == (4, 1, 2)
    assert (trash.collected, trash.solved, trash.in_progress) == (4, 1, 2)
    assert (housing.collected, housing.solved, housing.in_progress) == (1, 0, 0)  # returned: not 办理中
    # response rate: answered in time ÷ due an answer (s4 is not due yet on 2 November)
    assert (road.answered_in_time, road.response_due) == (2, 4) and road.response_rate == 0.5
    assert (trash.answered_in_time, trash.response_due) == (2, 3) and trash.response_rate == pytest.approx(2 / 3)
    assert housing.response_rate == 1.0
    # resolution rate: solved ÷ collected
    assert road.solved_rate == 0.25 and trash.solved_rate == 0.25 and housing.solved_rate == 0.0
    # satisfaction rate: satisfied ÷ rated (October's surveys)
    assert (road.satisfied, road.rated) == (1, 2) and road.satisfaction_rate == 0.5
    assert trash.satisfaction_rate == 1.0 and housing.satisfaction_rate is None
    total = statistics.totals(list(rows.values()))
    assert (total.collected, total.solved, total.in_progress) == (9, 2, 4)
    assert total.response_rate == pytest.approx(5 / 8)
    assert total.solved_rate == pytest.approx(2 / 9)
    assert total.satisfaction_rate == pytest.approx(2 / 3)


def test_the_verdicts_a_page_has_read_already_give_the_same_figures(october):
    with session_scope(october) as db:
        rated = statistics.satisfaction(db, OCTOBER)
        shared = statistics.figures(db, OCTOBER, "department", now=NOW, rated=rated)
        assert shared == statistics.figures(db, OCTOBER, "department", now=NOW)
        assert sum(r.rated for r in shared) == 3


def test_the_same_month_by_category_and_later_when_every_answer_is_due(october):
    with session_scope(october) as db:
        rows = by_key(statistics.figures(db, OCTOBER, "category", now=NOW))
        later = by_key(statistics.figures(db, OCTOBER, "category", now=at("2026-11-10 00:00")))
    assert set(rows) == {"roads", "sanitation", "building"}
    assert rows["roads"].response_rate == 0.5 and rows["roads"].satisfaction_rate == 0.5
    assert (rows["sanitation"].answered_in_time, rows["sanitation"].response_due) == (2, 3)
    assert (later["sanitation"].answered_in_time, later["sanitation"].response_due) == (2, 4)


def test_the_weekly_trend_counts_collected_and_first_resolutions(october):
    with session_scope(october) as db:
        weeks = {w.start: w for w in statistics.weekly_trend(db, OCTOBER, weeks=6)}
    assert min(weeks) == dt.date(2026, 9, 21) and max(weeks) == dt.date(2026, 10, 26)
    assert weeks[dt.date(2026, 9, 28)].collected == 2  # t0 (29 Sep) and t2 (1 Oct)
    assert weeks[dt.date(2026, 10, 5)].collected == 1  # t1
    assert weeks[dt.date(2026, 10, 12)].collected == 4  # t3, s1, s2, s3
    assert weeks[dt.date(2026, 10, 19)].collected == 2  # t4, r1
    assert weeks[dt.date(2026, 10, 26)].collected == 1  # s4
    assert weeks[dt.date(2026, 10, 12)].solved == 2  # t1 (12 Oct) and s2 (16 Oct)
    assert weeks[dt.date(2026, 10, 19)].solved == 1  # t3 (20 Oct)
    assert sum(w.solved for w in weeks.values()) == 3


def test_the_inspection_lists_the_tickets_reopened_as_dissatisfied(october):
    with session_scope(october) as db:
        found = statistics.reopened(db, Period.half_month(2026, 10, True))
        first_half = statistics.reopened(db, Period.half_month(2026, 10, False))
    assert [(r.department_id, r.rating, r.status) for r in found] == [("transport", "不满意", states.REOPENED)]
    assert first_half == []


@pytest.mark.parametrize("text", ["2026-13", "2026-11-3", "11月", "2026/11", "2026-11-1-1", "1999-01", "-"])
def test_a_period_that_is_not_one_is_refused(text):
    with pytest.raises(BadPeriod) as refused:
        Period.parse(text)
    assert refused.value.status == 400 and "看不懂" in refused.value.message


def test_periods_read_and_written_the_same_way():
    today = dt.date(2026, 11, 10)
    assert Period.parse("", today) == Period.month(2026, 11)
    for value in ("2026-11", "2026-11-1", "2026-11-2", "2026-02-2"):
        assert Period.parse(value).value == value
    assert Period.parse("2026-02-2").end == dt.date(2026, 2, 28)
    choices = [p.value for p in Period.recent(today, months=2)]
    assert choices == ["2026-11", "2026-11-1", "2026-10", "2026-10-1", "2026-10-2"]


def test_the_inspection_shows_the_longest_overdue_of_each_department_and_counts_them_all(database_url):
    tax = taxonomy.load()
    with session_scope(database_url) as db:
        for i in range(23):
            create_ticket(db, NewReport(f"o{i}", "c", "路灯坏了", "roads"), tax, now=at(f"2026-09-{i + 1:02d} 02:00"))
        create_ticket(db, NewReport("o-trash", "c", "垃圾没人收", "sanitation"), tax, now=at("2026-09-10 02:00"))
        create_ticket(db, NewReport("fresh", "c", "井盖丢了", "roads"), tax, now=at("2026-11-20 02:00"))
        shown, counts = statistics.overdue_open(db, dt.date(2026, 11, 2), per_department=20)
    assert counts == {"transport": 23, "sanitation": 1}
    roads = [t for t in shown if t.department_id == "transport"]
    assert len(roads) == 20 and len(shown) == 21
    assert [t.deadline for t in shown] == sorted(t.deadline for t in shown)
    assert roads[-1].number.startswith("MS-20260920")  # the three most recent of the 23 are left out


@pytest.mark.parametrize(
    "response_deadlines", ["", "emergency=1h,hazard=0d,normal=1d", "emergency=1d,hazard=3h,normal=2d", "normal=4h"]
)
def test_the_month_counted_in_the_database_agrees_with_each_ticket_s_own_deadline(october, response_deadlines):
    """However the response deadlines are configured when the tickets are filed, the month's counts
    are those of each ticket's history compared with its own response_due (bot/store/workdays.py)."""
    from bot.store.schema import Ticket
    from bot.store.workdays import response_due

    start, end = OCTOBER.bounds()
    expected: dict = {}
    with session_scope(october) as db:
        counted = statistics.responses(db, OCTOBER, "department", now=NOW)
        for t in db.query(Ticket).filter(Ticket.created_at >= start, Ticket.created_at < end):
            answers = [
                e.at
                for e in t.events
                if e.kind == "reply" or (e.kind == "status" and e.to_status in statistics.ANSWERING_STATES)
            ]
            first, due = min(answers, default=None), response_due(t.created_at, t.urgency)
            if first is None and due > NOW:
                continue
            n_due, n_in_time = expected.get(t.lead_department_id, (0, 0))
            expected[t.lead_department_id] = (n_due + 1, n_in_time + int(first is not None and first <= due))
    assert counted == expected


def test_a_period_begins_at_local_midnight(database_url, monkeypatch):
    monkeypatch.setenv("MINSHENG_TIMEZONE", "Asia/Shanghai")
    tax = taxonomy.load()
    with session_scope(database_url) as db:
        for key, created in (
            ("late-sep", "2026-09-30 15:30"),
            ("oct-1", "2026-09-30 16:30"),
            ("nov-1", "2026-10-31 17:00"),
        ):
            create_ticket(db, NewReport(key, f"c-{key}", "楼道灯坏了", "roads"), tax, now=at(created))
    with session_scope(database_url) as db:
        october = sum(r.collected for r in statistics.figures(db, Period.month(2026, 10)))
        november = sum(r.collected for r in statistics.figures(db, Period.month(2026, 11)))
    # 23:30 on 30 September in Beijing is September's; 00:30 on 1 October is October's; 01:00 on
    # 1 November (17:00 UTC the day before) is November's
    assert (october, november) == (1, 1)


def test_a_response_deadline_is_the_one_in_force_when_the_ticket_was_filed(october, monkeypatch):
    """Deadlines configured later apply to the tickets filed later: October's figures stay."""
    monkeypatch.setenv("MINSHENG_RESPONSE_DEADLINES", "emergency=1d,hazard=3d,normal=5d")
    with session_scope(october) as db:
        trash = by_key(statistics.figures(db, OCTOBER, "category", now=NOW))["sanitation"]
    assert (trash.answered_in_time, trash.response_due) == (2, 3)


def test_a_cancelled_ticket_is_not_due_an_answer(october):
    tax = taxonomy.load()
    with session_scope(october) as db:
        for key, created in (("gone", "2026-10-05 02:00"), ("gone-after-reply", "2026-10-06 02:00")):
            ticket, _ = create_ticket(db, NewReport(key, f"c-{key}", "路口井盖丢了", "roads"), tax, now=at(created))
            if key == "gone-after-reply":
                note_in_history(db, ticket, "dispatcher:disp", "已记录", now=at("2026-10-09 02:00"), kind=states.REPLY)
            transition(db, ticket, states.CANCELLED, "resident", now=at("2026-10-10 02:00"))
    with session_scope(october) as db:
        road = by_key(statistics.figures(db, OCTOBER, "department", now=NOW))["transport"]
    assert road.collected == 6  # still collected (filed in October) ...
    assert (road.answered_in_time, road.response_due) == (2, 4)  # ... but not due an answer


def test_the_weekly_trend_counts_by_the_local_calendar_week(database_url, monkeypatch):
    """Monday 00:30 in Beijing is Sunday 16:30 UTC: that report and its resolution belong to the
    week that Monday begins, and Sunday 23:30 local to the week before."""
    monkeypatch.setenv("MINSHENG_TIMEZONE", "Asia/Shanghai")
    tax = taxonomy.load()
    with session_scope(database_url) as db:
        monday, _ = create_ticket(db, NewReport("mon", "c-m", "路灯不亮", "roads"), tax, now=at("2026-10-11 16:30"))
        sunday, _ = create_ticket(db, NewReport("sun", "c-s", "垃圾满了", "roads"), tax, now=at("2026-10-11 15:30"))
        for ticket, resolved in ((monday, "2026-10-18 16:10"), (sunday, "2026-10-18 15:50")):
            transition(db, ticket, states.DISPATCHED, "dispatcher:disp", now=at("2026-10-12 02:00"))
            transition(db, ticket, states.RESOLVED, "department:d", note="已修好", now=at(resolved))
    with session_scope(database_url) as db:
        weeks = {w.start: w for w in statistics.weekly_trend(db, OCTOBER, weeks=6)}
    assert (weeks[dt.date(2026, 10, 5)].collected, weeks[dt.date(2026, 10, 12)].collected) == (1, 1)
    assert (weeks[dt.date(2026, 10, 12)].solved, weeks[dt.date(2026, 10, 19)].solved) == (1, 1)
