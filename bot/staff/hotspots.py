"""Hot spots (热点问题): clusters of similar reports by place and meaning over a period, ranked by
size and by growth against the previous period of the same length.

"Similar" is the duplicate judgement (bot/store/duplicates.py `pairwise`, the same threshold),
with places compared as areas: reports about the same compound or road count together whichever
building they name. The store is grouped first, in SQL, by category and 街道 / 社区; only the
largest groups are read (their newest reports), and their reports are linked into clusters where
two reports are "the same problem" (connected components). A cluster of two or more reports is a
hot spot; its reports of the previous period are those as similar to one of its own."""

from __future__ import annotations

import calendar
import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from bot.staff.statistics import Period
from bot.store import duplicates
from bot.store.schema import Ticket, TicketEvent

GROUPS = 10  # the largest (category, place) groups of the period that are clustered
PER_GROUP = 80  # the newest reports read of each group and period
SHOWN = 10


@dataclass
class Hotspot:
    category_id: str
    street: Optional[str]
    community: Optional[str]
    place: str  # the compound or road most of its reports name, else the 社区 / 街道 / words
    summary: str  # the report most like the others
    size: int
    previous: int
    numbers: List[str] = field(default_factory=list)  # newest first
    latest: Optional[dt.datetime] = None
    # Its place and category had more reports than were read: the size is a lower bound.
    capped: bool = False

    @property
    def growth(self) -> Optional[float]:
        """The change against the previous period (0.5: half as many again); None when new."""
        return (self.size - self.previous) / self.previous if self.previous else None


def previous_period(period: Period) -> Period:
    """The period before, as a clerk counts it: the month before a month, the half-month before a
    half-month (October's second half before November's first), else as many days before."""
    day_before = period.start - dt.timedelta(days=1)
    last_day = calendar.monthrange(period.end.year, period.end.month)[1]
    if period.start.day == 1 and period.end.day == last_day and period.start.month == period.end.month:
        return Period.month(day_before.year, day_before.month)
    if (period.start.day, period.end.day) in ((1, 15), (16, last_day)):
        return Period.half_month(day_before.year, day_before.month, day_before.day > 15)
    length = period.end - period.start
    return Period(period.start - length - dt.timedelta(days=1), day_before, f"{day_before - length}至{day_before}")


Group = Tuple[str, Optional[str], Optional[str]]  # category, 街道, 社区


def _groups(session: Session, start: dt.datetime, end: dt.datetime) -> List[Group]:
    count = func.count(Ticket.id)
    rows = session.execute(
        select(Ticket.category_id, Ticket.street, Ticket.community, count)
        .where(Ticket.created_at >= start, Ticket.created_at < end)
        .group_by(Ticket.category_id, Ticket.street, Ticket.community)
        .having(count >= 2)
        .order_by(count.desc())
        .limit(GROUPS)
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def _members(session: Session, groups: Sequence[Group], periods: Sequence[Tuple[dt.datetime, dt.datetime]]):
    """The newest reports of each group in each period, read in one statement (one indexed part
    per group and period): {(group index, period index): rows}."""
    parts = []
    for g, (category, street, community) in enumerate(groups):
        for p, (start, end) in enumerate(periods):
            newest = (
                select(*duplicates.COLUMNS, literal(g).label("group_index"), literal(p).label("period_index"))
                .where(
                    Ticket.category_id == category,
                    Ticket.street.is_(None) if street is None else Ticket.street == street,
                    Ticket.community.is_(None) if community is None else Ticket.community == community,
                    Ticket.created_at >= start,
                    Ticket.created_at < end,
                )
                .order_by(Ticket.created_at.desc())
                .limit(PER_GROUP)
                .subquery()
            )
            parts.append(select(newest))
    found: Dict[Tuple[int, int], List[Any]] = {(g, p): [] for g in range(len(groups)) for p in range(len(periods))}
    if parts:
        for row in session.execute(union_all(*parts)):
            found[(row.group_index, row.period_index)].append(row)
    for rows in found.values():
        rows.sort(key=lambda r: r.created_at, reverse=True)
    return found


def _clusters(scores, at_least: float) -> List[List[int]]:
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    count, labels = connected_components(csr_matrix(scores >= at_least), directed=False)
    found: List[List[int]] = [[] for _ in range(count)]
    for index, label in enumerate(labels):
        found[label].append(index)
    return [c for c in found if len(c) >= 2]


def _place_of(members: Sequence[duplicates.Probe]) -> str:
    names = [duplicates.spot_of(p).name for p in members]
    named = [n for n in names if n]
    if named:
        return max(set(named), key=named.count)
    first = members[0]
    return first.community or first.street or (first.location or "（地点不详）")[:20]


# The hot spots last found for each period, with the store's state they were found in (see _stamp).
_FOUND: "OrderedDict[Tuple[dt.datetime, dt.datetime], Tuple[Tuple[Any, ...], List[Hotspot]]]" = OrderedDict()
_KEPT = 32
_LOCK = threading.Lock()


def _stamp(session: Session) -> Tuple[Any, ...]:
    """What changes whenever a ticket is filed or changed: the newest ticket and the newest line of
    any ticket's history (every change writes one, a category corrected included), with when each
    was written — primary-key look-ups — and which store and threshold they are judged by."""
    newest_ticket = select(Ticket.id, Ticket.created_at).order_by(Ticket.id.desc()).limit(1).subquery()
    newest_line = select(TicketEvent.id, TicketEvent.at).order_by(TicketEvent.id.desc()).limit(1).subquery()
    found = session.execute(
        select(
            select(newest_ticket.c.id).scalar_subquery(),
            select(newest_ticket.c.created_at).scalar_subquery(),
            select(newest_line.c.id).scalar_subquery(),
            select(newest_line.c.at).scalar_subquery(),
        )
    ).one()
    return (str(session.get_bind().url), duplicates.threshold(), *found)


def forget() -> None:
    """Drops the hot spots found so far: the next find() of each period works them out anew."""
    with _LOCK:
        _FOUND.clear()


def find(session: Session, period: Period, limit: int = SHOWN) -> List[Hotspot]:
    """The period's hot spots, largest first (then fastest growing). Worked out once for each
    period and state of the store (the dashboard, the bulletin and the page ask the same); a new
    ticket or a change anywhere and they are worked out again."""
    key, stamp = period.bounds(), tuple(_stamp(session))
    with _LOCK:
        kept = _FOUND.get(key)
        if kept is not None and kept[0] == stamp:
            _FOUND.move_to_end(key)
    if kept is None or kept[0] != stamp:
        kept = (stamp, _find(session, period))
        with _LOCK:
            _FOUND[key] = kept
            _FOUND.move_to_end(key)
            while len(_FOUND) > _KEPT:
                _FOUND.popitem(last=False)
    # Copies: the caller may shorten or redact what it shows.
    return [replace(h, numbers=list(h.numbers)) for h in kept[1][:limit]]


def _find(session: Session, period: Period) -> List[Hotspot]:
    """All the period's hot spots, largest first (then fastest growing)."""
    import numpy as np

    start, end = period.bounds()
    before, _ = previous_period(period).bounds()
    at_least = duplicates.threshold()
    found: List[Hotspot] = []
    groups = _groups(session, start, end)
    read = _members(session, groups, [(start, end), (before, start)])
    for index, group in enumerate(groups):
        now, earlier = read[(index, 0)], read[(index, 1)]
        probes = [duplicates.Probe.of_ticket(t) for t in now + earlier]
        scores = duplicates.pairwise(probes)
        current = scores[: len(now), : len(now)]
        for cluster in _clusters(current, at_least):
            members = [now[i] for i in cluster]
            previous = 0
            if earlier:
                across = scores[len(now) :, cluster]
                previous = int((across.max(axis=1) >= at_least).sum())
            # The report most like the others (the first of equals).
            central = cluster[int(current[np.ix_(cluster, cluster)].sum(axis=1).argmax())]
            found.append(
                Hotspot(
                    category_id=group[0],
                    street=group[1],
                    community=group[2],
                    place=_place_of([probes[i] for i in cluster]),
                    summary=now[central].description,
                    size=len(members),
                    previous=previous,
                    numbers=[t.number for t in members],
                    latest=max(t.created_at for t in members),
                    capped=len(now) >= PER_GROUP,
                )
            )
    found.sort(key=lambda h: (-h.size, -(h.growth if h.growth is not None else float("inf")), h.place))
    return found
