"""Working days as a clerk in China counts them: public holidays off, make-up working days (调休)
worked, the district's own days off and extra working days; response deadlines by urgency."""

import datetime as dt
import logging

import pytest

from bot import settings
from bot.settings import ResponseDeadline, Settings, SettingsError
from bot.store import workdays
from bot.store.workdays import add_working_days, is_working_day, response_due

D = dt.date


@pytest.fixture(autouse=True)
def district(monkeypatch, tmp_path):
    monkeypatch.setenv("MINSHENG_VAR_DIR", str(tmp_path))
    for name in ("MINSHENG_HOLIDAYS", "MINSHENG_WORKDAYS", "MINSHENG_RESPONSE_DEADLINES", "MINSHENG_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)


def test_national_day_week_2026_and_its_make_up_saturday():
    # 1–7 October off; Sunday 20 September and Saturday 10 October are worked.
    assert not any(is_working_day(D(2026, 10, day)) for day in range(1, 8))
    assert is_working_day(D(2026, 9, 20)) and is_working_day(D(2026, 10, 10))
    # Filed on Wednesday 30 September: day 1 is Thursday 8 October, day 2 Friday 9, day 3 the
    # make-up Saturday 10 October, day 5 Tuesday 13 October.
    assert add_working_days(D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert add_working_days(D(2026, 9, 30), 3) == D(2026, 10, 10)
    assert add_working_days(D(2026, 9, 30), 5) == D(2026, 10, 13)
    # Filed on Friday 18 September with 2 working days: Sunday 20 September is one of them.
    assert add_working_days(D(2026, 9, 18), 1) == D(2026, 9, 20)
    assert add_working_days(D(2026, 9, 18), 2) == D(2026, 9, 21)


def test_spring_festival_2026_and_its_make_up_saturdays():
    # 15–23 February off; Saturdays 14 and 28 February are worked.
    assert not any(is_working_day(D(2026, 2, day)) for day in range(15, 24))
    assert is_working_day(D(2026, 2, 14)) and is_working_day(D(2026, 2, 28))
    # Filed on Friday 13 February: day 1 is the make-up Saturday, then work resumes on Tuesday 24.
    assert add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 14)
    assert add_working_days(D(2026, 2, 13), 2) == D(2026, 2, 24)
    # Sanitation's 3 working days from Thursday 26 February: Friday 27, Saturday 28 (worked), Monday 2 March.
    assert add_working_days(D(2026, 2, 26), 3) == D(2026, 3, 2)
    # A ticket's 10 working days from Wednesday 11 February: 12, 13, 14(Sat), 24, 25, 26, 27, 28(Sat), 2, 3 March.
    assert add_working_days(D(2026, 2, 11), 10) == D(2026, 3, 3)


def test_the_district_adds_its_own_days_off_and_working_days(monkeypatch):
    monkeypatch.setenv("MINSHENG_HOLIDAYS", "2026-10-09")
    monkeypatch.setenv("MINSHENG_WORKDAYS", "2026-10-11")
    assert not is_working_day(D(2026, 10, 9)) and is_working_day(D(2026, 10, 11))
    # 8 Oct, (9 off), 10 (make-up), 11 (the district's own), 12.
    assert add_working_days(D(2026, 9, 30), 4) == D(2026, 10, 12)


def test_a_day_cannot_be_both_a_day_off_and_a_working_day(tmp_path):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(
            {"MINSHENG_VAR_DIR": str(tmp_path), "MINSHENG_HOLIDAYS": "2026-10-09", "MINSHENG_WORKDAYS": "2026-10-09,x"}
        )
    assert "2026-10-09" in str(refused.value) and "MINSHENG_WORKDAYS: 'x'" in str(refused.value)


def test_a_year_the_calendar_does_not_know_falls_back_to_weekdays_with_a_warning(monkeypatch, caplog):
    monkeypatch.setenv("MINSHENG_WORKDAYS", "2099-10-03")
    workdays._warned_years.discard(2099)
    with caplog.at_level(logging.WARNING, logger="bot.store.workdays"):
        # 1 October 2099 is a Thursday: no national holiday is known, so it is worked.
        assert add_working_days(D(2099, 9, 30), 1) == D(2099, 10, 1)
        assert add_working_days(D(2099, 10, 2), 1) == D(2099, 10, 3)  # a Saturday the district works
        assert add_working_days(D(2099, 10, 3), 1) == D(2099, 10, 5)
    warnings = [r for r in caplog.records if "2099" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING


def utc(local: str) -> dt.datetime:
    """A Beijing time as the store keeps it (naive UTC)."""
    return dt.datetime.fromisoformat(local) - dt.timedelta(hours=8)


def test_response_deadlines_by_urgency():
    # Emergency: one clock hour, holiday or not.
    assert response_due(utc("2026-10-02 22:30"), "emergency") == utc("2026-10-02 23:30")
    # Hazard: the end of the same working day; on a day off, of the next working day.
    assert response_due(utc("2026-10-09 10:00"), "hazard") == utc("2026-10-10 00:00")
    assert response_due(utc("2026-10-03 10:00"), "hazard") == utc("2026-10-09 00:00")
    # Normal: the end of the next working day — the make-up Saturday counts.
    assert response_due(utc("2026-10-09 10:00"), "normal") == utc("2026-10-11 00:00")
    assert response_due(utc("2026-02-13 16:00"), "normal") == utc("2026-02-15 00:00")
    assert response_due(utc("2026-02-16 09:00"), "normal") == utc("2026-02-26 00:00")


def test_response_deadlines_are_configurable(monkeypatch, tmp_path):
    monkeypatch.setenv("MINSHENG_RESPONSE_DEADLINES", "emergency=2h,normal=2d")
    assert response_due(utc("2026-11-02 10:00"), "emergency") == utc("2026-11-02 12:00")
    assert response_due(utc("2026-11-02 10:00"), "normal") == utc("2026-11-05 00:00")
    assert response_due(utc("2026-11-02 10:00"), "hazard") == utc("2026-11-03 00:00")  # the default stays
    assert settings.load().response_deadline("hazard") == ResponseDeadline(working_days=0)
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"MINSHENG_VAR_DIR": str(tmp_path), "MINSHENG_RESPONSE_DEADLINES": "normal=soon"})
    assert "MINSHENG_RESPONSE_DEADLINES" in str(refused.value)
