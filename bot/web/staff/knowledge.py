"""The console's knowledge base (知识库): the list of entries with search, filters and pages; the
create and edit forms; publishing and withdrawing; an entry's history; and the questions residents
asked that got no good answer, grouped, each with "据此新建条目". HTTP only: who may change which
entry and the audit line are bot/staff/knowledge.py's, the store's rules bot/store/knowledge.py's;
the database is used in worker threads."""

from __future__ import annotations

import urllib.parse
from typing import Any, Dict, List

import aiohttp_jinja2
from aiohttp import web

from bot import labels, taxonomy
from bot.errors import InvalidInput, NotPermitted
from bot.staff import knowledge as staff_knowledge
from bot.staff import permissions
from bot.store.knowledge import EntryDraft
from bot.web.context import db
from bot.web.staff.security import login_required, remote_addr
from bot.web.staff.views import _display_names, local_time, page_context, require

routes = web.RouteTableDef()
DONE = {
    "created": "已新建",
    "edited": "已保存修改",
    "unchanged": "内容没有变化，未保存新版本",
    "published": "已发布，居民提问时即可用它回答",
    "unpublished": "已撤回，居民提问时不再用它回答",
}
FORM_FIELDS = ("question", "phrasings", "answer", "department", "category")


def _departments_for(user) -> Dict[str, str]:
    """The departments this user may give an entry: all, or (department staff) their own."""
    names = {d.id: d.name for d in taxonomy.load().departments.values()}
    if permissions.allows(user, "edit_all_knowledge"):
        return names
    return {k: v for k, v in names.items() if k == user.department_id}


@routes.get("/staff/knowledge")
@login_required
@aiohttp_jinja2.template("staff/knowledge.html")
async def knowledge_list(request: web.Request):
    require(request, "view_knowledge", "没有查看知识库的权限")
    user, wanted = request["user"], staff_knowledge.EntryFilter.from_query(request.query)

    def read(session):
        return staff_knowledge.search(session, user, wanted), staff_knowledge.questions_waiting(session)

    found, questions_waiting = await db(request, read)
    query = {k: v for k, v in request.query.items() if k != "page"}
    return await page_context(
        request,
        found=found,
        wanted=wanted,
        states=staff_knowledge.STATES,
        questions_waiting=questions_waiting,
        query_string=urllib.parse.urlencode(query),
        may_create=permissions.allows(user, "edit_knowledge"),
        local_time=local_time,
    )


def _form_of(draft: EntryDraft) -> Dict[str, Any]:
    return {
        "question": draft.question,
        "phrasings": "\n".join(draft.phrasings),
        "answer": draft.answer,
        "department": draft.department_id or "",
        "category": draft.category_id or "",
        "published": draft.published,
    }


async def _entry_page(request: web.Request, status: int = 200, **context) -> web.Response:
    user = request["user"]
    context.setdefault("error", "")
    context.setdefault("error_field", "")
    context.setdefault("banner", "")
    context.setdefault("actors", {})
    page = await page_context(
        request,
        departments=_departments_for(user),
        all_departments={d.id: d.name for d in taxonomy.load().departments.values()},
        field_labels=staff_knowledge.FIELD_LABELS,
        changes=staff_knowledge.CHANGES,
        local_time=local_time,
        **context,
    )
    return aiohttp_jinja2.render_template("staff/knowledge_entry.html", request, page, status=status)


def _covering(values) -> List[int]:
    ids = []
    for part in str(values.get("covering", "") or "").replace(",", " ").split():
        if part.isdigit():
            ids.append(int(part))
    return ids[:1000]


@routes.get("/staff/knowledge/new")
@login_required
async def new_entry_form(request: web.Request):
    require(request, "edit_knowledge", "督查账号只能查看知识库")
    user = request["user"]
    wanted = _covering({"covering": request.query.get("from", "")})

    def prefill(session):
        return staff_knowledge.draft_from_questions(session, wanted)

    draft, covering = await db(request, prefill)
    if not permissions.allows(user, "edit_all_knowledge"):
        draft.department_id = user.department_id
    form = _form_of(draft)
    return await _entry_page(request, entry=None, form=form, covering=covering, editable=True, history=[])


@routes.post("/staff/knowledge/new")
@login_required
async def create_entry(request: web.Request):
    require(request, "edit_knowledge", "督查账号只能查看知识库")
    values: Dict[str, Any] = dict(await request.post())
    values["published"] = "published" in values
    user, addr, covering = request["user"], remote_addr(request), _covering(values)

    def save(session) -> int:
        return staff_knowledge.create_entry(session, user, staff_knowledge.draft_of(values), addr, covering=covering).id

    try:
        entry_id = await db(request, save)
    except (InvalidInput, NotPermitted) as refused:
        form = {k: values.get(k, "") for k in FORM_FIELDS} | {"published": values["published"]}
        return await _entry_page(
            request,
            status=refused.status,
            entry=None,
            form=form,
            covering=covering,
            editable=True,
            history=[],
            error=refused.message,
            error_field=getattr(refused, "field", ""),
        )
    raise web.HTTPSeeOther(f"/staff/knowledge/{entry_id}?done=created")


def _read_entry(session, user, entry_id: int):
    """The entry with its history, its form's values, and who changed it, as names."""
    entry = staff_knowledge.entry_of(session, entry_id)
    detail = staff_knowledge.detail(session, user, entry_id)
    codes = {detail.updated_by, *(h.changed_by for h in detail.history)}
    names = _display_names(session, codes)
    return detail, _form_of(EntryDraft.of(entry)), {code: labels.actor(code, names) for code in codes}


@routes.get(r"/staff/knowledge/{entry_id:\d+}")
@login_required
async def entry_page(request: web.Request):
    require(request, "view_knowledge", "没有查看知识库的权限")
    user, entry_id = request["user"], int(request.match_info["entry_id"])
    detail, form, actors = await db(request, lambda session: _read_entry(session, user, entry_id))
    return await _entry_page(
        request,
        entry=detail,
        actors=actors,
        form=form,
        covering=[],
        editable=detail.editable,
        history=detail.history,
        banner=DONE.get(request.query.get("done", ""), ""),
    )


@routes.post(r"/staff/knowledge/{entry_id:\d+}")
@login_required
async def edit_entry(request: web.Request):
    values: Dict[str, Any] = dict(await request.post())
    values["published"] = "published" in values
    user, addr, entry_id = request["user"], remote_addr(request), int(request.match_info["entry_id"])
    edited = {k: values.get(k, "") for k in (*FORM_FIELDS, "published")}

    def save(session) -> bool:
        return staff_knowledge.update_entry(session, user, entry_id, edited, addr)[1]

    try:
        changed = await db(request, save)
    except (InvalidInput, NotPermitted) as refused:
        detail, _, actors = await db(request, lambda session: _read_entry(session, user, entry_id))
        return await _entry_page(
            request,
            status=refused.status,
            entry=detail,
            actors=actors,
            form=edited,
            covering=[],
            editable=detail.editable,
            history=detail.history,
            error=refused.message,
            error_field=getattr(refused, "field", ""),
        )
    raise web.HTTPSeeOther(f"/staff/knowledge/{entry_id}?done={'edited' if changed else 'unchanged'}")


@routes.post(r"/staff/knowledge/{entry_id:\d+}/{action:publish|unpublish}")
@login_required
async def publish_entry(request: web.Request):
    user, addr = request["user"], remote_addr(request)
    entry_id, action = int(request.match_info["entry_id"]), request.match_info["action"]

    def save(session) -> None:
        staff_knowledge.publish_entry(session, user, entry_id, action == "publish", addr)

    await db(request, save)
    raise web.HTTPSeeOther(f"/staff/knowledge/{entry_id}?done={action}ed")


@routes.get("/staff/knowledge/questions")
@login_required
@aiohttp_jinja2.template("staff/knowledge_questions.html")
async def questions_page(request: web.Request):
    require(request, "view_knowledge", "没有查看知识库的权限")
    user = request["user"]
    groups = await db(request, lambda session: staff_knowledge.questions_to_improve_for(session, user))
    return await page_context(
        request,
        groups=groups,
        asked=sum(g.count for g in groups),
        may_create=permissions.allows(user, "edit_knowledge"),
        local_time=local_time,
    )
