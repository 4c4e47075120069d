"""Working days as they are in China, and every deadline computed from them.

A day is a working day when the district says so (MINSHENG_WORKDAYS), is not one when the district
gives it off (MINSHENG_HOLIDAYS), and otherwise as the State Council's calendar has it: public
holidays off, the make-up working days (调休) worked — from the `chinesecalendar` package. For a
year that package does not know yet, Monday to Friday are working days (plus the district's own
days) and a warning is logged once for that year."""

from __future__ import annotations

import bisect
import datetime as dt
import logging
from typing import Iterable, Optional, Set
from zoneinfo import ZoneInfo

import chinese_calendar

from bot import settings

logger = logging.getLogger(__name__)
_warned_years: Set[int] = set()


def local_zone() -> ZoneInfo:
    return settings.load().zone


def to_local(utc: dt.datetime, zone: Optional[ZoneInfo] = None) -> dt.datetime:
    """A stored time (naive UTC) as the wall-clock time of `zone` (by default the configured one)."""
    return utc.replace(tzinfo=dt.timezone.utc).astimezone(zone or local_zone())


def local_today(now_utc: Optional[dt.datetime] = None) -> dt.date:
    return to_local(now_utc or dt.datetime.utcnow()).date()


def utc_midnight(day: dt.date, zone: Optional[ZoneInfo] = None) -> dt.datetime:
    """The local midnight that begins `day`, as the store keeps times (naive UTC)."""
    local = dt.datetime.combine(day, dt.time(), tzinfo=zone or local_zone())
    return local.astimezone(dt.timezone.utc).replace(tzinfo=None)


def holidays() -> frozenset:
    """The district's own days off, on top of the national calendar."""
    return settings.load().holidays


def national_working_day(day: dt.date) -> bool:
    """The national calendar's answer; Monday to Friday for a year it does not cover."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            logger.warning(
                "the holiday calendar does not cover %s yet: Monday to Friday count as working days that year, "
                "plus MINSHENG_WORKDAYS and less MINSHENG_HOLIDAYS (update the chinesecalendar package)",
                day.year,
            )
        return day.weekday() < 5


def is_working_day(
    day: dt.date, off: Optional[Iterable[dt.date]] = None, on: Optional[Iterable[dt.date]] = None
) -> bool:
    """`off` / `on`: the district's own days off and extra working days (the settings' by default)."""
    if on is None or off is None:
        current = settings.load()
        on = current.extra_workdays if on is None else on
        off = current.holidays if off is None else off
    if day in on:
        return True
    if day in off:
        return False
    return national_working_day(day)


def add_working_days(
    start: dt.date, days: int, off: Optional[Iterable[dt.date]] = None, on: Optional[Iterable[dt.date]] = None
) -> dt.date:
    """`days` working days after `start`; 0 means the same day."""
    current = settings.load()
    off = current.holidays if off is None else frozenset(off)
    on = current.extra_workdays if on is None else frozenset(on)
    day, remaining = start, days
    while remaining > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day, off, on):
            remaining -= 1
    return day


def first_working_day(day: dt.date) -> dt.date:
    """`day` itself if it is a working day, else the next one."""
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def response_due(created_utc: dt.datetime, urgency: str) -> dt.datetime:
    """When a ticket filed at `created_utc` (naive UTC) must have been dispatched or its resident
    contacted (naive UTC): so many clock hours later, or the end of the working day so many working
    days after the day it came in — a report on a day off counts from the next working day."""
    return ResponseClock().due(created_utc, urgency)


class ResponseClock:
    """response_due for many tickets at once (a month's statistics): the settings read once, each
    local day's deadline computed once, the local day of a time found among the local midnights of
    `first` … `last` (local dates) by bisection rather than a time-zone conversion per ticket."""

    def __init__(self, first: Optional[dt.date] = None, last: Optional[dt.date] = None) -> None:
        self.settings = settings.load()
        self.zone = self.settings.zone
        self.rules = {u: self.settings.response_deadline(u) for u in ("emergency", "hazard", "normal")}
        self.first = first or dt.date.min
        span = (last - first).days + 2 if first and last else 0
        days = [first + dt.timedelta(days=i) for i in range(span)] if first else []
        self.midnights = [self._utc_midnight(day) for day in days]
        self.days: dict = {}
        self.by_index: dict = {}
        # The deadline in clock hours of each urgency (None: in working days); "normal" stands for
        # an urgency not configured.
        self.hours = {u: None if r.hours is None else dt.timedelta(hours=r.hours) for u, r in self.rules.items()}

    def _utc_midnight(self, day: dt.date) -> dt.datetime:
        return utc_midnight(day, self.zone)

    def local_day(self, utc: dt.datetime) -> dt.date:
        index = bisect.bisect_right(self.midnights, utc) - 1
        if 0 <= index < len(self.midnights) - 1:
            return self.first + dt.timedelta(days=index)
        return to_local(utc, self.zone).date()

    def due(self, created_utc: dt.datetime, urgency: str) -> dt.datetime:
        hours = self.hours.get(urgency, self.hours["normal"])
        if hours is not None:
            return created_utc + hours
        # Within the span, the deadline depends on the urgency and on which local day it is only.
        index = bisect.bisect_right(self.midnights, created_utc)
        key = (urgency, index) if 0 < index < len(self.midnights) else None
        found = self.by_index.get(key) if key else None
        if found is None:
            found = self.due_of_day(self.local_day(created_utc), urgency)
            if key:
                self.by_index[key] = found
        return found

    def due_of_day(self, received: dt.date, urgency: str) -> dt.datetime:
        """The response deadline (naive UTC) of a report received on the local day `received`, for
        an urgency whose deadline is in working days."""
        rule = self.rules.get(urgency) or self.settings.response_deadline(urgency)
        key = (received, rule.working_days or 0)
        found = self.days.get(key)
        if found is None:
            on, off = self.settings.extra_workdays, self.settings.holidays
            start = received
            while not is_working_day(start, off, on):
                start += dt.timedelta(days=1)
            last = add_working_days(start, rule.working_days or 0, off, on)
            found = self.days[key] = self._utc_midnight(last + dt.timedelta(days=1))
        return found
