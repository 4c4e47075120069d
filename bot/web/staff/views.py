"""Pages of the staff console."""
from __future__ import annotations

import asyncio
import datetime as dt
import functools
import urllib.parse

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session, new_session

from bot import settings, taxonomy
from bot.staff import accounts, audit, permissions, statistics, workflow
from bot.staff.accounts import ROLE_LABELS
from bot.ratings import LEVELS
from bot.store import outbox, states, surveys
from bot.store.db import session_scope
from bot.store.schema import Department, Ticket, User
from bot.store.tickets import find_by_number
from bot.store.workdays import local_today, local_zone
from bot.web.staff import exports, filing
from bot.web.staff.queue import QueueFilter, search
from bot.web.staff.security import (
    SESSION_KEY, check_csrf, csrf_token, current_user, database_url_of, login_required, remote_addr, session_token,
)

routes = web.RouteTableDef()
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


MAX_PASSWORD = 1024  # argon2 is given nothing longer


def _log_in(database_url, username: str, password: str, addr: str):
    """(session token, None) or (None, (status, message)); argon2 runs here, off the event loop."""
    with session_scope(database_url) as db:
        try:
            user = accounts.authenticate(db, username[:80], password[:MAX_PASSWORD], addr)
        except accounts.TooManyFailures as waiting:
            return None, (429, str(waiting))
        if user is None:
            return None, (401, "用户名或密码不对")
        audit.record(db, user.username, "login", remote_addr=addr)
        return accounts.start_session(db, user, addr), None


@routes.post("/staff/login")
async def login(request: web.Request):
    form = await request.post()
    await check_csrf(request, form)
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    token, refused = await asyncio.to_thread(_log_in, database_url_of(request), username, password,
                                             remote_addr(request))
    if token is None:
        status, error = refused
        context = {"csrf_token": await csrf_token(request), "next": safe_next(str(form.get("next", ""))),
                   "error": error}
        return aiohttp_jinja2.render_template("staff/login.html", request, context, status=status)
    session = await new_session(request)  # a fresh session on login: no fixation
    session[SESSION_KEY] = token
    raise web.HTTPFound(safe_next(str(form.get("next", ""))))


@routes.post("/staff/logout")
async def logout(request: web.Request):
    """Ends the session in the store: a saved copy of the cookie no longer works."""
    form = await request.post()
    await check_csrf(request, form)
    user, token = await current_user(request), await session_token(request)
    with session_scope(database_url_of(request)) as db:
        if token is not None:
            accounts.end_session(db, token)
        if user is not None:
            audit.record(db, user.username, "logout", remote_addr=remote_addr(request))
    (await get_session(request)).invalidate()
    raise web.HTTPFound("/staff/login")


@routes.get("/staff/password")
@login_required
@aiohttp_jinja2.template("staff/password.html")
async def password_form(request: web.Request):
    return await page_context(request, error="", done=request.query.get("msg") == "done")


def _change_password(database_url, user_id: int, current: str, new: str, repeated: str, keep: str, addr: str) -> str:
    """"" when changed, else what is wrong; every other session of the user ends."""
    with session_scope(database_url) as db:
        user = db.get(User, user_id)
        try:
            if not accounts.check_current_password(db, user, current[:MAX_PASSWORD], addr):
                return "当前密码不对"
        except accounts.TooManyFailures as waiting:
            return str(waiting)
        if new != repeated:
            return "两次输入的新密码不一样"
        if len(new) > MAX_PASSWORD:
            return "新密码太长了"
        try:
            accounts.change_password(db, user, new, keep_session=keep)
        except accounts.AccountError as refused:
            return str(refused)
        audit.record(db, user.username, "change_password", remote_addr=addr)
        settings.forget_first_admin_password(user.username)
        return ""


@routes.post("/staff/password")
@login_required
async def change_password(request: web.Request):
    form = await request.post()
    await check_csrf(request, form)
    error = await asyncio.to_thread(
        _change_password, database_url_of(request), request["user"].id, str(form.get("current", "")),
        str(form.get("new", "")), str(form.get("repeated", "")), await session_token(request) or "",
        remote_addr(request))
    if error:
        context = await page_context(request, error=error, done=False)
        return aiohttp_jinja2.render_template("staff/password.html", request, context, status=400)
    raise web.HTTPSeeOther("/staff/password?msg=done")


@routes.get("/staff/")
@login_required
@aiohttp_jinja2.template("staff/queue.html")
async def queue(request: web.Request):
    wanted = QueueFilter.from_query(request.query)
    with session_scope(database_url_of(request)) as db:
        found = search(db, request["user"], wanted)
        departments = {d.id: d.name for d in db.query(Department).all()}
        rows = [row_view(request["user"], t, departments) for t in found.tickets]
    query = {k: v for k, v in request.query.items() if k != "page"}
    return await page_context(request, rows=rows, found=found, wanted=wanted, departments=departments,
                              query_string=urllib.parse.urlencode(query))


def local_time(utc: dt.datetime) -> str:
    return utc.replace(tzinfo=dt.timezone.utc).astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")


def row_view(user: User, ticket: Ticket, departments: dict) -> dict:
    overdue = ticket.status in states.OPEN and ticket.deadline < local_today()
    return {"number": ticket.number, "description": permissions.shown_text(user, ticket.description)[:60],
            "status": ticket.status,
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
        shown = functools.partial(permissions.shown_text, user)
        view = {
            "number": ticket.number, "description": shown(ticket.description), "status": ticket.status,
            "category": ticket.category_id, "category_confidence": ticket.category_confidence,
            "urgency": ticket.urgency, "location": shown(ticket.location), "detail": shown(ticket.detail),
            "photo_url": ticket.photo_url, "channel": ticket.channel, "deadline": ticket.deadline.isoformat(),
            "phone": permissions.shown_phone(user, ticket.phone) or "匿名",
            "lead": departments.get(ticket.lead_department_id), "assisting": [d.name for d in ticket.assisting],
            "overdue": ticket.status in states.OPEN and ticket.deadline < local_today(),
            "history": [{"at": local_time(e.at), "actor": e.actor, "from": e.from_status, "to": e.to_status,
                         "note": shown(e.note)} for e in ticket.events],
            "flagged": ticket.flagged,
            "notifications": [
                {"created_at": local_time(n.created_at), "kind": n.kind, "status": outbox.STATUS_LABELS.get(n.status, n.status),
                 "delivered": n.status == outbox.DELIVERED, "attempts": n.attempts, "last_error": n.last_error,
                 "delivered_at": local_time(n.delivered_at) if n.delivered_at else "",
                 "via": outbox.VIA_LABELS.get(n.delivered_via or "", "")}
                for n in outbox.of_ticket(db, ticket.id)],
            "surveys": [
                {"created_at": local_time(v.created_at), "status": surveys.STATUS_LABELS.get(v.status, v.status),
                 "rating": LEVELS.get(v.rating) if v.rating else "", "comment": shown(v.comment) or "",
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
    for ticket in overdue:
        ticket.description = permissions.shown_text(request["user"], ticket.description)[:60]
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
