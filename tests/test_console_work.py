"""A dispatcher's day in the console over HTTP: the dispatch form's proposals, what an action did,
names instead of codes, exports in local time, bulk work on the queue, filing a phone call, and
response templates."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
from openpyxl import load_workbook
from PIL import Image

from bot import replies, taxonomy
from bot.staff import accounts
from bot.store.db import session_scope
from bot.store.schema import AuditEntry, Ticket
from bot.store.tickets import ENQUIRY, NewReport, create_ticket
from bot.web.app import create_app
from tests.support.web import web_settings

PASSWORD = "long-enough-pw"


@pytest.fixture
def tickets(sqlite_url):
    with session_scope(sqlite_url) as db:
        accounts.create_user(db, "wang", PASSWORD, "dispatcher", display_name="王派单")
        accounts.create_user(db, "roads", PASSWORD, "department", "transport", display_name="交通李工")
        made = {}
        for key, words, category, channel in (
            ("tiles", "3栋2单元楼道瓷砖掉了", "building", "socketio"),
            ("lamp", "人民路路灯不亮", "roads", "rest"),
            ("rubbish", "垃圾三天没人收", "sanitation", "callback"),
        ):
            ticket, _ = create_ticket(
                db,
                NewReport(key, f"c-{key}", words, category, channel=channel, location="幸福小区3栋"),
                taxonomy.load(),
            )
            made[key] = ticket.number
        return made


@pytest.fixture
async def client(aiohttp_client, sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MINSHENG_VAR_DIR", str(tmp_path))
    return await aiohttp_client(create_app(web_settings(sqlite_url, var_dir=tmp_path)))


async def csrf_of(client, path):
    page = await (await client.get(path)).text()
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


async def login(client, username):
    token = await csrf_of(client, "/staff/login")
    response = await client.post(
        "/staff/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/staff/"},
        allow_redirects=False,
    )
    assert response.status == 302


def dispatch_form(page: str) -> str:
    return re.search(r'<form[^>]*action-dispatch">.*?</form>', page, re.S).group(0)


def selected_lead(form: str):
    found = re.search(r'<select name="lead".*?</select>', form, re.S).group(0)
    chosen = re.findall(r'<option value="([^"]*)" selected>', found)
    return chosen


def checked_assisting(form: str):
    return re.findall(r'name="assisting" value="([^"]+)" checked', form)


# ---------------------------------------------------------------- the dispatch form


async def test_dispatch_proposes_the_routed_department_and_the_categorys_assisting_ones(client, tickets):
    await login(client, "wang")
    form = dispatch_form(await (await client.get(f"/staff/tickets/{tickets['tiles']}")).text())
    assert selected_lead(form) == ["housing"]  # 住建局, not the first department of the list
    assert checked_assisting(form) == ["housing_property"]  # the taxonomy's 协办 for 房屋与公共设施
    assert 'type="checkbox" name="assisting"' in form and "multiple" not in form  # no Ctrl-click
    form = dispatch_form(await (await client.get(f"/staff/tickets/{tickets['lamp']}")).text())
    assert selected_lead(form) == ["transport"] and checked_assisting(form) == []


async def test_after_a_return_the_department_that_returned_it_is_not_proposed_again(client, tickets, sqlite_url):
    await login(client, "wang")
    token = await csrf_of(client, f"/staff/tickets/{tickets['lamp']}")
    await client.post(f"/staff/tickets/{tickets['lamp']}/dispatch", data={"lead": "transport", "csrf_token": token})
    await client.post("/staff/logout", data={"csrf_token": token})
    await login(client, "roads")
    token = await csrf_of(client, f"/staff/tickets/{tickets['lamp']}")
    await client.post(f"/staff/tickets/{tickets['lamp']}/return", data={"note": "归供电公司", "csrf_token": token})
    await client.post("/staff/logout", data={"csrf_token": token})
    await login(client, "wang")
    form = dispatch_form(await (await client.get(f"/staff/tickets/{tickets['lamp']}")).text())
    assert selected_lead(form) == []
    assert '<option value="">请选择主办部门…</option>' in form


def test_a_taxonomy_naming_an_unknown_assisting_department_is_refused(tmp_path):
    broken = tmp_path / "taxonomy.yml"
    broken.write_text(
        "departments: {a: {name: 甲}}\n"
        "categories: {x: {name: 某类, department: a, deadline_days: 3, assisting: [b]}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="assisting department b"):
        taxonomy.load(str(broken))


# ---------------------------------------------------------------- what an action did


async def test_a_done_action_says_what_was_done_and_the_new_state(client, tickets):
    await login(client, "wang")
    token = await csrf_of(client, f"/staff/tickets/{tickets['tiles']}")
    response = await client.post(
        f"/staff/tickets/{tickets['tiles']}/dispatch",
        data={"lead": "housing", "assisting": ["housing_property"], "csrf_token": token},
    )
    page = await response.text()
    assert response.status == 200 and "已完成「派单」，工单现为「已派单」" in page
    response = await client.post(
        f"/staff/tickets/{tickets['tiles']}/note", data={"note": "已电话联系", "csrf_token": token}
    )
    assert "已完成「添加备注」，工单现为「已派单」" in await response.text()


async def test_a_refused_action_says_why_and_keeps_what_was_typed(client, tickets, sqlite_url):
    await login(client, "wang")
    token = await csrf_of(client, f"/staff/tickets/{tickets['lamp']}")
    response = await client.post(f"/staff/tickets/{tickets['lamp']}/reject", data={"note": "  ", "csrf_token": token})
    page = await response.text()
    assert response.status == 409 and 'role="alert">未能办理：' in page and "需要填写说明" in page
    response = await client.post(
        f"/staff/tickets/{tickets['lamp']}/dispatch",
        data={"lead": "nowhere", "note": "请今天处理", "csrf_token": token},
    )
    page = await response.text()
    assert response.status == 409 and "没有这个部门" in page
    assert 'value="请今天处理"' in dispatch_form(page)
    with session_scope(sqlite_url) as db:
        assert db.query(Ticket).filter(Ticket.number == tickets["lamp"]).one().status == "submitted"


# ---------------------------------------------------------------- names instead of codes


async def test_the_ticket_page_names_channels_people_and_states(client, tickets):
    await login(client, "wang")
    token = await csrf_of(client, f"/staff/tickets/{tickets['tiles']}")
    await client.post(f"/staff/tickets/{tickets['tiles']}/dispatch", data={"lead": "housing", "csrf_token": token})
    await client.post(
        f"/staff/tickets/{tickets['tiles']}/recategorize", data={"category": "property", "csrf_token": token}
    )
    page = await (await client.get(f"/staff/tickets/{tickets['tiles']}")).text()
    details = re.search(r"<dl>.*?</dl>", page, re.S).group(0)
    history = re.search(r'<ol class="history">.*?</ol>', page, re.S).group(0)
    assert "<dd>网页聊天</dd>" in details and "socketio" not in details
    assert "居民</span>：已受理" in history and "王派单</span>：已受理 → 已派单" in history
    assert "类别更正：房屋与公共设施 → 物业服务" in history
    for code in ("resident", "dispatcher:wang", "submitted", "dispatched", "building"):
        assert code not in history


async def test_the_json_api_keeps_the_codes(client, tickets, sqlite_url):
    with session_scope(sqlite_url) as db:
        token = accounts.issue_token(db, "wang")
    answer = await (
        await client.get(f"/api/v1/tickets/{tickets['tiles']}", headers={"Authorization": f"Bearer {token}"})
    ).json()
    assert answer["channel"] == "socketio" and answer["history"][0]["actor"] == "resident"
    assert answer["history"][0]["kind"] == "status"


# ---------------------------------------------------------------- exports


def _at(sqlite_url, number, when):
    with session_scope(sqlite_url) as db:
        db.query(Ticket).filter(Ticket.number == number).one().created_at = when


async def test_exports_show_local_times_names_and_real_date_cells(client, tickets, sqlite_url):
    _at(sqlite_url, tickets["lamp"], dt.datetime(2026, 11, 25, 18, 30))  # UTC: 02:30 the next day in Shanghai
    await login(client, "wang")
    rows = list(
        csv.reader(io.StringIO((await (await client.get("/staff/export.csv?q=路灯")).read()).decode("utf-8-sig")))
    )
    header, row = rows[0], rows[1]
    assert header[:2] == ["编号", "受理时间"] and "来源" in header
    assert row[1] == "2026-11-26 02:30" and row[header.index("来源")] == "接口（REST）"
    book = load_workbook(io.BytesIO(await (await client.get("/staff/export.xlsx?q=路灯")).read()))
    sheet = book.active
    filed, deadline = sheet.cell(2, 2), sheet.cell(2, len(header))
    assert filed.value == dt.datetime(2026, 11, 26, 2, 30) and filed.is_date and "yyyy" in filed.number_format
    assert isinstance(deadline.value, dt.datetime) and deadline.is_date  # a date cell, not text
    assert sheet.cell(2, header.index("来源") + 1).value == "接口（REST）"
    assert sheet.column_dimensions["C"].width >= 40  # the resident's words are readable
    assert sheet.column_dimensions["A"].width >= 17  # a whole ticket number


async def test_exports_tell_enquiries_from_reports(client, tickets, sqlite_url):
    with session_scope(sqlite_url) as db:
        enquiry, _ = create_ticket(
            db, NewReport("q", "c-q", "物业费可以按季度交吗", "property", kind=ENQUIRY), taxonomy.load()
        )
        number = enquiry.number
    await login(client, "wang")
    rows = list(csv.reader(io.StringIO((await (await client.get("/staff/export.csv")).read()).decode("utf-8-sig"))))
    header, kinds = rows[0], {row[0]: row[rows[0].index("类型")] for row in rows[1:]}
    assert kinds == {number: "咨询", **{n: "投诉/求助" for n in tickets.values()}}
    sheet = load_workbook(io.BytesIO(await (await client.get("/staff/export.xlsx")).read())).active
    column = header.index("类型") + 1
    assert {sheet.cell(r, 1).value: sheet.cell(r, column).value for r in range(2, sheet.max_row + 1)} == kinds


# ---------------------------------------------------------------- the queue and bulk work


async def test_the_queue_shows_the_place_and_the_local_filing_time(client, tickets, sqlite_url):
    _at(sqlite_url, tickets["lamp"], dt.datetime(2026, 11, 25, 18, 30))
    with session_scope(sqlite_url) as db:
        lamp = db.query(Ticket).filter(Ticket.number == tickets["lamp"]).one()
        lamp.street, lamp.community = "幸福街道", "和平社区"
    await login(client, "wang")
    page = await (await client.get("/staff/?q=路灯")).text()
    row = re.search(r'<tr class="ticket-row.*?</tr>', page, re.S).group(0)
    assert "幸福街道 · 和平社区" in row and "幸福小区3栋" in row and "2026-11-26 02:30" in row


async def test_bulk_dispatch_goes_ticket_by_ticket_and_reports_the_refused(client, tickets, sqlite_url):
    await login(client, "wang")
    token = await csrf_of(client, "/staff/")
    # One of them was already dispatched: the state table refuses it again, the others are done.
    await client.post(f"/staff/tickets/{tickets['lamp']}/dispatch", data={"lead": "transport", "csrf_token": token})
    response = await client.post(
        "/staff/bulk",
        data={"op": "dispatch", "numbers": list(tickets.values()), "csrf_token": token, "back": "status=submitted"},
        allow_redirects=False,
    )
    assert response.status == 303 and response.headers["Location"] == "/staff/?status=submitted"
    page = await (await client.get(response.headers["Location"])).text()
    assert "按类别派单：已办理 2 件" in page and "1 件未能办理" in page
    assert re.search(rf"{tickets['lamp']}</a>：不能从「已派单」变为「已派单」", page)
    with session_scope(sqlite_url) as db:
        found = {t.number: t for t in db.query(Ticket)}
        assert found[tickets["tiles"]].lead_department_id == "housing"
        assert [d.id for d in found[tickets["tiles"]].assisting] == ["housing_property"]
        assert found[tickets["rubbish"]].lead_department_id == "sanitation"
        audited = db.query(AuditEntry).filter(AuditEntry.action == "dispatch").all()
        per_ticket = {}
        for entry in audited:
            per_ticket.setdefault(entry.ticket_id, []).append(entry)
        # Every ticket's dispatch is its own audit line, by its own actor, with its own department.
        assert sorted(found[n].id for n in tickets.values()) == sorted(per_ticket)
        assert all(len(lines) == 1 and lines[0].actor == "wang" for lines in per_ticket.values())
        assert json.loads(per_ticket[found[tickets["rubbish"]].id][0].detail)["lead"] == "sanitation"
    assert "bulk_outcome" not in await (await client.get("/staff/")).text()
    assert "已办理 2 件" not in await (await client.get("/staff/")).text()  # shown once


async def test_bulk_assign_to_one_department_and_the_departments_own_limits(client, tickets, sqlite_url):
    await login(client, "wang")
    token = await csrf_of(client, "/staff/")
    await client.post(
        "/staff/bulk",
        data={
            "op": "assign",
            "lead": "street_office",
            "numbers": [tickets["tiles"], tickets["rubbish"]],
            "csrf_token": token,
        },
    )
    with session_scope(sqlite_url) as db:
        leads = {t.number: (t.lead_department_id, t.status) for t in db.query(Ticket)}
    assert leads[tickets["tiles"]] == ("street_office", "dispatched") == leads[tickets["rubbish"]]
    assert leads[tickets["lamp"]] == ("transport", "submitted")
    await client.post("/staff/logout", data={"csrf_token": token})
    await login(client, "roads")  # department staff may not dispatch: refused per ticket, nothing changes
    token = await csrf_of(client, "/staff/")
    page = await (
        await client.post("/staff/bulk", data={"op": "dispatch", "numbers": [tickets["lamp"]], "csrf_token": token})
    ).text()
    assert "1 件未能办理" in page and "没有权限" in page and "已办理" not in page
    with session_scope(sqlite_url) as db:
        assert db.query(Ticket).filter(Ticket.number == tickets["lamp"]).one().status == "submitted"


async def test_bulk_export_holds_only_the_selected_tickets(client, tickets):
    await login(client, "wang")
    token = await csrf_of(client, "/staff/")
    response = await client.post(
        "/staff/bulk", data={"op": "csv", "numbers": [tickets["tiles"], tickets["rubbish"]], "csrf_token": token}
    )
    assert response.status == 200 and "attachment" in response.headers["Content-Disposition"]
    text = (await response.read()).decode("utf-8-sig")
    assert tickets["tiles"] in text and tickets["rubbish"] in text and tickets["lamp"] not in text
    response = await client.post("/staff/bulk", data={"op": "xlsx", "numbers": [tickets["lamp"]], "csrf_token": token})
    sheet = load_workbook(io.BytesIO(await response.read())).active
    assert [c.value for c in sheet["A"]] == ["编号", tickets["lamp"]]


async def test_bulk_without_a_selection_says_so(client, tickets):
    await login(client, "wang")
    token = await csrf_of(client, "/staff/")
    page = await (await client.post("/staff/bulk", data={"op": "dispatch", "csrf_token": token})).text()
    assert "请先勾选要办理的工单" in page


async def test_bulk_goes_back_only_to_the_queue(client, tickets):
    await login(client, "wang")
    token = await csrf_of(client, "/staff/")
    for back in ("status=submitted\r\nSet-Cookie: x=1", "//evil.example/"):
        response = await client.post(
            "/staff/bulk", data={"op": "dispatch", "csrf_token": token, "back": back}, allow_redirects=False
        )
        location = response.headers["Location"]
        assert response.status == 303 and location.startswith("/staff/") and "\n" not in location
        assert "Set-Cookie: x" not in str(response.headers)


# ---------------------------------------------------------------- filing a phone call


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


async def test_filing_takes_urgency_caller_and_photo_and_remembers_the_channel(client, tickets, sqlite_url, tmp_path):
    from aiohttp import FormData

    await login(client, "wang")
    page = await (await client.get("/staff/new")).text()
    channel = re.search(r'<select name="channel">.*?</select>', page, re.S).group(0)
    assert "selected" not in channel  # nothing filed yet: the list's first, 当面接待
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = FormData()
    for key, value in {
        "csrf_token": token,
        "description": "刘阿姨来电：建设路井盖没了",
        "location": "建设路88号",
        "caller": "刘阿姨",
        "channel": "phone",
        "category": "roads",
        "urgency": "hazard",
    }.items():
        form.add_field(key, value)
    form.add_field("photo", _jpeg(), filename="manhole.jpg", content_type="image/jpeg")
    response = await client.post("/staff/new", data=form)
    page = await response.text()
    assert response.status == 200 and "已登记，工单现为「已受理」" in page
    with session_scope(sqlite_url) as db:
        ticket = db.query(Ticket).filter(Ticket.description.like("刘阿姨%")).one()
        assert (ticket.urgency, ticket.channel, ticket.detail) == ("hazard", "phone", "居民称呼：刘阿姨")
        photo = ticket.photo_url
    assert (await (await client.get(photo)).read()) == _jpeg()
    assert "<dd>电话</dd>" in page and "安全隐患" in page
    page = await (await client.get("/staff/new")).text()
    assert re.search(r'<option value="phone" selected>', page)  # the channel used last


async def test_filing_with_a_file_that_is_not_a_photo_keeps_the_words(client, tickets, sqlite_url):
    from aiohttp import FormData

    await login(client, "wang")
    token = await csrf_of(client, "/staff/new")
    form = FormData()
    for key, value in {
        "csrf_token": token,
        "description": "小区门口垃圾堆成山",
        "channel": "phone",
        "category": "sanitation",
    }.items():
        form.add_field(key, value)
    form.add_field("photo", b"not an image at all", filename="x.jpg", content_type="image/jpeg")
    response = await client.post("/staff/new", data=form)
    page = await response.text()
    assert response.status == 400 and "只能上传 JPG、PNG、WEBP 或 GIF 图片" in page and "小区门口垃圾堆成山" in page
    with session_scope(sqlite_url) as db:
        assert db.query(Ticket).filter(Ticket.description.like("小区门口%")).count() == 0


# ---------------------------------------------------------------- response templates


def test_every_category_ships_templates_for_resolving_and_replying():
    shipped = replies.load()
    for category in taxonomy.load().categories:
        assert shipped[category]["resolve"] and shipped[category]["reply"], category


async def test_the_ticket_page_offers_the_categorys_templates(client, tickets):
    await login(client, "wang")
    token = await csrf_of(client, f"/staff/tickets/{tickets['lamp']}")
    page = await (
        await client.post(f"/staff/tickets/{tickets['lamp']}/dispatch", data={"lead": "transport", "csrf_token": token})
    ).text()
    resolve = re.search(r'<form[^>]*action-resolve">.*?</form>', page, re.S).group(0)
    reply = re.search(r'<form[^>]*action-reply">.*?</form>', page, re.S).group(0)
    assert all(f'<option value="{t}">' in resolve for t in replies.of("roads", "resolve"))
    assert all(f'<option value="{t}">' in reply for t in replies.of("roads", "reply"))
    assert replies.of("sanitation", "resolve")[0] not in page


async def test_a_district_file_replaces_the_templates(aiohttp_client, sqlite_url, tickets, tmp_path, monkeypatch):
    own = tmp_path / "replies.yml"
    own.write_text("roads:\n  resolve: [本区自己的办结答复]\n  reply: [本区自己的答复]\n", encoding="utf-8")
    monkeypatch.setenv("MINSHENG_REPLIES_FILE", str(own))
    monkeypatch.setenv("MINSHENG_VAR_DIR", str(tmp_path))
    client = await aiohttp_client(create_app(web_settings(sqlite_url, var_dir=tmp_path)))
    await login(client, "wang")
    page = await (await client.get(f"/staff/tickets/{tickets['lamp']}")).text()
    assert (
        "本区自己的答复" in page and replies.of("roads", "reply", str(replies.settings.DEFAULT_REPLIES))[0] not in page
    )
