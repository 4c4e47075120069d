"""Pages of the staff console: HTTP only. The ticket's shape comes from bot/staff/serializers.py,
the actions and their forms from the action table (bot/staff/workflow.py), who may do what from
bot/staff/permissions.py; the database is used in worker threads; errors are answered by the app."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import urllib.parse
from typing import Any, Dict

import aiohttp_jinja2
from aiohttp import web
from aiohttp.web_request import FileField
from aiohttp_session import get_session, new_session

from bot import labels, replies, taxonomy
from bot import settings as settings_module
from bot.errors import InvalidInput, MinshengError, NotFound, NotPermitted
from bot.ratings import LEVELS
from bot.staff import accounts, audit, exports, filing, permissions, serializers, statistics, workflow
from bot.staff.accounts import ROLE_LABELS
from bot.staff.queue import QueueFilter, search
from bot.store import outbox, states, surveys
from bot.store.schema import Department, Ticket, User
from bot.store.tickets import find_by_number
from bot.store.workdays import local_today, local_zone, to_local
from bot.web.context import db, export_file, rasa_of, settings_of
from bot.web.photos import MAX_BYTES, forget_photo, store_photo
from bot.web.staff.security import SESSION_KEY, csrf_token, current_user, login_required, remote_addr, session_token

routes = web.RouteTableDef()
MAX_PASSWORD = 1024  # argon2 is given nothing longer
STAFF_PERMISSIONS = ("file_on_behalf", "view_statistics", "view_all_departments", "view_knowledge")


async def page_context(request: web.Request, **extra) -> dict:
    user = request.get("user")
    return {
        "user": user,
        "csrf_token": await csrf_token(request),
        "role_labels": ROLE_LABELS,
        "state_labels": states.LABELS,
        "labels": labels,
        "taxonomy": taxonomy.load(),
        "can": {p: permissions.allows(user, p) for p in STAFF_PERMISSIONS},
        **extra,
    }


def require(request: web.Request, permission: str, message: str) -> None:
    if not permissions.allows(request["user"], permission):
        raise NotPermitted(message)


def safe_next(target: str) -> str:
    """Only paths of this console: no redirect to another site after login."""
    parsed = urllib.parse.urlparse(target or "")
    if parsed.scheme or parsed.netloc or not parsed.path.startswith("/staff/"):
        return "/staff/"
    return target


def local_time(utc: dt.datetime, zone=None) -> str:
    return to_local(utc, zone).strftime("%Y-%m-%d %H:%M")


def visible(session, user: User, number: str) -> Ticket:
    ticket = find_by_number(session, number.upper())
    # Someone else's ticket is answered exactly like one that does not exist.
    if ticket is None or not permissions.allows(user, "view_ticket", ticket):
        raise NotFound("没有这个工单")
    return ticket


# ---------------------------------------------------------------- signing in and out


@routes.get("/staff/login")
@aiohttp_jinja2.template("staff/login.html")
async def login_form(request: web.Request):
    return {"csrf_token": await csrf_token(request), "next": safe_next(request.query.get("next", "")), "error": ""}


@routes.post("/staff/login")
async def login(request: web.Request):
    form = await request.post()
    username, password = str(form.get("username", "")).strip()[:80], str(form.get("password", ""))[:MAX_PASSWORD]
    addr = remote_addr(request)

    def log_in(session):
        try:
            user = accounts.authenticate(session, username, password, addr)
        except accounts.TooManyFailures as waiting:
            return None, (waiting.status, waiting.message)
        if user is None:
            return None, (401, "用户名或密码不对")
        audit.record(session, user.username, "login", remote_addr=addr)
        return accounts.start_session(session, user, addr), None

    token, refused = await db(request, log_in)  # argon2 runs in the worker thread too
    if token is None:
        status, error = refused
        context = {
            "csrf_token": await csrf_token(request),
            "next": safe_next(str(form.get("next", ""))),
            "error": error,
        }
        return aiohttp_jinja2.render_template("staff/login.html", request, context, status=status)
    session = await new_session(request)  # a fresh session on login: no fixation
    session[SESSION_KEY] = token
    raise web.HTTPFound(safe_next(str(form.get("next", ""))))


@routes.post("/staff/logout")
async def logout(request: web.Request):
    """Ends the session in the store: a saved copy of the cookie no longer works."""
    user, token = await current_user(request), await session_token(request)

    def log_out(session) -> None:
        if token is not None:
            accounts.end_session(session, token)
        if user is not None:
            audit.record(session, user.username, "logout", remote_addr=remote_addr(request))

    await db(request, log_out)
    (await get_session(request)).invalidate()
    raise web.HTTPFound("/staff/login")


@routes.get("/staff/password")
@login_required
@aiohttp_jinja2.template("staff/password.html")
async def password_form(request: web.Request):
    return await page_context(request, error="", done=request.query.get("msg") == "done")


@routes.post("/staff/password")
@login_required
async def change_password(request: web.Request):
    """Every other session of the user ends; the current password is throttled like a login."""
    form = await request.post()
    current, new, repeated = (str(form.get(k, "")) for k in ("current", "new", "repeated"))
    keep, addr, user_id = await session_token(request) or "", remote_addr(request), request["user"].id

    def change(session) -> str:
        user = session.get(User, user_id)
        try:
            if not accounts.check_current_password(session, user, current[:MAX_PASSWORD], addr):
                return "当前密码不对"
        except accounts.TooManyFailures as waiting:
            return waiting.message
        if new != repeated:
            return "两次输入的新密码不一样"
        if len(new) > MAX_PASSWORD:
            return "新密码太长了"
        try:
            accounts.change_password(session, user, new, keep_session=keep)
        except accounts.AccountError as refused:
            return refused.message
        audit.record(session, user.username, "change_password", remote_addr=addr)
        settings_module.forget_first_admin_password(user.username)
        return ""

    error = await db(request, change)
    if error:
        context = await page_context(request, error=error, done=False)
        return aiohttp_jinja2.render_template("staff/password.html", request, context, status=400)
    raise web.HTTPSeeOther("/staff/password?msg=done")


# ---------------------------------------------------------------- the queue and a ticket


@routes.get("/staff/")
@login_required
@aiohttp_jinja2.template("staff/queue.html")
async def queue(request: web.Request):
    user, wanted, today = request["user"], QueueFilter.from_query(request.query), local_today()

    def read(session):
        found = search(session, user, wanted)
        return found, [serializers.summary(t, user, today) for t in found.tickets], _department_names(session)

    found, rows, departments = await db(request, read)
    query = {k: v for k, v in request.query.items() if k != "page"}
    from bot.web.staff.worklist import outcome_of  # the bulk actions' module builds on this one

    return await page_context(
        request,
        rows=rows,
        found=found,
        wanted=wanted,
        departments=departments,
        query_string=urllib.parse.urlencode(query),
        page_query=urllib.parse.urlencode(request.query),
        local_time=functools.partial(local_time, zone=local_zone()),  # the zone read once for the page
        may_dispatch=permissions.allows(user, "dispatch"),
        outcome=await outcome_of(request),
    )


def _department_names(session) -> Dict[str, str]:
    return {d.id: d.name for d in session.query(Department).all()}


def _display_names(session, actors) -> Dict[str, str]:
    """User name → display name of the staff members among the actors ("dispatcher:wang")."""
    usernames = {a.partition(":")[2] for a in actors if ":" in a}
    if not usernames:
        return {}
    found = session.query(User.username, User.display_name).filter(User.username.in_(usernames))
    return {username: display or username for username, display in found}


def _ticket_page(session, user: User, number: str) -> Dict[str, Any]:
    ticket = visible(session, user, number)
    shown = permissions.shown_text
    names = _display_names(session, {e.actor for e in ticket.events})
    return {
        "ticket": serializers.detail(ticket, user, local_today()),
        "actors": {e.actor: labels.actor(e.actor, names) for e in ticket.events},
        "replies": {a: replies.of(ticket.category_id, a) for a in replies.ACTIONS},
        "departments": _department_names(session),
        "actions": [
            {
                "name": a.name,
                "label": a.label,
                "fields": [
                    {
                        "name": f.name,
                        "label": f.label,
                        "required": f.required,
                        "multiple": f.multiple,
                        "prompt": f.prompt,
                        "options": f.options(session, ticket) if f.options else None,
                        "selected": f.selected(ticket) if f.selected else [],
                    }
                    for f in a.fields
                ],
            }
            for a in workflow.available(session, user, ticket)
        ],
        "notifications": [
            {
                "created_at": local_time(n.created_at),
                "kind": outbox.KIND_LABELS.get(n.kind, n.kind),
                "status": outbox.STATUS_LABELS.get(n.status, n.status),
                "delivered": n.status == outbox.DELIVERED,
                "attempts": n.attempts,
                "last_error": n.last_error,
                "delivered_at": local_time(n.delivered_at) if n.delivered_at else "",
                "via": outbox.VIA_LABELS.get(n.delivered_via or "", ""),
            }
            for n in outbox.of_ticket(session, ticket.id)
        ],
        "surveys": [
            {
                "created_at": local_time(v.created_at),
                "status": surveys.STATUS_LABELS.get(v.status, v.status),
                "rating": LEVELS.get(v.rating) if v.rating else "",
                "comment": shown(user, v.comment) or "",
                "source": surveys.SOURCE_LABELS.get(v.source or "", ""),
            }
            for v in surveys.of_ticket(session, ticket.id)
        ],
    }


@routes.get("/staff/tickets/{number}")
@login_required
@aiohttp_jinja2.template("staff/ticket.html")
async def ticket_page(request: web.Request):
    user, number = request["user"], request.match_info["number"]
    page = await db(request, lambda session: _ticket_page(session, user, number))
    return await page_context(
        request, **page, levels=LEVELS, local_time=local_time, banner=_banner(request, page["ticket"].status)
    )


def _banner(request: web.Request, status: str) -> str:
    """What the staff member just did and where the ticket stands now."""
    now = states.LABELS.get(status, status)
    if request.query.get("msg") == "filed":
        return f"已登记，工单现为「{now}」。"
    done = workflow.ACTIONS.get(request.query.get("done", ""))
    if done is None:
        return ""
    return f"已完成「{done.label}」，工单现为「{now}」。"


@routes.post("/staff/tickets/{number}/{action}")
@login_required
async def ticket_action(request: web.Request):
    form = await request.post()
    values: Dict[str, Any] = {key: form.get(key) for key in form.keys()}
    values["assisting"] = list(form.getall("assisting", ()))
    user, number, action, addr = (
        request["user"],
        request.match_info["number"],
        request.match_info["action"],
        remote_addr(request),
    )

    def act(session) -> str:
        ticket = visible(session, user, number)
        workflow.perform(session, user, ticket, action, values, addr)
        return ticket.number

    try:
        done = await db(request, act)
    except MinshengError as refused:
        if isinstance(refused, NotFound) and action in workflow.ACTIONS:
            raise  # no such ticket (or not this user's): nothing to show
        # The ticket page again, saying why, with what was typed still in the form.
        page = await db(request, lambda session: _ticket_page(session, user, number))
        context = await page_context(
            request,
            **page,
            levels=LEVELS,
            local_time=local_time,
            banner="",
            error=refused.message,
            failed={"action": action, "typed": {k: v for k, v in values.items() if k != "csrf_token"}},
        )
        return aiohttp_jinja2.render_template("staff/ticket.html", request, context, status=refused.status)
    raise web.HTTPSeeOther(f"/staff/tickets/{done}?done={urllib.parse.quote(action)}")


@routes.get("/staff/export.{kind:csv|xlsx}")
@login_required
async def export(request: web.Request):
    kind = request.match_info["kind"]
    order = exports.ExportOrder(
        request["user"].username,
        kind,
        remote_addr(request),
        wanted=QueueFilter.from_query(request.query),
        query=tuple(request.query.items()),
    )
    body = await export_file(request, order)
    content_type = "text/csv" if kind == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    filename = f"minsheng-tickets-{local_today().isoformat()}.{kind}"
    return web.Response(
        body=body, content_type=content_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


# ---------------------------------------------------------------- filing on a resident's behalf


@routes.get("/staff/new")
@login_required
@aiohttp_jinja2.template("staff/new.html")
async def new_ticket_form(request: web.Request):
    require(request, "file_on_behalf", "督查账号不能代为登记")
    user = request["user"]
    channel = await db(request, lambda session: filing.last_channel(session, user))
    return await page_context(request, channels=filing.CHANNELS, error="", form={"channel": channel})


@routes.post("/staff/new")
@login_required
async def new_ticket(request: web.Request):
    form = dict(await request.post())
    user, addr = request["user"], remote_addr(request)
    require(request, "file_on_behalf", "督查账号不能代为登记")
    photo, var = form.get("photo"), settings_of(request).var_dir
    photo_url = None
    try:
        if isinstance(photo, FileField):
            data = await asyncio.to_thread(photo.file.read, MAX_BYTES + 1)
            if data:
                photo_url = await asyncio.to_thread(store_photo, var, data)
        values = filing.values_of(form)
        chosen = values["category"] and values["urgency"]  # nothing left for the model to say
        understood = None if chosen else await rasa_of(request).classify(values["description"])
        number = await db(
            request, lambda session: filing.file_for_resident(session, user, form, understood, addr, photo_url)
        )
    except InvalidInput as problem:
        if photo_url:
            forget_photo(var, photo_url)
        context = await page_context(
            request,
            channels=filing.CHANNELS,
            error=problem.message + ("（照片请重新选择）" if isinstance(photo, FileField) and photo.filename else ""),
            form=filing.values_of(form),
        )
        return aiohttp_jinja2.render_template("staff/new.html", request, context, status=400)
    raise web.HTTPSeeOther(f"/staff/tickets/{number}?msg=filed")


# ---------------------------------------------------------------- supervision


def _period_of(request: web.Request, default: str = "") -> statistics.Period:
    """The page's period from ?period=…; a bad one is answered 400 (BadPeriod), never replaced."""
    return statistics.Period.parse(request.query.get("period") or default)


async def _supervision(request: web.Request, template: str, read, default_period: str = "", months_only=False):
    """A supervision page: its period (a bad one: the same page, 400, with the selector to choose
    again), its figures read off the loop by `read(session, period)`, and the selector's choices."""
    require(request, "view_statistics", "统计和督查页面供派单员、督查和管理员使用")
    choices = [p for p in statistics.Period.recent() if p.is_month or not months_only]
    try:
        period = _period_of(request, default_period)
        if months_only and not period.is_month:
            raise statistics.BadPeriod("月度通报按整月出具，请选择一个月份", field="period")
    except statistics.BadPeriod as bad:
        context = await page_context(request, error=bad.message, period=None, choices=choices, by="department")
        return aiohttp_jinja2.render_template(template, request, context, status=400)
    page = await db(request, lambda session: read(session, period))
    return aiohttp_jinja2.render_template(
        template, request, await page_context(request, period=period, choices=choices, error="", **page)
    )


def _names(by: str) -> Dict[str, str]:
    tax = taxonomy.load()
    if by == "department":
        return {d.id: d.name for d in tax.departments.values()}
    return {c.id: c.name for c in tax.categories.values()}


def _charts(trend, rated, names: Dict[str, str]) -> Dict[str, Any]:
    """What the charts draw (read by static/charts.js from a JSON block: no inline script)."""
    answered = [r for r in rated if r.satisfaction_rate is not None]
    return {
        "trend": {
            "labels": [w.label for w in trend],
            "collected": [w.collected for w in trend],
            "solved": [w.solved for w in trend],
        },
        "satisfaction": {
            "labels": [names.get(r.department_id, r.department_id) for r in answered],
            "rates": [round((r.satisfaction_rate or 0) * 100, 1) for r in answered],
            "answered": [r.answered for r in answered],
        },
    }


@routes.get("/staff/dashboard")
@login_required
async def dashboard(request: web.Request):
    by = "category" if request.query.get("by") == "category" else "department"

    def read(session, period):
        rated = statistics.satisfaction(session, period)
        rows = statistics.figures(session, period, by, rated=rated)
        return {
            "rows": rows,
            "total": statistics.totals(rows),
            "by": by,
            "names": _names(by),
            "rated": rated,
            "rated_total": statistics.satisfaction_total(rated),
            "charts": _charts(statistics.weekly_trend(session, period), rated, _names("department")),
            "response_rules": statistics.response_rules(),
            "kinds": statistics.kinds(session, period),
        }

    return await _supervision(request, "staff/dashboard.html", read)


SHOWN_OVERDUE = 20  # the longest overdue of each department on the inspection list; the queue has all


@routes.get("/staff/inspection")
@login_required
async def inspection(request: web.Request):
    """The half-monthly inspection list: overdue tickets by department, and the tickets residents
    rated 不满意 / 非常不满意 in the period (reopened for another try)."""
    today, user = local_today(), request["user"]

    def read(session, period: statistics.Period) -> Dict[str, Any]:
        overdue, counts = statistics.overdue_open(session, per_department=SHOWN_OVERDUE)
        reopened = statistics.reopened(session, period)
        for late in overdue:
            late.description = (permissions.shown_text(user, late.description) or "")[:60]
        for again in reopened:
            again.description = (permissions.shown_text(user, again.description) or "")[:60]
            again.comment = permissions.shown_text(user, again.comment) or ""
        by_department: dict = {}
        for late in overdue:
            by_department.setdefault(late.department_id, []).append(late)
        ordered = sorted(by_department.items(), key=lambda item: (-counts.get(item[0], 0), item[0]))
        return {
            "groups": ordered,
            "counts": counts,
            "shown_at_most": SHOWN_OVERDUE,
            "today": today,
            "total": sum(counts.values()),
            "reopened": reopened,
            "local_time": local_time,
        }

    return await _supervision(
        request, "staff/inspection.html", read, default_period=f"{today:%Y-%m}-{1 if today.day <= 15 else 2}"
    )


@routes.get("/staff/bulletin")
@login_required
async def bulletin(request: web.Request):
    """The monthly bulletin (通报): the month's ledger and three rates by department, naming those
    with overdue work and those residents rated badly, with its charts (printable)."""

    def read(session, period):
        rated = statistics.satisfaction(session, period)
        rows = statistics.figures(session, period, "department", rated=rated)
        trend = statistics.weekly_trend(session, period, weeks=6)
        return {
            "rows": rows,
            "total": statistics.totals(rows),
            "named": [r for r in sorted(rows, key=lambda r: -r.overdue) if r.overdue],
            "rated": rated,
            "rated_total": statistics.satisfaction_total(rated),
            "badly_rated": statistics.badly_rated(rated),
            "charts": _charts(trend, rated, _names("department")),
            "names": _names("department"),
            "response_rules": statistics.response_rules(),
        }

    return await _supervision(request, "staff/bulletin.html", read, months_only=True)
