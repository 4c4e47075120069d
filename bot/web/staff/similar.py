"""Console pages about reports of the same problem: the "可能重复" panel of a ticket (with the merge
action of bot/staff/workflow.py) and the hot spots (热点问题) page, with the short hot-spot section
the dashboard and the bulletin load. HTTP only: the judgement is bot/store/duplicates.py's, the
database is used in worker threads."""

from __future__ import annotations

from typing import Any, Dict, List

import aiohttp_jinja2
from aiohttp import web

from bot import taxonomy
from bot.staff import hotspots, permissions, serializers, statistics, workflow
from bot.store import duplicates, followers, states
from bot.store.workdays import local_today
from bot.web.context import db
from bot.web.staff.security import csrf_token, login_required
from bot.web.staff.views import local_time, page_context, require, visible

routes = web.RouteTableDef()
SECTION_SHOWN = 5


def suggestions_of(session, user, number: str) -> Dict[str, Any]:
    """The ticket's possible duplicates as this user may see them, and whether they may merge."""
    ticket = visible(session, user, number)
    found = [c for c in duplicates.suggestions(session, ticket) if permissions.allows(user, "view_ticket", c.ticket)]
    merge = workflow.ACTIONS["merge"]
    return {
        "ticket": ticket,
        "candidates": [serializers.duplicate_candidate(c, user) for c in found],
        "can_merge": permissions.allows(user, "merge", ticket) and merge.available(session, ticket),
        "followers": [
            {
                "via": followers.VIA_LABELS.get(f.via, f.via),
                "at": local_time(f.created_at),
                "description": permissions.shown_text(user, f.description) or "",
                "phone": permissions.shown_phone(user, f.phone) or "",
            }
            for f in followers.of_ticket(session, ticket.id)
        ],
        "verdicts": [
            {"rating": followers.rating_label(v.rating), "comment": permissions.shown_text(user, v.comment) or ""}
            for v in followers.verdicts_of(session, ticket.id)
        ],
    }


@routes.get("/staff/tickets/{number}/duplicates")
@login_required
async def duplicates_panel(request: web.Request):
    """The "可能重复" panel's content (loaded into the ticket page; also a page of its own)."""
    user, number = request["user"], request.match_info["number"]
    found = await db(request, lambda session: suggestions_of(session, user, number))
    context = {
        **found,
        "number": found["ticket"].number,
        "csrf_token": await csrf_token(request),
        "state_labels": states.LABELS,
        "threshold": duplicates.threshold(),
    }
    del context["ticket"]
    return aiohttp_jinja2.render_template("staff/_duplicates_list.html", request, context)


def _period_of(query) -> statistics.Period:
    """`period` as the dashboard takes it (2026-11, 2026-11-1), or a month and a half from the form."""
    month, half = (query.get("month") or "").strip(), (query.get("half") or "").strip()
    if month:
        return statistics.Period.parse(f"{month}-{half}" if half in ("1", "2") else month)
    return statistics.Period.parse(query.get("period"))


def period_value(period: statistics.Period) -> str:
    value = f"{period.start:%Y-%m}"
    if period.start.day == 16:
        return value + "-2"
    return value + "-1" if period.end.day == 15 else value


def _rows(found: List[hotspots.Hotspot]) -> List[Dict[str, Any]]:
    names = {c.id: c.name for c in taxonomy.load().categories.values()}
    return [
        {
            "rank": rank,
            "place": h.place,
            "where": " · ".join(p for p in (h.street, h.community) if p),
            "category": names.get(h.category_id, h.category_id),
            "summary": h.summary if len(h.summary) <= 40 else h.summary[:40] + "…",
            "size": h.size,
            "capped": h.capped,
            "previous": h.previous,
            "growth": h.growth,
            "numbers": h.numbers,
            "latest": local_time(h.latest) if h.latest else "",
        }
        for rank, h in enumerate(found, start=1)
    ]


async def _hotspots(request: web.Request, limit: int):
    require(request, "view_statistics", "统计和督查页面供派单员、督查和管理员使用")
    period = _period_of(request.query)
    user = request["user"]

    def read(session):
        found = hotspots.find(session, period, limit)
        for spot in found:
            spot.summary = permissions.shown_text(user, spot.summary) or ""
        return found

    return period, _rows(await db(request, read))


@routes.get("/staff/hotspots")
@login_required
@aiohttp_jinja2.template("staff/hotspots.html")
async def hotspots_page(request: web.Request):
    period, rows = await _hotspots(request, hotspots.SHOWN)
    return await page_context(
        request,
        period=period,
        period_value=period_value(period),
        month=f"{period.start:%Y-%m}",
        half="2" if period.start.day == 16 else "1" if period.end.day == 15 else "",
        previous=hotspots.previous_period(period),
        rows=rows,
        today=local_today(),
    )


@routes.get("/staff/hotspots/section")
@login_required
async def hotspots_section(request: web.Request):
    """The dashboard's and the bulletin's short list (loaded into those pages)."""
    period, rows = await _hotspots(request, SECTION_SHOWN)
    context = {"period": period, "period_value": period_value(period), "rows": rows}
    return aiohttp_jinja2.render_template("staff/_hotspots_list.html", request, context)
