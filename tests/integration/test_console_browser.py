"""A dispatcher's day in the staff console, in Debian's Chromium on a desktop and on a phone: the
dispatch form's proposals, what an action did, names instead of codes, the queue's columns, bulk
dispatch, the keyboard, the phone layout, filing a phone call, response templates. Only the web
app runs (no Rasa: the category is chosen when filing)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from PIL import Image

from bot import taxonomy
from bot.staff.accounts import create_user
from bot.store.db import session_scope
from bot.store.migrate import upgrade
from bot.store.schema import AuditEntry, Ticket
from bot.store.tickets import NewReport, create_ticket
from tests.support.browser import chromium as launch_chromium
from tests.support.browser import web_app_alone
from tests.support.scratch import free_port
from tests.support.stack import ROOT

pytestmark = pytest.mark.integration
DOCS = ROOT / "docs" / "screenshots"
PASSWORD = "staff-password"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """The web app alone on a fresh SQLite store with a dispatcher and a department's staff."""
    var = tmp_path_factory.mktemp("console-var")
    url = f"sqlite:///{var / 'minsheng.db'}"
    upgrade(url)
    with session_scope(url) as db:
        create_user(db, "wang", PASSWORD, "dispatcher", display_name="王丽")
        create_user(db, "zhao", PASSWORD, "department", "transport", display_name="赵工")
    nobody = f"http://127.0.0.1:{free_port()}"  # no Rasa there: filing picks a category itself
    with web_app_alone(url, var, MINSHENG_RASA_URL=nobody) as base:
        yield {"base": base, "url": url}


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as launched:
        yield launched


def file_tickets(console, *reports):
    """(words, category, channel, place, street, community) → ticket numbers."""
    numbers = []
    with session_scope(console["url"]) as db:
        for i, (words, category, channel, place, street, community) in enumerate(reports):
            ticket, _ = create_ticket(
                db,
                NewReport(f"b-{time.monotonic_ns()}-{i}", f"c-{i}", words, category, channel=channel, location=place),
                taxonomy.load(),
            )
            ticket.street, ticket.community = street, community
            numbers.append(ticket.number)
    return numbers


def signed_in(browser, console, viewport, name="wang"):
    page = browser.new_page(viewport=viewport)
    page.goto(f"{console['base']}/staff/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("table.queue")
    return page


def status_of(console, number):
    with session_scope(console["url"]) as db:
        return db.query(Ticket).filter(Ticket.number == number).one().status


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_the_dispatch_form_proposes_the_routed_departments_and_the_result_is_shown(console, browser, device):
    tiles, wrong = file_tickets(
        console,
        ("3栋2单元楼道瓷砖掉了，差点砸到人", "building", "socketio", "幸福小区3栋2单元", "幸福街道", "和平社区"),
        ("小区门口垃圾没人收", "sanitation", "rest", "幸福小区东门", "幸福街道", "和平社区"),
    )
    page = signed_in(browser, console, VIEWPORTS[device])
    page.goto(f"{console['base']}/staff/tickets/{tiles}")
    form = page.locator("form.action-dispatch")
    assert form.locator("select[name=lead]").input_value() == "housing"  # 住建局, as the category routes it
    assert form.locator("input[name=assisting][value=housing_property]").is_checked()  # the taxonomy's 协办
    form.locator(
        "fieldset.choices label", has_text="街道办事处"
    ).click()  # a second assisting department: a tap, no Ctrl
    form.locator("button[type=submit]").click()
    banner = page.locator(".banner.done")
    assert banner.inner_text() == "已完成「派单」，工单现为「已派单」。"
    assert banner.is_visible() and banner.bounding_box()["y"] < VIEWPORTS[device]["height"]  # seen on landing
    lead = page.inner_text("dl").split("主办部门")[1]
    assert lead.strip().startswith("住建局；协办：") and "住建局物业科" in lead and "街道办事处" in lead
    assert "网页聊天" in page.inner_text("dl") and "socketio" not in page.inner_text("main")
    history = page.inner_text("ol.history")
    assert "居民：已受理" in history and "王丽：已受理 → 已派单" in history and "dispatcher:wang" not in history
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(DOCS / ("staff-ticket.png" if device == "desktop" else "staff-ticket-phone.png")), full_page=True
    )

    page.goto(f"{console['base']}/staff/tickets/{wrong}")  # a merge into a number that does not exist
    page.fill("form.action-merge input[name=into]", "MS-20200101-9999")
    page.click("form.action-merge button[type=submit]")
    assert "未能办理：找不到要并入的工单" in page.inner_text(".banner.error")
    assert page.locator("form.action-merge input[name=into]").input_value() == "MS-20200101-9999"
    assert status_of(console, wrong) == "submitted"
    page.close()


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_a_response_template_fills_the_box_and_is_edited_before_sending(console, browser, device):
    (lamp,) = file_tickets(console, ("人民路的路灯不亮了", "roads", "callback", "人民路12号", "幸福街道", "和平社区"))
    page = signed_in(browser, console, VIEWPORTS[device])
    page.goto(f"{console['base']}/staff/tickets/{lamp}")
    page.click("form.action-dispatch button[type=submit]")
    assert page.locator("form.action-reply select.reply-templates option").count() > 1
    resolve = page.locator("form.action-resolve")
    template = resolve.locator("select.reply-templates option").nth(3).get_attribute("value")
    resolve.locator("select.reply-templates").select_option(template)
    assert resolve.locator("input[name=note]").input_value() == template  # the box is filled …
    resolve.locator("input[name=note]").fill(template + "（11月26日晚已复查）")  # … and edited
    resolve.locator("button[type=submit]").click()
    assert page.inner_text(".banner.done") == "已完成「办结」，工单现为「已办结」。"
    assert template + "（11月26日晚已复查）" in page.inner_text("ol.history")
    page.close()


def test_the_queue_on_a_desktop_columns_keyboard_and_bulk_dispatch(console, browser):
    numbers = file_tickets(
        console,
        ("建设路井盖没了", "roads", "phone", "建设路88号", "建设街道", "建设社区"),
        ("楼下广场舞太吵", "noise_pollution", "socketio", "锦绣江南小区", "幸福街道", "锦绣社区"),
        ("消防通道被电动车堵了", "safety", "wechat", "幸福小区5栋", "幸福街道", "和平社区"),
    )
    page = signed_in(browser, console, DESKTOP)
    page.goto(f"{console['base']}/staff/?status=submitted&sort=newest")
    headers = page.locator("table.worklist thead th").all_inner_texts()
    assert "地点" in headers and "受理时间" in headers
    row = page.locator("tr.ticket-row", has_text=numbers[0])
    assert "建设街道 · 建设社区" in row.inner_text() and "建设路88号" in row.inner_text()
    assert row.locator("td.filed").inner_text().startswith(time.strftime("%Y-"))

    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    first = page.locator("tr.ticket-row").nth(0)
    assert "current" in first.get_attribute("class")
    page.keyboard.press("x")
    assert first.locator("input[name=numbers]").is_checked()
    page.keyboard.press("x")
    assert not first.locator("input[name=numbers]").is_checked()
    page.keyboard.press("j")
    second = page.locator("tr.ticket-row").nth(1).get_attribute("data-href")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{second}")
    page.go_back()

    for number in numbers:
        page.locator(f"input[name=numbers][value='{number}']").check()
    assert page.inner_text(".selected-count") == "已选 3 件"
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / "staff-queue.png"), full_page=True)
    page.click("button[value=dispatch]")
    assert "按类别派单：已办理 3 件，现为「已派单」" in page.inner_text(".banner.done")
    with session_scope(console["url"]) as db:
        found = {t.number: t for t in db.query(Ticket).filter(Ticket.number.in_(numbers))}
        assert [found[n].lead_department_id for n in numbers] == ["transport", "environment", "police_fire"]
        audited = db.query(AuditEntry).filter(
            AuditEntry.action == "dispatch", AuditEntry.ticket_id.in_([t.id for t in found.values()])
        )
        assert sorted(a.ticket_id for a in audited) == sorted(t.id for t in found.values())
    page.close()


def test_the_queue_on_a_phone_is_a_list_of_cards_with_bulk_work(console, browser):
    numbers = file_tickets(
        console,
        ("二单元门口的树倒了，挡住了路", "greening", "phone", "幸福小区2单元", "幸福街道", "和平社区"),
        ("幸福路油烟扰民，晚上开窗都是味", "noise_pollution", "socketio", "幸福路16号", "幸福街道", "幸福社区"),
    )
    page = signed_in(browser, console, PHONE)
    page.goto(f"{console['base']}/staff/?status=submitted")
    row = page.locator("tr.ticket-row", has_text=numbers[0])
    words = row.locator("td.about")
    assert page.locator("table.worklist thead").is_hidden()
    assert words.bounding_box()["width"] > PHONE["width"] * 0.6  # not one character per line
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing to scroll sideways
    shown = row.locator("td.place").evaluate("td => getComputedStyle(td, '::before').content")
    assert shown == '"地点："'  # each value says what it is, the table's header being hidden
    row.locator("input[name=numbers]").check()
    page.screenshot(path=str(DOCS / "staff-queue-phone.png"), full_page=False)
    assert "幸福街道 · 和平社区" in row.inner_text() and "受理时间" in row.locator("td.filed").get_attribute(
        "data-label"
    )
    page.select_option("#bulk select[name=lead]", "greening")
    page.click("button[value=assign]")
    assert "派至园林绿化局：已办理 1 件" in page.inner_text(".banner.done")
    assert status_of(console, numbers[0]) == "dispatched" and status_of(console, numbers[1]) == "submitted"
    page.close()


def _photo(tmp_path) -> Path:
    path = tmp_path / "manhole.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 90, 90)).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return path


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_a_phone_call_is_filed_with_urgency_caller_and_photo(console, browser, device, tmp_path):
    page = signed_in(browser, console, VIEWPORTS[device])
    page.goto(f"{console['base']}/staff/new")
    page.select_option("select[name=channel]", "phone")
    page.fill("textarea[name=description]", "刘阿姨来电说人民路口的井盖没了，晚上很危险")
    page.fill("input[name=location]", "人民路与建设路交叉口")
    page.fill("input[name=caller]", "刘阿姨")
    page.fill("input[name=phone]", "13900002222")
    page.select_option("select[name=category]", "roads")
    page.select_option("select[name=urgency]", "hazard")
    page.set_input_files("input[name=photo]", str(_photo(tmp_path)))
    page.click("form.new-ticket button[type=submit]")
    assert page.inner_text(".banner.done") == "已登记，工单现为「已受理」。"
    details = page.inner_text("dl")
    assert "电话" in details and "安全隐患" in details and "居民称呼：刘阿姨" in details
    photo = page.locator("dl a", has_text="照片").get_attribute("href")
    assert page.request.get(f"{console['base']}{photo}").status == 200
    page.goto(f"{console['base']}/staff/new")  # the next call: the channel used last is the default
    assert page.locator("select[name=channel]").input_value() == "phone"
    page.close()
