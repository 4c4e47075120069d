"""Work on several tickets of the queue at once: dispatch each to its routed department, send them
all to one department, or export them. Each ticket goes through the action table
(bot/staff/workflow.py) in a transaction of its own — the same permission checks, state table and
audit line as a single action; a refused ticket is reported with its reason and the others are
still done. The outcome is shown on the queue the staff member returns to."""

from __future__ import annotations

import urllib.parse
from typing import Any, Dict, List, Optional, Tuple

from aiohttp import web
from aiohttp_session import get_session

from bot.errors import MinshengError
from bot.staff import exports, workflow
from bot.store.schema import Department
from bot.store.workdays import local_today
from bot.web.context import db, export_file
from bot.web.staff.security import login_required, remote_addr
from bot.web.staff.views import safe_next, visible

routes = web.RouteTableDef()
MAX_SELECTED = 200
OUTCOME_KEY = "bulk_outcome"
EXPORTS = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _selected(form) -> List[str]:
    numbers: List[str] = []
    for raw in form.getall("numbers", ()):
        number = str(raw).strip().upper()[:40]
        if number and number not in numbers:
            numbers.append(number)
    return numbers[:MAX_SELECTED]


@routes.post("/staff/bulk")
@login_required
async def bulk(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    user, addr, numbers = request["user"], remote_addr(request), _selected(form)
    operation, lead = str(form.get("op", "")), str(form.get("lead", ""))
    # Back to the queue as it was filtered (the query re-encoded: nothing but a query string).
    back = safe_next("/staff/?" + urllib.parse.urlencode(urllib.parse.parse_qsl(str(form.get("back", ""))[:2000])))
    if operation in EXPORTS:
        return await _export(request, numbers, operation)
    if not numbers:
        return await _back(request, back, {"error": "请先勾选要办理的工单"})
    if operation not in ("dispatch", "assign"):
        return await _back(request, back, {"error": "没有这个批量操作"})
    if operation == "assign" and not lead:
        return await _back(request, back, {"error": "请选择要派往的部门"})

    def one(number: str):
        def work(session) -> Tuple[str, str]:
            ticket = visible(session, user, number)
            chosen: Optional[str] = lead
            assisting: List[str] = []
            if operation == "dispatch":
                chosen, assisting = workflow.proposed_dispatch(ticket)
            if chosen is None:
                raise workflow.Refused("责任部门刚退回这件工单，请打开工单选择主办部门")
            workflow.dispatch(session, user, ticket, chosen, assisting, addr=addr)
            return ticket.number, ticket.status

        return work

    done: List[str] = []
    refused: List[Tuple[str, str]] = []
    for number in numbers:  # one transaction each: a refusal undoes only its own ticket
        try:
            finished, _status = await db(request, one(number))
            done.append(finished)
        except MinshengError as refusal:
            refused.append((number, refusal.message))
    if operation == "assign":
        name = await db(request, lambda session: getattr(session.get(Department, lead), "name", lead))
        what = f"派至{name}"
    else:
        what = "按类别派单"
    return await _back(request, back, {"what": what, "done": done, "refused": refused})


async def _back(request: web.Request, back: str, outcome: Dict[str, Any]) -> web.StreamResponse:
    (await get_session(request))[OUTCOME_KEY] = outcome
    raise web.HTTPSeeOther(back)


async def outcome_of(request: web.Request) -> Dict[str, Any]:
    """The last bulk operation's outcome, shown once on the queue."""
    return (await get_session(request)).pop(OUTCOME_KEY, None) or {}


async def _export(request: web.Request, numbers: List[str], kind: str) -> web.StreamResponse:
    if not numbers:
        return await _back(request, "/staff/", {"error": "请先勾选要导出的工单"})
    order = exports.ExportOrder(request["user"].username, kind, remote_addr(request), numbers=tuple(numbers))
    body = await export_file(request, order)
    filename = f"minsheng-selected-{local_today().isoformat()}.{kind}"
    quoted = urllib.parse.quote(filename)
    return web.Response(
        body=body, content_type=EXPORTS[kind], headers={"Content-Disposition": f'attachment; filename="{quoted}"'}
    )
