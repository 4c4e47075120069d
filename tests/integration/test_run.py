"""`minsheng run` (what `make run` starts) on the embedded defaults: all three processes up, the
chat page working in a real browser over socket.io, and Ctrl-C stopping everything it started."""

from __future__ import annotations

import io
import json
import os
import queue
import re
import socket
import stat
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import socketio
from PIL import Image

from bot.store.db import session_scope
from bot.store.schema import Ticket
from tests.support.browser import chromium as launch_chromium
from tests.support.scratch import free_port
from tests.support.stack import ROOT, minsheng_run

pytestmark = pytest.mark.integration
DOCS = ROOT / "docs" / "screenshots"


def get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def port_open(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def product(trained_model, tmp_path_factory):
    """`minsheng run` with free ports and a fresh var/ folder; stopped with Ctrl-C (SIGINT) at the end,
    after which none of its ports may still be open."""
    var = tmp_path_factory.mktemp("product-var")
    ports = {"rasa": free_port(), "actions": free_port(), "web": free_port()}
    env = {
        **os.environ,
        "MINSHENG_VAR_DIR": str(var),
        "MINSHENG_RASA_PORT": str(ports["rasa"]),
        "MINSHENG_ACTIONS_PORT": str(ports["actions"]),
        "MINSHENG_WEB_PORT": str(ports["web"]),
    }
    for key in ("MINSHENG_DATABASE_URL", "MINSHENG_TRACKER_URL", "MINSHENG_LOCK_STORE_URL"):
        env.pop(key, None)  # the embedded defaults
    with minsheng_run(env, 300) as (launcher, seen):
        yield {"ports": ports, "var": var, "output": "".join(seen), "launcher": launcher}
    still_open = [port for port in ports.values() if port_open(port)]
    assert not still_open, f"ports {still_open} still open after Ctrl-C"


def test_all_three_processes_come_up_and_say_where(product):
    output, ports = product["output"], product["ports"]
    assert "is running" in output, output[-3000:]
    assert "some part did not answer" not in output
    assert f"http://localhost:{ports['web']}/" in output and f"http://localhost:{ports['rasa']}/" in output
    status, page = get(f"http://127.0.0.1:{ports['web']}/")
    assert status == 200 and f'data-rasa-port="{ports["rasa"]}"' in page
    assert json.loads(get(f"http://127.0.0.1:{ports['web']}/healthz")[1])["status"] == "ok"
    assert json.loads(get(f"http://127.0.0.1:{ports['actions']}/health")[1])["status"] == "ok"
    assert (product["var"] / "minsheng.db").exists() and (product["var"] / "rasa-token").exists()
    password = (product["var"] / "admin-password").read_text().strip()
    assert f"http://localhost:{ports['web']}/staff/" in output and f"admin / {password}" in output


def as_nobody(*command):
    """Runs a command as the local user `nobody`: what any other account on the machine could do."""
    return subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command], capture_output=True, text=True
    )


def children_of(pid):
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat_file.parent.name))
    return found


def test_secrets_and_personal_data_are_out_of_other_users_reach(product):
    """The attack: another local account reads the store, the tokens, the logs, a photo, and the
    processes' command lines and environments."""
    if os.geteuid() != 0:
        pytest.fail("this test switches to the user nobody and needs root (as CI has)")
    var = product["var"]
    photo = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 90, 90)).save(photo, format="PNG")
    boundary = "minsheng-test"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="p.png"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + photo.getvalue()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"http://127.0.0.1:{product['ports']['web']}/api/photos",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        uploaded = var / "uploads" / Path(json.load(response)["url"]).name
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    loose = [p for p in var.rglob("*") if stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert not loose, f"readable by others: {loose}"
    for target in (
        "minsheng.db",
        "rasa-trackers.db",
        "rasa-token",
        "actions-secret",
        "admin-password",
        "secret-key",
        "endpoints.yml",
        "log/rasa.log",
        f"uploads/{uploaded.name}",
    ):
        attempt = as_nobody("cat", str(var / target))
        assert attempt.returncode != 0 and "Permission denied" in attempt.stderr, target
    secrets = [(var / name).read_text().strip() for name in ("rasa-token", "actions-secret", "admin-password")]
    children = children_of(product["launcher"].pid)
    assert len(children) == 3
    for pid in children:
        command_line = as_nobody("cat", f"/proc/{pid}/cmdline")
        assert command_line.returncode == 0 and "minsheng" in command_line.stdout
        assert not any(secret in command_line.stdout for secret in secrets), command_line.stdout
        assert as_nobody("cat", f"/proc/{pid}/environ").returncode != 0


def test_the_socketio_channel_answers(product):
    """What the chat page does: session_request, then user_uttered, then wait for bot_uttered."""
    client = socketio.Client()
    answers = queue.Queue()
    client.on("bot_uttered", answers.put)
    client.connect(f"http://127.0.0.1:{product['ports']['rasa']}", transports=["polling"], socketio_path="/socket.io")
    try:
        session = f"browser-{time.time()}"
        client.emit("session_request", {"session_id": session})
        client.emit("user_uttered", {"message": "你好", "session_id": session})
        assert "民生小助手" in answers.get(timeout=60)["text"]
    finally:
        client.disconnect()


def test_updates_are_pushed_to_an_open_chat_page_and_shown_when_it_is_opened_again(product):
    from bot import taxonomy
    from bot.staff import workflow
    from bot.store.schema import User
    from bot.store.tickets import NewReport, create_ticket, find_by_number

    store = f"sqlite:///{product['var'] / 'minsheng.db'}"
    session = f"browser-{time.time()}"
    rasa = f"http://127.0.0.1:{product['ports']['rasa']}"

    def connect():
        client, answers = socketio.Client(), queue.Queue()
        client.on("bot_uttered", answers.put)
        client.connect(rasa, transports=["polling"], socketio_path="/socket.io")
        client.emit("session_request", {"session_id": session})
        return client, answers

    def texts_until(answers, needle, seconds=60):
        seen, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                seen.append(answers.get(timeout=1).get("text", ""))
            except queue.Empty:
                continue
            if needle in seen[-1]:
                return seen
        raise AssertionError(f"{needle!r} never came; got {seen}")

    client, answers = connect()
    try:
        client.emit("user_uttered", {"message": "你好", "session_id": session})
        texts_until(answers, "民生小助手")
        with session_scope(store) as db:
            ticket, _ = create_ticket(db, NewReport(f"{session}:1", session, "路灯坏了", "roads"), taxonomy.load())
            number = ticket.number
            workflow.dispatch(db, db.query(User).filter_by(username="admin").one(), ticket, "transport")
        texts_until(answers, f"{number} 已派给交通运输局办理")  # pushed while the page is open
    finally:
        client.disconnect()
    with session_scope(store) as db:
        admin = db.query(User).filter_by(username="admin").one()
        ticket = find_by_number(db, number)
        workflow.start(db, admin, ticket)
        workflow.resolve(db, admin, ticket, "已更换灯泡")
    time.sleep(12)  # the page is closed: the pushes fail and the updates wait
    client, answers = connect()  # the page is opened again; the resident has not typed yet
    try:
        seen = texts_until(answers, "满意吗")
        assert any("已经办结" in text and "已更换灯泡" in text for text in seen)
    finally:
        client.disconnect()


@pytest.fixture
def browser():
    with launch_chromium() as launched:
        yield launched


def test_a_resident_reports_through_the_chat_page(product, browser, tmp_path, monkeypatch):
    page = browser.new_page(viewport={"width": 430, "height": 900})
    page.goto(f"http://127.0.0.1:{product['ports']['web']}/")
    page.wait_for_selector("#status:has-text('已连接')", timeout=30000)

    last_answer = "() => [...document.querySelectorAll('.msg--bot')].map(m => m.innerText).pop() || ''"

    def answered(expected):
        # The answer of a turn may come in several messages, and on a busy machine a little late: wait
        # for the one the next step depends on rather than for any new message.
        page.wait_for_function(f"t => ({last_answer})().includes(t)", arg=expected, timeout=30000)

    def say(text, expected):
        page.fill("#message", text)
        page.press("#message", "Enter")
        answered(expected)

    say("樓道的燈壞了兩個禮拜，晚上上樓黑漆漆的", "在哪")
    assert "房屋與公共設施" in page.locator(".msg--bot").nth(1).inner_text()
    say("和平社區3棟2單元", "照片")

    photo = tmp_path / "lamp.png"
    Image.new("RGB", (64, 48), (40, 40, 40)).save(photo)
    page.set_input_files("#photo", str(photo))
    answered("電話")
    assert page.locator("img.msg__photo").count() == 1
    say("１３８ １２３４ ５６７８", "138****5678")
    summary = page.locator(".msg--bot").last.inner_text()
    assert "138****5678" in summary and "見照片" in summary

    page.locator(".msg__buttons button", has_text="確認提交").click()
    page.wait_for_function("() => /MS-\\d{8}-\\d{4}/.test(document.body.innerText)", timeout=30000)
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / "resident-chat.png"), full_page=True)
    number = re.search(r"MS-\d{8}-\d{4}", page.locator(".msg--bot").last.inner_text()).group(0)

    monkeypatch.setenv("MINSHENG_DATABASE_URL", f"sqlite:///{product['var'] / 'minsheng.db'}")
    with session_scope() as session:
        ticket = session.query(Ticket).filter(Ticket.number == number).one()
        assert ticket.location == "和平社區3棟2單元" and ticket.phone == "13812345678"
        assert ticket.photo_url and (product["var"] / "uploads" / Path(ticket.photo_url).name).exists()
        assert ticket.script == "traditional" and ticket.channel == "socketio"


def test_on_a_phone_the_chat_survives_a_reload_uses_the_position_and_retires_old_buttons(product, browser, monkeypatch):
    """A resident on a phone: reports with "用当前位置", reloads the page in the middle and after
    the ticket, and answers with a button only the question it came with."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        permissions=["geolocation"],
        geolocation={"latitude": 30.47055, "longitude": 106.63605},
    )
    page = context.new_page()
    base = f"http://127.0.0.1:{product['ports']['web']}/"
    page.goto(base)
    page.wait_for_selector("#status:has-text('已连接')", timeout=30000)

    def answered(action):
        before = page.locator(".msg--bot").count()
        action()
        page.wait_for_function("n => document.querySelectorAll('.msg--bot').length > n", arg=before, timeout=30000)
        page.wait_for_timeout(800)  # the rest of the same answer
        if page.locator(".msg__buttons:last-child button:not([disabled])", has_text="其他").count():
            answered(lambda: page.locator(".msg__buttons button:not([disabled])").first.click())

    def say(text):
        def typed():
            page.fill("#message", text)
            page.press("#message", "Enter")

        answered(typed)

    say("小区垃圾堆了好几天没人收，臭得很")
    answered(lambda: page.click("#locate"))
    assert "锦绣江南附近" in page.locator(".msg--bot").last.inner_text() or "锦绣江南附近" in page.inner_text("#log")
    say("5栋后面")

    # reloaded in the middle of the report: the conversation so far is there, and it goes on
    page.reload()
    page.wait_for_selector("#status:has-text('已连接')", timeout=30000)
    log = page.inner_text("#log")
    assert "以下是之前的对话" in log and "小区垃圾堆了好几天没人收" in log and "（发送了当前位置）" in log
    say("没有")
    say("不留")
    first_summary = page.locator(".msg__buttons").nth(page.locator(".msg__buttons").count() - 1)
    assert first_summary.locator("button").first.is_enabled()
    for button in first_summary.locator("button").all():  # touch targets of at least 44 px
        assert button.bounding_box()["height"] >= 44
    say("不对，是5栋后面的垃圾站")  # a correction: the first summary's buttons are spent
    assert not first_summary.locator("button").first.is_enabled()
    assert page.locator(".msg__buttons").last.locator("button").first.is_enabled()
    answered(lambda: page.locator(".msg__buttons").last.locator("button", has_text="确认提交").click())
    number = re.search(r"MS-\d{8}-\d{4}", page.locator(".msg--bot").last.inner_text()).group(0)

    # reloaded after the ticket: the card shows its number, whole on one line, copyable
    page.reload()
    page.wait_for_selector(".tickets .ticket-number", timeout=30000)
    card = page.locator(".tickets .ticket-number").first
    assert card.inner_text() == number
    assert card.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"
    assert card.bounding_box()["height"] < 40  # one line, not broken
    assert page.locator(".tickets .copy").first.bounding_box()["height"] >= 44
    assert all(not b.is_enabled() for b in page.locator(".msg__buttons button").all()[:-2])
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / "resident-chat-phone.png"), full_page=True)

    assert page.locator(".msg--bot .nowrap", has_text=number).count() >= 1  # in the answer, not broken either

    # another resident on the same phone, in an emergency: the advice stands out, its numbers dial
    page.evaluate("() => window.localStorage.clear()")
    page.reload()
    page.wait_for_selector("#status:has-text('已连接')", timeout=30000)
    assert page.locator(".tickets").is_hidden()  # the first resident's tickets are not shown
    say("电梯卡在9楼不动了，里面有人出不来")
    warning = page.locator(".msg--emergency").first
    assert warning.get_attribute("role") == "alert"
    assert warning.locator('a.call[href="tel:96333"]').count() == 1
    assert warning.locator('a.call[href="tel:96333"]').bounding_box()["height"] >= 44

    monkeypatch.setenv("MINSHENG_DATABASE_URL", f"sqlite:///{product['var'] / 'minsheng.db'}")
    with session_scope() as session:
        ticket = session.query(Ticket).filter(Ticket.number == number).one()
        assert ticket.location == "锦绣江南5栋后面的垃圾站"
        assert (ticket.street, ticket.community) == ("枣山街道", "城南社区")
        assert (ticket.latitude, ticket.longitude) == (30.47055, 106.63605)
    context.close()


def test_staff_walk_through_the_console(product, browser, monkeypatch):
    """A dispatcher dispatches, the department resolves, a supervisor reads the dashboard and exports."""
    from bot import taxonomy
    from bot.staff.accounts import create_user
    from bot.store.tickets import NewReport, create_ticket

    monkeypatch.setenv("MINSHENG_DATABASE_URL", f"sqlite:///{product['var'] / 'minsheng.db'}")
    numbers = []
    with session_scope() as db:
        for name, role, department in (
            ("wang", "dispatcher", None),
            ("zhao", "department", "transport"),
            ("chen", "supervisor", None),
        ):
            create_user(db, name, "staff-password", role, department)
        for i, (text, category, urgency) in enumerate(
            [
                ("建设路的井盖不见了，晚上很危险", "roads", "hazard"),
                ("小区垃圾三天没人收", "sanitation", "normal"),
                ("楼下广场舞太吵", "noise_pollution", "normal"),
                ("建设路88号门口井盖没了", "roads", "hazard"),
            ]
        ):
            ticket, _ = create_ticket(
                db,
                NewReport(f"walk-{i}", "walk", text, category, urgency, location="建设路88号", phone="13900001111"),
                taxonomy.load(),
            )
            numbers.append(ticket.number)
    number, misrouted, _noise, duplicate = numbers
    base = f"http://127.0.0.1:{product['ports']['web']}"
    page = browser.new_page(viewport={"width": 1280, "height": 800})

    def log_in(name):
        page.goto(f"{base}/staff/login")
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", "staff-password")
        page.click("button[type=submit]")

    def log_out():
        page.click("header form button")

    log_in("wang")
    page.wait_for_selector("table.queue")
    page.goto(f"{base}/staff/new")  # filing a phone call: the category comes from the chat's model
    page.fill("textarea[name=description]", "刘阿姨来电说人民路口的红绿灯坏了两天")
    page.select_option("select[name=channel]", "phone")
    page.click("form.new-ticket button")
    assert "道路与交通" in page.inner_text("dl") and "电话" in page.inner_text("dl")
    page.goto(f"{base}/staff/")
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / "staff-queue.png"), full_page=True)
    page.click(f"text={number}")
    page.select_option("select[name=lead]", "transport")
    page.click("form[action$='/dispatch'] button")
    assert "已派单" in page.inner_text(".status")
    page.goto(f"{base}/staff/tickets/{duplicate}")  # the same manhole reported twice: merge
    page.fill("form[action$='/merge'] input[name=into]", number)
    page.click("form[action$='/merge'] button")
    assert "并单" in page.inner_text(".status")
    page.goto(f"{base}/staff/tickets/{misrouted}")  # rubbish sent to transport by mistake
    page.select_option("select[name=lead]", "transport")
    page.click("form[action$='/dispatch'] button")
    log_out()

    log_in("zhao")
    page.goto(f"{base}/staff/tickets/{misrouted}")
    page.fill("form[action$='/return'] input[name=note]", "垃圾清运归环卫，不属于交通运输局")
    page.click("form[action$='/return'] button")
    assert "退单" in page.inner_text(".status")
    log_out()

    log_in("zhao")
    page.goto(f"{base}/staff/tickets/{number}")
    page.click("form[action$='/start'] button")
    page.fill("form[action$='/resolve'] input[name=note]", "已补装井盖并设置警示")
    page.click("form[action$='/resolve'] button")
    assert "已办结" in page.inner_text(".status")
    assert page.locator("form[action$='/follow_up']").count() == 0  # not the department's to rate its own work
    log_out()

    log_in("wang")  # the dispatcher rings the resident up
    page.goto(f"{base}/staff/tickets/{number}")
    page.select_option("form[action$='/follow_up'] select[name=rating]", "3")
    page.fill("form[action$='/follow_up'] input[name=note]", "修好了，就是等了好几天")
    page.click("form[action$='/follow_up'] button")
    assert "已关闭" in page.inner_text(".status")
    assert "电话回访：基本满意；意见：修好了，就是等了好几天" in page.inner_text("main")
    page.screenshot(path=str(DOCS / "staff-ticket.png"), full_page=True)
    log_out()

    log_in("chen")
    page.goto(f"{base}/staff/dashboard")
    summary = page.inner_text("h1")
    with session_scope(f"sqlite:///{product['var'] / 'minsheng.db'}") as db:
        solved = db.query(Ticket).filter(Ticket.status.in_(["resolved", "closed"])).count()
    assert solved >= 1 and f"办结 {solved} 件" in summary
    assert "居民满意度：满意率 100%" in page.inner_text("main")
    page.screenshot(path=str(DOCS / "staff-dashboard.png"), full_page=True)
    page.goto(f"{base}/staff/")
    with page.expect_download() as download:
        page.click("text=CSV")
    exported = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert number in exported and "139****1111" in exported and "13900001111" not in exported
    log_out()

    page.goto(f"{base}/staff/login")  # the first admin that `minsheng run` created
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", (product["var"] / "admin-password").read_text().strip())
    page.click("button[type=submit]")
    assert number in page.inner_text("table.queue") and "管理员" in page.inner_text("header")
