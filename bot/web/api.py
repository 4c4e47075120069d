"""The JSON API (/api/v1/): the console's operations for other systems, with bearer tokens
(`minsheng staff add-token NAME`) and an OpenAPI document at /api/v1/openapi.json."""
from __future__ import annotations

import functools

from aiohttp import web

from bot.staff import accounts, permissions, workflow
from bot.store.db import session_scope
from bot.store.schema import Ticket, User
from bot.store.tickets import find_by_number
from bot.web.openapi import DOCUMENT
from bot.web.staff import filing
from bot.web.staff.queue import PAGE_SIZE, QueueFilter, search
from bot.web.staff.security import database_url_of, remote_addr

routes = web.RouteTableDef()


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def authenticated(handler):
    async def wrapper(request: web.Request):
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return error(401, "需要 Authorization: Bearer <token>")
        with session_scope(database_url_of(request)) as db:
            user = accounts.user_of_token(db, header[len("Bearer "):].strip())
            if user is not None:
                db.expunge(user)
        if user is None:
            return error(401, "令牌无效")
        request["user"] = user
        return await handler(request)

    return wrapper


async def json_object(request: web.Request) -> dict:
    try:
        fields = await request.json()
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        raise web.HTTPBadRequest(text='{"error": "请求体必须是 JSON 对象"}', content_type="application/json")
    return fields


def ticket_json(ticket: Ticket, user: User, full: bool = False) -> dict:
    shown = functools.partial(permissions.shown_text, user)
    data = {
        "number": ticket.number, "status": ticket.status, "category": ticket.category_id,
        "urgency": ticket.urgency, "lead_department": ticket.lead_department_id,
        "assisting_departments": [d.id for d in ticket.assisting], "deadline": ticket.deadline.isoformat(),
        "created_at": ticket.created_at.isoformat() + "Z", "description": shown(ticket.description),
        "location": shown(ticket.location), "flagged": ticket.flagged,
    }
    if full:
        data.update({
            "detail": shown(ticket.detail), "photo_url": ticket.photo_url, "channel": ticket.channel,
            "category_confidence": ticket.category_confidence,
            "phone": permissions.shown_phone(user, ticket.phone) or None,
            "history": [{"at": e.at.isoformat() + "Z", "actor": e.actor, "from": e.from_status, "to": e.to_status,
                         "note": shown(e.note)} for e in ticket.events],
        })
    return data


@routes.get("/api/v1/openapi.json")
async def openapi(_request: web.Request):
    return web.json_response(DOCUMENT)


@routes.get("/api/v1/tickets")
@authenticated
async def list_tickets(request: web.Request):
    wanted = QueueFilter.from_query(request.query)
    with session_scope(database_url_of(request)) as db:
        found = search(db, request["user"], wanted)
        return web.json_response({"total": found.total, "page": found.page, "pages": found.pages,
                                  "page_size": PAGE_SIZE,
                                  "tickets": [ticket_json(t, request["user"]) for t in found.tickets]})


@routes.post("/api/v1/tickets")
@authenticated
async def file_ticket(request: web.Request):
    fields = await json_object(request)
    try:
        number = await filing.file_for_resident(database_url_of(request), request["user"], fields, remote_addr(request))
    except PermissionError as refused:
        return error(403, str(refused))
    except filing.FilingError as problem:
        return error(422, str(problem))
    with session_scope(database_url_of(request)) as db:
        return web.json_response(ticket_json(find_by_number(db, number), request["user"], full=True), status=201)


def visible(db, request) -> Ticket:
    ticket = find_by_number(db, request.match_info["number"].upper())
    if ticket is None or not permissions.can_see(request["user"], ticket):
        raise web.HTTPNotFound(text='{"error": "没有这个工单"}', content_type="application/json")
    return ticket


@routes.get("/api/v1/tickets/{number}")
@authenticated
async def get_ticket(request: web.Request):
    with session_scope(database_url_of(request)) as db:
        return web.json_response(ticket_json(visible(db, request), request["user"], full=True))


@routes.post("/api/v1/tickets/{number}/{action}")
@authenticated
async def ticket_action(request: web.Request):
    action = request.match_info["action"]
    if action not in workflow.ACTION_NAMES:
        return error(404, "没有这个操作")
    fields = await json_object(request)
    with session_scope(database_url_of(request)) as db:
        ticket = visible(db, request)
        try:
            workflow.perform(db, request["user"], ticket, action, fields, remote_addr(request))
        except workflow.NotPermitted as refused:
            db.rollback()
            return error(403, str(refused))
        except workflow.Refused as refused:
            db.rollback()
            return error(409, str(refused))
        db.flush()
        db.refresh(ticket)
        return web.json_response(ticket_json(ticket, request["user"], full=True))
