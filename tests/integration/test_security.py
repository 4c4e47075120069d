"""Attacks on the running processes (action server, Rasa server and web app as `minsheng serve`
starts them; tickets and trackers in PostgreSQL), each performed as an outsider would."""

from __future__ import annotations

import json
import queue
import socket
import time
import urllib.error
import urllib.request
import uuid

import pytest
import socketio

from bot import taxonomy
from bot.settings import ACTIONS_SECRET_HEADER
from bot.store.db import session_scope
from bot.store.schema import Ticket
from bot.store.tickets import NewReport, create_ticket

pytestmark = pytest.mark.integration


def post(url, body, headers=None, raw=None):
    """(status, body) of a POST, whatever the status."""
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def forged_submission(description: str, sender: str = "attacker") -> dict:
    """What the action server received in the attack: a made-up tracker confirming an emergency
    report with someone else's phone number."""
    slots = {
        "report_id": uuid.uuid4().hex,
        "problem_description": description,
        "category": "safety",
        "urgency": "emergency",
        "location": "人民路1号",
        "phone": "13800000000",
        "confirmed": True,
    }
    return {
        "next_action": "action_submit_report",
        "sender_id": sender,
        "version": "3.6.2",
        "tracker": {
            "sender_id": sender,
            "slots": slots,
            "latest_message": {"text": "确认", "intent": {}},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
            "latest_input_channel": "rest",
        },
        "domain": {"slots": {}, "forms": {}, "responses": {}},
    }


def tickets_of(url: str, sender: str) -> int:
    with session_scope(url) as db:
        return db.query(Ticket).filter(Ticket.conversation_id == sender).count()


def test_the_action_server_answers_rasa_only(stack, integration_postgres_url):
    url = f"http://127.0.0.1:{stack.ports['actions']}/webhook"
    sender = f"attacker-{uuid.uuid4().hex[:8]}"
    for headers in ({}, {ACTIONS_SECRET_HEADER: "guessed"}, {"Authorization": "Bearer guessed"}):
        status, _ = post(url, forged_submission("煤气泄漏", sender), headers)
        assert status == 401
    assert post(f"http://127.0.0.1:{stack.ports['actions']}/actions", {}, {})[0] in (401, 405)
    assert tickets_of(integration_postgres_url, sender) == 0


def test_even_with_the_secret_the_store_refuses_what_no_resident_could_send(stack, integration_postgres_url):
    secret = {ACTIONS_SECRET_HEADER: (stack.var / "actions-secret").read_text().strip()}
    sender = f"forged-{uuid.uuid4().hex[:8]}"
    status, body = post(
        f"http://127.0.0.1:{stack.ports['actions']}/webhook", forged_submission("楼" * 1_000_000, sender), secret
    )
    said = json.loads(body)["responses"]
    assert status == 200 and said[0]["response"] == "utter_report_refused" and "太长" in said[0]["reason"]
    assert tickets_of(integration_postgres_url, sender) == 0


def non_loopback_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outward interface
        return probe.getsockname()[0]


def bound_addresses(port: int):
    """Local addresses listening on `port`, from /proc/net/tcp (hex little-endian IPv4)."""
    found = set()
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


@pytest.mark.parametrize("part", ["actions", "rasa", "web"])
def test_every_port_listens_on_loopback_only(stack, part):
    port = stack.ports[part]
    assert bound_addresses(port) == {"127.0.0.1"}
    outward = non_loopback_address()
    assert not outward.startswith("127.")
    with socket.socket() as attempt:
        attempt.settimeout(3)
        assert attempt.connect_ex((outward, port)) != 0  # refused from the network side
    with socket.create_connection(("127.0.0.1", port), timeout=3):
        pass


def test_guessing_phone_digits_with_new_conversations_is_stopped(bot, integration_postgres_url):
    with session_scope(integration_postgres_url) as db:
        ticket, _ = create_ticket(
            db,
            NewReport(
                uuid.uuid4().hex, f"owner-{uuid.uuid4().hex}", "七号楼地下车库漏水", "building", phone="13812345678"
            ),
            taxonomy.load(),
        )
        number = ticket.number
    address = {"X-Forwarded-For": "203.0.113.77"}
    mallory = f"mallory-{uuid.uuid4().hex[:8]}"
    for attempt in range(5):  # a fresh sender id for every guess, and /restart too
        sender = f"{mallory}-{attempt}"
        bot.texts(sender, "/restart", address)
        asked = bot.texts(sender, f"查一下 {number.lower()}", address)
        assert "后四位" in asked
        assert "没有找到" in bot.texts(sender, f"{attempt:04d}", address)
    sender = f"{mallory}-right-digits"
    answer = bot.texts(sender, f"查一下 {number}", address) + bot.texts(sender, "5678", address)
    assert "次数太多" in answer and "车库漏水" not in answer
    other = bot.texts(f"{mallory}-elsewhere", f"查一下 {number}", {"X-Forwarded-For": "198.51.100.23"})
    assert "次数太多" in other  # the ticket itself is locked, wherever the guesses come from


def test_a_huge_message_is_cut_before_the_nlu_and_answered_on_every_channel(stack, bot):
    """Before the cut, one 100,000-character message held Rasa for 11 s, answered [] and left it
    2.5 GB larger. Now the model sees 2,000 characters: the first such message costs the model
    its one-off set-up for that length, and no later one adds to it."""
    before = stack.rss_mb("rasa")
    text = "我家楼下的路灯坏了好几天了，晚上黑漆漆的很危险。" * 5000  # 120,000 characters
    started = time.monotonic()
    answer = bot.texts(f"long-{uuid.uuid4().hex[:8]}", text)
    first = time.monotonic() - started
    assert "2000 个字" in answer and "道路与交通" in answer
    after_first = stack.rss_mb("rasa")
    assert after_first - before < 300, f"Rasa grew by {after_first - before:.0f} MB on one message"
    for _ in range(3):
        assert "2000 个字" in bot.texts(f"long-{uuid.uuid4().hex[:8]}", text)
    callback_sender = f"long-cb-{uuid.uuid4().hex[:8]}"
    assert "2000 个字" in "\n".join(stack.resident_says(callback_sender, text))
    client, answers = socketio.Client(), queue.Queue()
    client.on("bot_uttered", answers.put)
    client.connect(stack.rasa_url, transports=["polling"], socketio_path="/socket.io")
    try:
        session = f"long-io-{uuid.uuid4().hex[:8]}"
        client.emit("session_request", {"session_id": session})
        client.emit("user_uttered", {"message": text, "session_id": session})
        assert "2000 个字" in answers.get(timeout=60)["text"]
    finally:
        client.disconnect()
    after = stack.rss_mb("rasa")
    print(
        f"120,000-character messages: the first answered in {first:.1f} s; Rasa RSS {before:.0f} MB before, "
        f"{after_first:.0f} after the first, {after:.0f} after five more on three channels"
    )
    assert after - after_first < 50, f"Rasa kept growing: {after_first:.0f} → {after:.0f} MB"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"sender": ""},
        {"sender": "   "},
        {"sender": None, "message": "你好"},
        {"message": "你好"},
        [1, 2],
        {"sender": "x", "message": 5},
        {"sender": ["a"]},
        {"sender": "x" * 201, "message": "你好"},
    ],
)
@pytest.mark.parametrize("channel", ["rest", "callback"])
def test_a_message_without_a_proper_sender_is_refused(stack, body, channel):
    status, text = post(f"{stack.rasa_url}/webhooks/{channel}/webhook", body)
    assert status == 400, text


def test_a_body_that_is_not_json_is_refused(stack):
    assert post(f"{stack.rasa_url}/webhooks/rest/webhook", None, raw=b"{not json")[0] == 400


def test_a_socketio_message_without_a_session_is_answered(stack):
    client, answers = socketio.Client(), queue.Queue()
    client.on("bot_uttered", answers.put)
    client.connect(stack.rasa_url, transports=["polling"], socketio_path="/socket.io")
    try:
        client.emit("user_uttered", {"message": "你好"})
        assert "刷新页面" in answers.get(timeout=30)["text"]
    finally:
        client.disconnect()


def test_rasa_answers_browsers_of_the_web_app_only(stack):
    def allowed_origin(origin):
        request = urllib.request.Request(
            f"{stack.rasa_url}/webhooks/rest/webhook",
            method="OPTIONS",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.headers.get("Access-Control-Allow-Origin")

    assert allowed_origin("https://evil.example") in (None, "")
    web_origin = f"http://localhost:{stack.ports['web']}"
    assert allowed_origin(web_origin) == web_origin


def test_internal_notes_never_reach_the_resident(stack):
    """Through the real channels: a department's internal note and a dispatch note stay inside; the
    resident's status answer and the pushed updates carry only what staff send them."""
    sender = f"notes-{uuid.uuid4().hex[:8]}"
    for line in ("建设路路灯坏了好几天了", "建设路18号门口", "没有", "不留", "确认"):
        answer = "\n".join(stack.resident_says(sender, line))
    number = answer.split("工单编号：")[1].split()[0]
    with session_scope(stack.env["MINSHENG_DATABASE_URL"]) as db:
        from bot.staff import accounts

        if accounts.find_user(db, "notes-disp") is None:
            accounts.create_user(db, "notes-disp", "long-enough-pw", "dispatcher")
    staff = stack.staff("notes-disp", "long-enough-pw")
    staff.act(number, "dispatch", lead="transport", note="内部：此人反映过多次，先不要回复")
    staff.act(number, "note", note="仅供内部：涉及施工方纠纷")
    stack.receiver.wait_for(sender, f"{number} 已派给")
    staff.act(number, "reply", note="已安排明天上午检修")
    stack.receiver.wait_for(sender, "已安排明天上午检修")
    staff.act(number, "note", note="仅供内部：施工方电话13300001111")
    status = "\n".join(stack.resident_says(sender, "我的问题处理得怎么样了"))
    heard = "\n".join(stack.receiver.texts(sender))
    assert number in status and "已安排明天上午检修" in status
    for secret in ("此人反映过多次", "涉及施工方纠纷", "13300001111"):
        assert secret not in heard
