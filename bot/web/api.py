"""The JSON API (/api/v1/): the console's operations for other systems, with bearer tokens
(`minsheng staff add-token NAME`) and an OpenAPI document at /api/v1/openapi.json generated from the
same models. HTTP only: the database in worker threads, errors answered by the app as
{"error": "…"} with their status."""

from __future__ import annotations

from aiohttp import web

from bot.errors import InvalidInput, NotPermitted, Unauthorized
from bot.staff import accounts, filing, knowledge, permissions, serializers, workflow
from bot.staff.queue import PAGE_SIZE, QueueFilter, search
from bot.store import duplicates
from bot.store.workdays import local_today
from bot.web.context import db, rasa_of
from bot.web.openapi import DOCUMENT
from bot.web.staff.security import remote_addr
from bot.web.staff.views import visible

routes = web.RouteTableDef()


def authenticated(handler):
    async def wrapper(request: web.Request):
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise Unauthorized("需要 Authorization: Bearer <token>")
        token = header[len("Bearer ") :].strip()

        def find(session):
            user = accounts.user_of_token(session, token)
            if user is not None:
                session.expunge(user)
            return user

        user = await db(request, find)
        if user is None:
            raise Unauthorized("令牌无效")
        request["user"] = user
        return await handler(request)

    return wrapper


async def json_object(request: web.Request) -> dict:
    try:
        fields = await request.json()
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        raise InvalidInput("请求体必须是 JSON 对象", status=400)
    return fields


@routes.get("/api/v1/openapi.json")
async def openapi(_request: web.Request):
    return web.json_response(DOCUMENT)


@routes.get("/api/v1/tickets")
@authenticated
async def list_tickets(request: web.Request):
    user, wanted, today = request["user"], QueueFilter.from_query(request.query), local_today()

    def page(session):
        found = search(session, user, wanted)
        return serializers.TicketPage(
            total=found.total,
            page=found.page,
            pages=found.pages,
            page_size=PAGE_SIZE,
            tickets=[serializers.summary(t, user, today) for t in found.tickets],
        )

    return web.json_response((await db(request, page)).as_json())


@routes.post("/api/v1/tickets")
@authenticated
async def file_ticket(request: web.Request):
    fields = await json_object(request)
    user, addr = request["user"], remote_addr(request)
    understood = await rasa_of(request).classify(filing.values_of(fields)["description"])

    def file(session):
        number = filing.file_for_resident(session, user, fields, understood, addr)
        return serializers.detail(visible(session, user, number), user, local_today())

    return web.json_response((await db(request, file)).as_json(), status=201)


@routes.get("/api/v1/tickets/{number}")
@authenticated
async def get_ticket(request: web.Request):
    user, number = request["user"], request.match_info["number"]
    ticket = await db(request, lambda session: serializers.detail(visible(session, user, number), user, local_today()))
    return web.json_response(ticket.as_json())


@routes.post("/api/v1/tickets/{number}/{action}")
@authenticated
async def ticket_action(request: web.Request):
    action = request.match_info["action"]
    if action not in workflow.ACTIONS:
        raise web.HTTPNotFound(text='{"error": "没有这个操作"}', content_type="application/json")
    fields = await json_object(request)
    user, number, addr = request["user"], request.match_info["number"], remote_addr(request)

    def act(session):
        ticket = visible(session, user, number)
        workflow.perform(session, user, ticket, action, fields, addr)
        session.flush()
        session.refresh(ticket)
        return serializers.detail(ticket, user, local_today())

    return web.json_response((await db(request, act)).as_json())


@routes.get("/api/v1/tickets/{number}/duplicates")
@authenticated
async def ticket_duplicates(request: web.Request):
    """Tickets that may report the same problem (merge with POST …/{number}/merge {"into": …})."""
    user, number = request["user"], request.match_info["number"]

    def find(session):
        ticket = visible(session, user, number)
        found = [
            c for c in duplicates.suggestions(session, ticket) if permissions.allows(user, "view_ticket", c.ticket)
        ]
        return serializers.DuplicateList(
            threshold=duplicates.threshold(), candidates=[serializers.duplicate_candidate(c, user) for c in found]
        )

    return web.json_response((await db(request, find)).as_json())


# ---------------------------------------------------------------- the knowledge base


def _entry_id(request: web.Request) -> int:
    return int(request.match_info["entry_id"])


@routes.get("/api/v1/knowledge")
@authenticated
async def list_entries(request: web.Request):
    user, wanted = request["user"], knowledge.EntryFilter.from_query(request.query)
    if not permissions.allows(user, "view_knowledge"):
        raise NotPermitted("没有查看知识库的权限")
    return web.json_response((await db(request, lambda session: knowledge.search(session, user, wanted))).as_json())


@routes.get("/api/v1/knowledge/questions")
@authenticated
async def questions_to_improve(request: web.Request):
    user = request["user"]
    if not permissions.allows(user, "view_knowledge"):
        raise NotPermitted("没有查看知识库的权限")
    groups = await db(request, lambda session: knowledge.questions_to_improve_for(session, user))
    return web.json_response(serializers.question_groups(groups).as_json())


@routes.post("/api/v1/knowledge")
@authenticated
async def create_entry(request: web.Request):
    fields = await json_object(request)
    user, addr = request["user"], remote_addr(request)

    def create(session):
        entry = knowledge.create_entry(session, user, knowledge.draft_of(fields), addr)
        return knowledge.detail(session, user, entry.id)

    return web.json_response((await db(request, create)).as_json(), status=201)


@routes.get(r"/api/v1/knowledge/{entry_id:\d+}")
@authenticated
async def get_entry(request: web.Request):
    user, entry_id = request["user"], _entry_id(request)
    if not permissions.allows(user, "view_knowledge"):
        raise NotPermitted("没有查看知识库的权限")
    return web.json_response((await db(request, lambda session: knowledge.detail(session, user, entry_id))).as_json())


@routes.patch(r"/api/v1/knowledge/{entry_id:\d+}")
@authenticated
async def update_entry(request: web.Request):
    """Changes the fields given; the others stay as they are."""
    fields = await json_object(request)
    user, entry_id, addr = request["user"], _entry_id(request), remote_addr(request)

    def update(session):
        knowledge.update_entry(session, user, entry_id, fields, addr)
        return knowledge.detail(session, user, entry_id)

    return web.json_response((await db(request, update)).as_json())


async def _publish(request: web.Request, published: bool) -> web.Response:
    user, entry_id, addr = request["user"], _entry_id(request), remote_addr(request)

    def publish(session):
        knowledge.publish_entry(session, user, entry_id, published, addr)
        return knowledge.detail(session, user, entry_id)

    return web.json_response((await db(request, publish)).as_json())


@routes.post(r"/api/v1/knowledge/{entry_id:\d+}/publish")
@authenticated
async def publish_entry(request: web.Request):
    return await _publish(request, True)


@routes.post(r"/api/v1/knowledge/{entry_id:\d+}/unpublish")
@authenticated
async def unpublish_entry(request: web.Request):
    return await _publish(request, False)
