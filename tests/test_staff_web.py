"""The staff console over HTTP: login, CSRF, who sees what, actions, escaping."""

import re

import pytest

from bot import taxonomy
from bot.staff import accounts
from bot.store.db import session_scope
from bot.store.schema import AuditEntry, Ticket
from bot.store.tickets import NewReport, create_ticket
from bot.web.app import create_app
from tests.support.web import web_settings

PASSWORD = "long-enough-pw"


@pytest.fixture
def people(sqlite_url):
    with session_scope(sqlite_url) as db:
        accounts.create_user(db, "disp", PASSWORD, "dispatcher")
        accounts.create_user(db, "roads", PASSWORD, "department", "transport")
        accounts.create_user(db, "trash", PASSWORD, "department", "sanitation")
        accounts.create_user(db, "sup", PASSWORD, "supervisor")
        road, _ = create_ticket(
            db,
            NewReport("r", "c1", "路灯坏了<script>alert('x')</script>", "roads", phone="13812345678"),
            taxonomy.load(),
        )
        trash, _ = create_ticket(db, NewReport("s", "c2", "垃圾没人收", "sanitation"), taxonomy.load())
        return {"road": road.number, "trash": trash.number}


@pytest.fixture
async def client(aiohttp_client, sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MINSHENG_VAR_DIR", str(tmp_path))
    return await aiohttp_client(create_app(web_settings(sqlite_url)))


async def csrf_of(client, path):
    page = await (await client.get(path)).text()
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


async def login(client, username, password=PASSWORD):
    token = await csrf_of(client, "/staff/login")
    return await client.post(
        "/staff/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/staff/"},
        allow_redirects=False,
    )


def status_of(url, number):
    with session_scope(url) as db:
        return db.query(Ticket).filter(Ticket.number == number).one().status


async def test_the_console_needs_a_login(client, people):
    response = await client.get("/staff/", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"].startswith("/staff/login")
    assert (await login(client, "disp", "wrong")).status == 401
    response = await login(client, "disp")
    assert response.status == 302 and response.headers["Location"] == "/staff/"
    assert people["road"] in await (await client.get("/staff/")).text()


async def test_login_does_not_redirect_elsewhere(client, people):
    token = await csrf_of(client, "/staff/login")
    response = await client.post(
        "/staff/login",
        data={"username": "disp", "password": PASSWORD, "csrf_token": token, "next": "https://evil.example/"},
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/staff/"


async def test_a_post_without_a_valid_csrf_token_changes_nothing(client, people, sqlite_url):
    await login(client, "disp")
    response = await client.post(f"/staff/tickets/{people['road']}/dispatch", data={"lead": "transport"})
    assert response.status == 403
    response = await client.post(
        f"/staff/tickets/{people['road']}/dispatch", data={"lead": "transport", "csrf_token": "forged"}
    )
    assert response.status == 403
    assert status_of(sqlite_url, people["road"]) == "submitted"


async def test_dispatch_then_the_department_works_it(client, people, sqlite_url):
    await login(client, "disp")
    token = await csrf_of(client, f"/staff/tickets/{people['road']}")
    response = await client.post(
        f"/staff/tickets/{people['road']}/dispatch",
        data={"lead": "transport", "assisting": "utilities", "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 303
    assert status_of(sqlite_url, people["road"]) == "dispatched"
    await client.post("/staff/logout", data={"csrf_token": token})

    await login(client, "roads")
    token = await csrf_of(client, f"/staff/tickets/{people['road']}")
    await client.post(f"/staff/tickets/{people['road']}/start", data={"csrf_token": token})
    response = await client.post(
        f"/staff/tickets/{people['road']}/resolve", data={"note": "换了新灯", "csrf_token": token}
    )
    assert response.status == 200 and "换了新灯" in await response.text()
    assert status_of(sqlite_url, people["road"]) == "resolved"
    with session_scope(sqlite_url) as db:
        assert {a.actor for a in db.query(AuditEntry).filter(AuditEntry.action == "resolve")} == {"roads"}


async def test_another_departments_ticket_is_invisible_and_untouchable(client, people, sqlite_url):
    await login(client, "trash")
    queue = await (await client.get("/staff/")).text()
    assert people["trash"] in queue and people["road"] not in queue
    assert (await client.get(f"/staff/tickets/{people['road']}")).status == 404
    token = await csrf_of(client, f"/staff/tickets/{people['trash']}")
    response = await client.post(f"/staff/tickets/{people['road']}/start", data={"csrf_token": token})
    assert response.status == 404
    assert status_of(sqlite_url, people["road"]) == "submitted"


async def test_illegal_transitions_and_wrong_roles_are_refused(client, people, sqlite_url):
    await login(client, "disp")
    token = await csrf_of(client, f"/staff/tickets/{people['road']}")
    response = await client.post(f"/staff/tickets/{people['road']}/resolve", data={"note": "x", "csrf_token": token})
    assert response.status == 409
    await client.post("/staff/logout", data={"csrf_token": token})
    await login(client, "sup")
    token = await csrf_of(client, f"/staff/tickets/{people['road']}")
    response = await client.post(
        f"/staff/tickets/{people['road']}/dispatch", data={"lead": "transport", "csrf_token": token}
    )
    assert response.status == 403
    assert status_of(sqlite_url, people["road"]) == "submitted"


async def test_a_residents_markup_is_shown_as_text(client, people):
    await login(client, "disp")
    page = await (await client.get(f"/staff/tickets/{people['road']}")).text()
    assert "<script>alert(" not in page and "&lt;script&gt;" in page


async def test_phone_is_masked_for_supervisors(client, people):
    await login(client, "sup")
    page = await (await client.get(f"/staff/tickets/{people['road']}")).text()
    assert "138****5678" in page and "13812345678" not in page


async def test_queue_filters(client, people):
    await login(client, "disp")
    page = await (await client.get("/staff/?category=sanitation")).text()
    assert people["trash"] in page and people["road"] not in page
    page = await (await client.get("/staff/?q=路灯")).text()
    assert people["road"] in page and people["trash"] not in page
    page = await (await client.get(f"/staff/?q={people['road'].lower()}")).text()  # a number in either case
    assert people["road"] in page and people["trash"] not in page
    page = await (await client.get("/staff/?status=resolved")).text()
    assert "没有符合条件的工单" in page


async def test_exports_hold_only_what_the_user_may_see(client, people):
    import io

    from openpyxl import load_workbook

    await login(client, "trash")
    response = await client.get("/staff/export.csv")
    assert response.status == 200 and "attachment" in response.headers["Content-Disposition"]
    text = (await response.read()).decode("utf-8-sig")
    assert people["trash"] in text and people["road"] not in text and text.startswith("编号,")
    response = await client.get("/staff/export.xlsx?q=垃圾")
    sheet = load_workbook(io.BytesIO(await response.read())).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "编号" and [row[0] for row in values[1:]] == [people["trash"]]


async def test_spreadsheet_formulas_from_residents_are_defused(client, sqlite_url):
    with session_scope(sqlite_url) as db:
        accounts.create_user(db, "disp2", PASSWORD, "dispatcher")
        create_ticket(db, NewReport("f", "c3", '=HYPERLINK("http://x")', "other"), taxonomy.load())
    await login(client, "disp2")
    text = (await (await client.get("/staff/export.csv")).read()).decode("utf-8-sig")
    assert "'=HYPERLINK" in text


async def test_dashboard_counts_the_period(client, people, sqlite_url):
    await login(client, "disp")
    token = await csrf_of(client, f"/staff/tickets/{people['road']}")
    await client.post(f"/staff/tickets/{people['road']}/dispatch", data={"lead": "transport", "csrf_token": token})
    await client.post(f"/staff/tickets/{people['road']}/resolve", data={"note": "修好了", "csrf_token": token})
    page = await (await client.get("/staff/dashboard")).text()
    assert "收集 2 件，办结 1 件，办理中 0 件" in page  # the other is not dispatched yet
    assert "交通运输局" in page
    by_category = await (await client.get("/staff/dashboard?by=category")).text()
    assert "道路与交通" in by_category and "环境卫生" in by_category
    await client.post("/staff/logout", data={"csrf_token": token})
    await login(client, "trash")
    assert (await client.get("/staff/dashboard")).status == 403


async def test_filing_for_a_resident_with_a_chosen_category(client, people, sqlite_url, monkeypatch):
    monkeypatch.setenv("MINSHENG_RASA_URL", "http://127.0.0.1:1")  # no Rasa: the category must be chosen
    await login(client, "disp")
    token = await csrf_of(client, "/staff/new")
    form = {
        "description": "老王来电：小区健身器材坏了",
        "location": "幸福小区",
        "phone": "139 1234 5678",
        "channel": "phone",
        "category": "",
        "csrf_token": token,
    }
    response = await client.post("/staff/new", data=form)
    assert response.status == 400 and "手动选择类别" in await response.text()
    response = await client.post("/staff/new", data={**form, "category": "building"}, allow_redirects=False)
    assert response.status == 303
    number = response.headers["Location"].split("/")[-1].split("?")[0]
    with session_scope(sqlite_url) as db:
        ticket = db.query(Ticket).filter(Ticket.number == number).one()
        assert (ticket.channel, ticket.category_id, ticket.phone) == ("phone", "building", "13912345678")
        assert ticket.events[0].actor == "dispatcher:disp"


async def test_supervisors_do_not_file(client, people):
    await login(client, "sup")
    assert (await client.get("/staff/new")).status == 403


async def test_inspection_and_bulletin_name_the_overdue(client, people, sqlite_url):
    import datetime as dt

    with session_scope(sqlite_url) as db:
        late = db.query(Ticket).filter(Ticket.number == people["trash"]).one()
        late.deadline = dt.date(2026, 1, 5)
        late.created_at = dt.datetime.utcnow()
    await login(client, "sup")
    inspection = await (await client.get("/staff/inspection")).text()
    assert people["trash"] in inspection and people["road"] not in inspection
    assert "综合行政执法局（环卫）：1 件" in inspection
    bulletin = await (await client.get("/staff/bulletin")).text()
    assert "点名通报" in bulletin and "综合行政执法局（环卫）：超期未办结 1 件" in bulletin
    await client.post("/staff/logout", data={"csrf_token": await csrf_of(client, "/staff/")})
    await login(client, "roads")
    assert (await client.get("/staff/bulletin")).status == 403


async def test_a_reply_reaches_the_resident_at_the_next_status_question(client, people, sqlite_url):
    from bot.actions import backend

    await login(client, "disp")
    token = await csrf_of(client, f"/staff/tickets/{people['road']}")
    await client.post(f"/staff/tickets/{people['road']}/reply", data={"note": "已安排明天维修", "csrf_token": token})
    assert "答复：已安排明天维修" in (await backend.conversation_summary("c1"))[0]


async def test_category_corrections_become_training_rows(client, people, sqlite_url, capsys):
    from bot.cli import main

    await login(client, "disp")
    token = await csrf_of(client, f"/staff/tickets/{people['trash']}")
    await client.post(
        f"/staff/tickets/{people['trash']}/recategorize", data={"category": "property", "csrf_token": token}
    )
    assert main(["classifier", "corrections"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["垃圾没人收,property"]


async def resolve_road(client, people):
    token = await csrf_of(client, f"/staff/tickets/{people['road']}")
    await client.post(f"/staff/tickets/{people['road']}/dispatch", data={"lead": "transport", "csrf_token": token})
    await client.post(f"/staff/tickets/{people['road']}/resolve", data={"note": "已更换灯泡", "csrf_token": token})
    return token


async def test_the_ticket_page_shows_each_message_for_the_resident_and_its_delivery(client, people, sqlite_url):
    from bot.store import outbox
    from bot.store.schema import Notification

    await login(client, "disp")
    await resolve_road(client, people)
    with session_scope(sqlite_url) as db:
        first = db.query(Notification).order_by(Notification.id).first()
        outbox.mark_delivered(db, first.id, "push")
    page = await (await client.get(f"/staff/tickets/{people['road']}")).text()
    assert "给居民的消息" in page
    assert page.count("已送达") == 1 and page.count("待发送") == 1  # dispatched delivered; resolution pending
    assert "办结及满意度调查" in page and "待评价" in page


async def test_a_phone_follow_up_reopens_and_flags_what_the_resident_says_is_not_fixed(client, people, sqlite_url):
    await login(client, "disp")
    await resolve_road(client, people)
    await client.post("/staff/logout", data={"csrf_token": await csrf_of(client, "/staff/")})
    await login(client, "roads")  # the department that did the work may not rate it
    token = await csrf_of(client, f"/staff/tickets/{people['road']}")
    assert "记录回访结果" not in await (await client.get(f"/staff/tickets/{people['road']}")).text()
    refused = await client.post(f"/staff/tickets/{people['road']}/follow_up", data={"rating": "5", "csrf_token": token})
    assert refused.status == 403 and status_of(sqlite_url, people["road"]) == "resolved"
    await client.post("/staff/logout", data={"csrf_token": token})
    await login(client, "sup")
    token = await csrf_of(client, f"/staff/tickets/{people['road']}")
    page = await (await client.get(f"/staff/tickets/{people['road']}")).text()
    assert "电话回访" in page
    response = await client.post(
        f"/staff/tickets/{people['road']}/follow_up",
        data={"rating": "2", "note": "居民说晚上还是不亮", "csrf_token": token},
    )
    page = await response.text()
    assert status_of(sqlite_url, people["road"]) == "reopened"
    assert "督办关注" in page and "电话回访：不满意；意见：居民说晚上还是不亮" in page
    flagged = await (await client.get("/staff/?flagged=1")).text()
    assert people["road"] in flagged and "共 1 件" in flagged and "督办关注" in flagged
    again = await client.post(f"/staff/tickets/{people['road']}/follow_up", data={"rating": "5", "csrf_token": token})
    assert again.status == 409  # nothing waits for a verdict any more


async def test_dashboard_and_bulletin_show_satisfaction_by_department(client, people, sqlite_url):
    from bot.ratings import Rating
    from bot.store import surveys
    from bot.store.tickets import find_by_number

    await login(client, "disp")
    await resolve_road(client, people)
    with session_scope(sqlite_url) as db:
        surveys.record(db, find_by_number(db, people["road"]), Rating(1, "根本没修"), "chat", "resident")
    page = await (await client.get("/staff/dashboard")).text()
    assert "满意率 0%，重办率 100%，参评率 100%" in page
    bulletin = await (await client.get("/staff/bulletin")).text()
    assert "群众评价 1 件（参评率 100%），满意率 0%，因不满意重新办理 1 件" in bulletin
    assert "交通运输局：满意率 0%（1 件评价，1 件不满意重办）" in bulletin


async def test_the_ticket_page_offers_the_actions_of_the_table_the_user_may_take(client, people):
    await login(client, "disp")
    page = await (await client.get(f"/staff/tickets/{people['road']}")).text()
    offered = set(re.findall(r'action="/staff/tickets/[^/]+/(\w+)"', page))
    assert {"dispatch", "merge", "reject", "recategorize", "reply", "note"} <= offered
    assert not offered & {"start", "resolve", "return", "hand_over", "follow_up"}  # not in this state / no assistant
    token = await csrf_of(client, f"/staff/tickets/{people['road']}")
    await client.post(
        f"/staff/tickets/{people['road']}/dispatch",
        data={"lead": "transport", "assisting": "sanitation", "csrf_token": token},
    )
    await client.post("/staff/logout", data={"csrf_token": token})
    await login(client, "roads")
    page = await (await client.get(f"/staff/tickets/{people['road']}")).text()
    form = page[page.index('/hand_over"') :]
    assert "转交协办" in form and 'value="sanitation"' in form.split("</form>")[0]
    assert "dispatch" not in set(re.findall(r'action="/staff/tickets/[^/]+/(\w+)"', page))


async def test_the_ticket_page_shows_the_place_as_the_gazetteer_knows_it(client, people, sqlite_url):
    with session_scope(sqlite_url) as db:
        known, _ = create_ticket(
            db,
            NewReport(
                "p1",
                "c3",
                "垃圾没人收",
                "sanitation",
                location="锦绣江南5栋后面",
                latitude=30.47055,
                longitude=106.63605,
            ),
            taxonomy.load(),
        )
        unknown, _ = create_ticket(
            db, NewReport("p2", "c4", "垃圾没人收", "sanitation", location="沃尔玛后面"), taxonomy.load()
        )
        numbers = known.number, unknown.number
    await login(client, "disp")
    page = await (await client.get(f"/staff/tickets/{numbers[0]}")).text()
    assert "枣山街道 · 城南社区" in page and "北纬 30.47055，东经 106.63605" in page and "请核实" not in page
    page = await (await client.get(f"/staff/tickets/{numbers[1]}")).text()
    assert "沃尔玛后面" in page and "地名库中没有这个地点，请核实" in page
    text = (await (await client.get("/staff/export.csv")).read()).decode("utf-8-sig")
    row = next(line for line in text.splitlines() if line.startswith(numbers[0]))
    assert "锦绣江南5栋后面,枣山街道,城南社区" in row and "街道,社区" in text.splitlines()[0]


async def test_the_queue_the_ticket_page_and_the_dashboard_tell_enquiries_apart(client, people, sqlite_url):
    with session_scope(sqlite_url) as db:
        enquiry, _ = create_ticket(
            db, NewReport("e", "c3", "犬只登记要去哪里办？", "safety", kind="enquiry"), taxonomy.load()
        )
        number = enquiry.number
        token = accounts.issue_token(db, "disp")
    await login(client, "disp")
    dashboard = await (await client.get("/staff/dashboard")).text()
    assert re.search(r"投诉/求助 <strong>2</strong> 件，咨询 <strong>1</strong> 件", dashboard)
    enquiries = await (await client.get("/staff/?kind=enquiry")).text()
    assert number in enquiries and people["trash"] not in enquiries and "咨询件" in enquiries
    reports = await (await client.get("/staff/?kind=report")).text()
    assert number not in reports and people["trash"] in reports and "咨询件" not in reports
    assert "咨询件" in await (await client.get(f"/staff/tickets/{number}")).text()
    listing = await (
        await client.get("/api/v1/tickets?kind=enquiry", headers={"Authorization": f"Bearer {token}"})
    ).json()
    assert [(t["number"], t["kind"]) for t in listing["tickets"]] == [(number, "enquiry")]
