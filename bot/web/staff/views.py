"""Pages of the staff console."""
from __future__ import annotations

import datetime as dt
import urllib.parse

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session, new_session

from bot import taxonomy
from bot.parsing import mask_phone
from bot.staff import accounts, audit, permissions, statistics, workflow
from bot.staff.accounts import ROLE_LABELS
from bot.ratings import LEVELS
from bot.store import outbox, states, surveys
from bot.store.db import session_scope
from bot.store.schema import Department, Ticket
from bot.store.tickets import find_by_number
from bot.store.workdays import local_today, local_zone
from bot.web.staff import exports, filing
from bot.web.staff.queue import QueueFilter, search
from bot.web.staff.security import (
    USER_KEY, check_csrf, csrf_token, current_user, database_url_of, login_required, remote_addr,
)

routes = web.RouteTableDef()
PHONE_ROLES = {"dispatcher", "department", "admin"}
NOTIFICATION_KINDS = {"dispatched": "已派单", "in_progress": "开始办理", "resolved": "办结及满意度调查",
                      "rejected": "不予受理", "duplicate": "并单", "reply": "答复", "survey_reminder": "评价提醒"}


async def page_context(request: web.Request, **extra) -> dict:
    return {"user": request.get("user"), "csrf_token": await csrf_token(request), "role_labels": ROLE_LABELS,
            "state_labels": states.LABELS, "taxonomy": taxonomy.load(), **extra}


def safe_next(target: str) -> str:
    """Only paths of this console: no redirect to another site after login."""
    parsed = urllib.parse.urlparse(target or "")
    if parsed.scheme or parsed.netloc or not parsed.path.startswith("/staff/"):
        return "/staff/"
    return target


@routes.get("/staff/login")
@aiohttp_jinja2.template("staff/login.html")
async def login_form(request: web.Request):
    return {"csrf_token": await csrf_token(request), "next": safe_next(request.query.get("next", "")), "error": ""}


@routes.post("/staff/login")
async def login(request: web.Request):
    form = await request.post()
    await check_csrf(request, form)
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    error = ""
    with session_scope(database_url_of(request)) as db:
        try:
            user = accounts.authenticate(db, username, password, remote_addr(request))
        except accounts.AccountError as refused:
            user, error = None, str(refused)
        if user is not None:
            audit.record(db, user.username, "login", remote_addr=remote_addr(request))
            user_id = user.id
    if user is None:
        context = {"csrf_token": await csrf_token(request), "next": safe_next(str(form.get("next", ""))),
                   "error": error or "用户名或密码不对"}
        return aiohttp_jinja2.render_template("staff/login.html", request, context, status=401)
    session = await new_session(request)  # a fresh session on login: no fixation
    session[USER_KEY] = user_id
    raise web.HTTPFound(safe_next(str(form.get("next", ""))))


@routes.post("/staff/logout")
async def logout(request: web.Request):
    form = await request.post()
    await check_csrf(request, form)
    user = await current_user(request)
    if user is not None:
        with session_scope(database_url_of(request)) as db:
            audit.record(db, user.username, "logout", remote_addr=remote_addr(request))
    (await get_session(request)).invalidate()
    raise web.HTTPFound("/staff/login")


@routes.get("/staff/")
@login_required
@aiohttp_jinja2.template("staff/queue.html")
async def queue(request: web.Request):
    wanted = QueueFilter.from_query(request.query)
    with session_scope(database_url_of(request)) as db:
        found = search(db, request["user"], wanted)
        departments = {d.id: d.name for d in db.query(Department).all()}
        rows = [row_view(t, departments) for t in found.tickets]
    query = {k: v for k, v in request.query.items() if k != "page"}
    return await page_context(request, rows=rows, found=found, wanted=wanted, departments=departments,
                              query_string=urllib.parse.urlencode(query))


def local_time(utc: dt.datetime) -> str:
    return utc.replace(tzinfo=dt.timezone.utc).astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")


def row_view(ticket: Ticket, departments: dict) -> dict:
    overdue = ticket.status in states.OPEN and ticket.deadline < local_today()
    return {"number": ticket.number, "description": ticket.description[:60], "status": ticket.status,
            "category": ticket.category_id, "urgency": ticket.urgency, "department": departments.get(ticket.lead_department_id),
            "deadline": ticket.deadline.isoformat(), "overdue": overdue, "created_at": ticket.created_at,
            "flagged": ticket.flagged}


def load_visible(db, request: web.Request) -> Ticket:
    ticket = find_by_number(db, request.match_info["number"].upper())
    # Someone else's ticket is answered exactly like one that does not exist.
    if ticket is None or not permissions.can_see(request["user"], ticket):
        raise web.HTTPNotFound(text="没有这个工单")
    return ticket


@routes.get("/staff/tickets/{number}")
@login_required
@aiohttp_jinja2.template("staff/ticket.html")
async def ticket_page(request: web.Request):
    user = request["user"]
    with session_scope(database_url_of(request)) as db:
        ticket = load_visible(db, request)
        departments = {d.id: d.name for d in db.query(Department).all()}
        view = {
            "number": ticket.number, "description": ticket.description, "status": ticket.status,
            "category": ticket.category_id, "category_confidence": ticket.category_confidence,
            "urgency": ticket.urgency, "location": ticket.location, "detail": ticket.detail,
            "photo_url": ticket.photo_url, "channel": ticket.channel, "deadline": ticket.deadline.isoformat(),
            "phone": (ticket.phone if user.role in PHONE_ROLES else mask_phone(ticket.phone)) if ticket.phone else "匿名",
            "lead": departments.get(ticket.lead_department_id), "assisting": [d.name for d in ticket.assisting],
            "overdue": ticket.status in states.OPEN and ticket.deadline < local_today(),
            "history": [{"at": local_time(e.at), "actor": e.actor, "from": e.from_status, "to": e.to_status, "note": e.note}
                        for e in ticket.events],
            "flagged": ticket.flagged,
            "notifications": [
                {"created_at": local_time(n.created_at), "kind": n.kind, "status": outbox.STATUS_LABELS.get(n.status, n.status),
                 "delivered": n.status == outbox.DELIVERED, "attempts": n.attempts, "last_error": n.last_error,
                 "delivered_at": local_time(n.delivered_at) if n.delivered_at else "",
                 "via": outbox.VIA_LABELS.get(n.delivered_via or "", "")}
                for n in outbox.of_ticket(db, ticket.id)],
            "surveys": [
                {"created_at": local_time(v.created_at), "status": surveys.STATUS_LABELS.get(v.status, v.status),
                 "rating": LEVELS.get(v.rating) if v.rating else "", "comment": v.comment or "",
                 "source": surveys.SOURCE_LABELS.get(v.source or "", "")}
                for v in surveys.of_ticket(db, ticket.id)],
            "survey_open": surveys.awaiting_verdict(db, ticket) is not None,
            "allowed": {a for a in permissions.ACTIONS if permissions.can_do(user, a, ticket)},
            "next_states": states.TRANSITIONS[ticket.status],
        }
    return await page_context(request, ticket=view, departments=departments, levels=LEVELS,
                              kind_labels=NOTIFICATION_KINDS, message=request.query.get("msg", ""))


@routes.post("/staff/tickets/{number}/{action}")
@login_required
async def ticket_action(request: web.Request):
    form = await request.post()
    await check_csrf(request, form)
    action = request.match_info["action"]
    if action not in workflow.ACTION_NAMES:
        raise web.HTTPNotFound()
    fields = {key: form.get(key) for key in ("lead", "note", "into", "category", "rating")}
    fields["assisting"] = form.getall("assisting", [])
    with session_scope(database_url_of(request)) as db:
        ticket = load_visible(db, request)
        try:
            workflow.perform(db, request["user"], ticket, action, fields, remote_addr(request))
        except workflow.Refused as refused:
            db.rollback()
            return web.Response(status=403 if isinstance(refused, workflow.NotPermitted) else 409, text=str(refused),
                                content_type="text/plain", charset="utf-8")
        number = ticket.number
    raise web.HTTPSeeOther(f"/staff/tickets/{number}?msg=done")


@routes.get("/staff/export.{kind:csv|xlsx}")
@login_required
async def export(request: web.Request):
    wanted = QueueFilter.from_query(request.query)
    kind = request.match_info["kind"]
    with session_scope(database_url_of(request)) as db:
        data = list(exports.rows(db, request["user"], wanted))
        audit.record(db, request["user"].username, "export", remote_addr=remote_addr(request), kind=kind, rows=len(data),
                     query=dict(request.query))
    body = exports.as_csv(data) if kind == "csv" else exports.as_xlsx(data)
    content_type = "text/csv" if kind == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    filename = f"minsheng-tickets-{local_today().isoformat()}.{kind}"
    return web.Response(body=body, content_type=content_type,
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def supervision_only(request: web.Request) -> None:
    if request["user"].role == "department":
        raise web.HTTPForbidden(text="统计和督查页面供派单员、督查和管理员使用")


@routes.get("/staff/dashboard")
@login_required
@aiohttp_jinja2.template("staff/dashboard.html")
async def dashboard(request: web.Request):
    supervision_only(request)
    period = statistics.Period.parse(request.query.get("period"))
    by = "category" if request.query.get("by") == "category" else "department"
    tax = taxonomy.load()
    names = {**{d.id: d.name for d in tax.departments.values()}, **{c.id: c.name for c in tax.categories.values()}}
    with session_scope(database_url_of(request)) as db:
        rows = statistics.figures(db, period, by)
        rated = statistics.satisfaction(db, period)
    total = statistics.totals(rows)
    widest = max([r.collected for r in rows] or [1])
    return await page_context(request, rows=rows, total=total, period=period, by=by, names=names, widest=widest,
                              period_value=request.query.get("period", ""), rated=rated,
                              rated_total=statistics.satisfaction_total(rated))


@routes.get("/staff/new")
@login_required
@aiohttp_jinja2.template("staff/new.html")
async def new_ticket_form(request: web.Request):
    if request["user"].role == "supervisor":
        raise web.HTTPForbidden(text="督查账号不能代为登记")
    return await page_context(request, channels=filing.CHANNELS, error="", form={})


@routes.post("/staff/new")
@login_required
async def new_ticket(request: web.Request):
    form = await request.post()
    await check_csrf(request, form)
    try:
        number = await filing.file_for_resident(database_url_of(request), request["user"], form, remote_addr(request))
    except PermissionError as refused:
        raise web.HTTPForbidden(text=str(refused))
    except filing.FilingError as problem:
        values = {k: str(form.get(k, "")) for k in ("description", "location", "phone", "channel", "category")}
        context = await page_context(request, channels=filing.CHANNELS, error=str(problem), form=values)
        return aiohttp_jinja2.render_template("staff/new.html", request, context, status=400)
    raise web.HTTPSeeOther(f"/staff/tickets/{number}?msg=filed")


@routes.get("/staff/inspection")
@login_required
@aiohttp_jinja2.template("staff/inspection.html")
async def inspection(request: web.Request):
    """The half-monthly inspection list: overdue tickets by department (badly rated ones join
    when satisfaction surveys exist)."""
    supervision_only(request)
    today = local_today()
    period = statistics.Period.parse(request.query.get("period") or f"{today:%Y-%m}-{1 if today.day <= 15 else 2}")
    with session_scope(database_url_of(request)) as db:
        overdue = statistics.overdue_open(db)
    by_department: dict = {}
    for ticket in overdue:
        by_department.setdefault(ticket.department_id, []).append(ticket)
    ordered = sorted(by_department.items(), key=lambda item: -len(item[1]))
    return await page_context(request, period=period, groups=ordered, today=today, total=len(overdue))


@routes.get("/staff/bulletin")
@login_required
@aiohttp_jinja2.template("staff/bulletin.html")
async def bulletin(request: web.Request):
    """The monthly bulletin (通报): the month's ledger by department, naming those with overdue work
    and those residents rated badly."""
    supervision_only(request)
    period = statistics.Period.parse((request.query.get("period") or "")[:7] or None)
    with session_scope(database_url_of(request)) as db:
        rows = statistics.figures(db, period, "department")
        rated = statistics.satisfaction(db, period)
    named = [r for r in sorted(rows, key=lambda r: -r.overdue) if r.overdue]
    return await page_context(request, period=period, rows=rows, total=statistics.totals(rows), named=named,
                              rated=rated, rated_total=statistics.satisfaction_total(rated),
                              badly_rated=statistics.badly_rated(rated))
