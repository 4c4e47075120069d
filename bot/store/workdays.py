"""Deadlines in working days (Monday to Friday; a district may list its holidays)."""

from __future__ import annotations

import datetime as dt
from typing import FrozenSet, Iterable, Optional
from zoneinfo import ZoneInfo

from bot import settings


def local_zone() -> ZoneInfo:
    return settings.load().zone


def local_today(now_utc: Optional[dt.datetime] = None) -> dt.date:
    now_utc = now_utc or dt.datetime.utcnow()
    return now_utc.replace(tzinfo=dt.timezone.utc).astimezone(local_zone()).date()


def holidays() -> FrozenSet[dt.date]:
    return settings.load().holidays


def add_working_days(start: dt.date, days: int, off: Iterable[dt.date] = ()) -> dt.date:
    """`days` working days after `start`; 0 means the same day."""
    off = frozenset(off)
    current = start
    remaining = days
    while remaining > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5 and current not in off:
            remaining -= 1
    return current
