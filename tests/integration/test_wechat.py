"""Residents in WeChat, end to end: a WeChat simulator (tests/support/wechat.py — wechatpy's own
crypto signing and encrypting what "WeChat" posts, and a local API server recording what the product
sends) in front of the real Rasa server, action server and web app, in plain and in safe mode."""

from __future__ import annotations

import base64
import io
import re
import time
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image
from wechatpy.crypto import PrpCrypto
from wechatpy.utils import WeChatSigner

from bot.staff import accounts, workflow
from bot.store import outbox, states
from bot.store.db import session_scope
from bot.store.migrate import upgrade
from bot.store.schema import Notification, Ticket, User
from bot.store.tickets import find_by_number
from tests.support.scratch import free_port, scratch_database
from tests.support.stack import Stack
from tests.support.wechat import AES_KEY, APPID, SECRET, TEMPLATE_ID, TOKEN, Follower, WeChatApi, signed_query

pytestmark = pytest.mark.integration
NUMBER = re.compile(r"MS-\d{8}-\d{4}")


def wechat_stack(tmp_path_factory, model, url: str, api: WeChatApi, safe: bool):
    upgrade(url)
    env = {
        "MINSHENG_WECHAT_TOKEN": TOKEN,
        "MINSHENG_WECHAT_APPID": APPID,
        "MINSHENG_WECHAT_SECRET": SECRET,
        "MINSHENG_WECHAT_API_BASE": api.url,
        "MINSHENG_WECHAT_TEMPLATE_ID": TEMPLATE_ID,
        **({"MINSHENG_WECHAT_AES_KEY": AES_KEY} if safe else {}),
    }
    ports = {"rasa": free_port(), "actions": free_port(), "web": free_port()}
    return Stack(tmp_path_factory.mktemp("wechat-var"), url, model, ports, extra_env=env)


@pytest.fixture(scope="module")
def api():
    server = WeChatApi()
    yield server
    server.close()


@pytest.fixture(scope="module")
def safe(api, trained_model, tmp_path_factory):
    """The stack in safe (encrypted) mode, with its own database."""
    with scratch_database("minsheng_wechat") as url:
        with wechat_stack(tmp_path_factory, trained_model, url, api, safe=True).running() as stack:
            stack.db_url = url
            yield stack


@pytest.fixture(scope="module")
def plain(api, trained_model, tmp_path_factory):
    with scratch_database("minsheng_wechat_plain") as url:
        with wechat_stack(tmp_path_factory, trained_model, url, api, safe=False).running() as stack:
            stack.db_url = url
            yield stack


def follower(stack, api, safe_mode: bool = True) -> Follower:
    openid = "o" + uuid.uuid4().hex[:27]  # an OpenID is 28 characters
    return Follower(f"{stack.rasa_url}/webhooks/wechat/webhook", api, openid, safe_mode)


def ticket_of(stack, number: str) -> Ticket:
    with session_scope(stack.db_url) as db:
        ticket = find_by_number(db, number)
        db.expunge(ticket)
        return ticket


def report(resident: Follower, description: str, place: str) -> str:
    """A whole report in WeChat; the confirmation is tapped in the menu WeChat shows."""
    resident.says(description)
    resident.says(place)
    resident.says("没有")
    summary = "\n".join(resident.says("不留"))
    assert "确认" in summary
    done = "\n".join(resident.taps("确认"))
    found = NUMBER.search(done)
    assert found, done
    return found.group(0)


def work(stack, number: str, resolve: bool = True) -> None:
    with session_scope(stack.db_url) as db:
        staff = db.query(User).filter_by(username="wechat-clerk").one_or_none() or accounts.create_user(
            db, "wechat-clerk", "long-enough-password", "dispatcher"
        )
        ticket = find_by_number(db, number)
        workflow.dispatch(db, staff, ticket, ticket.lead_department_id)
        workflow.start(db, staff, ticket)
        if resolve:
            workflow.resolve(db, staff, ticket, "路灯已经修好了")


def wait_for(api: WeChatApi, openid: str, needle: str, seconds: float = 60, subscription: bool = False) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if subscription:
            for body in api.subscription[openid]:
                if needle in str(body):
                    return str(body)
        else:
            for text in api.texts(openid):
                if needle in text:
                    return text
        time.sleep(0.3)
    raise AssertionError(f"{needle!r} never reached {openid}: {api.texts(openid)} {api.subscription[openid]}")


def notification_status(stack, number: str, kind: str) -> str:
    with session_scope(stack.db_url) as db:
        ticket = find_by_number(db, number)
        return db.query(Notification).filter_by(ticket_id=ticket.id, kind=kind).one().status


# ---------------------------------------------------------------- plain mode


def test_plain_mode_server_check_and_a_report_filed(plain, api):
    query = signed_query(TOKEN, echostr="5739914812913")
    with urllib.request.urlopen(f"{plain.rasa_url}/webhooks/wechat/webhook?{urllib.parse.urlencode(query)}") as r:
        assert r.read().decode() == "5739914812913"
    resident = follower(plain, api, safe_mode=False)
    greeting = resident.send("event", Event="subscribe")
    assert any("民生小助手" in text for text in greeting)
    number = report(resident, "我家楼下的路灯坏了一个星期了，晚上特别黑", "育才路25号阳光小区3栋")
    ticket = ticket_of(plain, number)
    assert ticket.conversation_id == resident.openid and ticket.channel == "wechat"
    assert "阳光小区" in ticket.location


def test_a_bad_signature_is_refused_and_nothing_is_sent(plain, api):
    resident = follower(plain, api, safe_mode=False)
    forged = {**signed_query(TOKEN), "signature": "0" * 40}
    assert resident.post(resident.xml("text", Content="路灯坏了"), forged)[0] == 403
    wrong_key = signed_query("not-the-token")
    assert resident.post(resident.xml("text", Content="路灯坏了"), wrong_key)[0] == 403
    stale = signed_query(TOKEN)  # a captured request replayed an hour later
    stale = {**stale, "timestamp": str(int(stale["timestamp"]) - 3600)}
    signer = WeChatSigner()
    signer.add_data(TOKEN, stale["timestamp"], stale["nonce"])
    assert resident.post(resident.xml("text", Content="路灯坏了"), {**stale, "signature": signer.signature})[0] == 403
    time.sleep(3)
    assert api.texts(resident.openid) == []


# ---------------------------------------------------------------- safe (encrypted) mode


def test_safe_mode_server_check_decrypts_echostr(safe, api):
    query = signed_query(TOKEN)
    encrypted = PrpCrypto(base64.b64decode(AES_KEY + "=")).encrypt("echo-8201", APPID).decode()
    signer = WeChatSigner()
    signer.add_data(TOKEN, query["timestamp"], query["nonce"], encrypted)
    query.update(echostr=encrypted, msg_signature=signer.signature)
    with urllib.request.urlopen(f"{safe.rasa_url}/webhooks/wechat/webhook?{urllib.parse.urlencode(query)}") as r:
        assert r.read().decode() == "echo-8201"


def test_safe_mode_report_location_and_photo(safe, api):
    resident = follower(safe, api)
    # a plain body is refused in safe mode: only the encrypted envelope is believed
    assert resident.post(resident.xml("text", Content="路灯坏了"), signed_query(TOKEN))[0] == 403
    resident.says("小区垃圾堆了三天没人收，臭得不行")
    where = resident.send("location", Location_X="30.47055", Location_Y="106.63605", Scale="16", Label="锦绣江南")
    assert any("锦绣江南" in text for text in where)
    resident.says("5栋后面")
    photo = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 30)).save(photo, "JPEG")
    api.media["media-photo-1"] = photo.getvalue()
    got = resident.send("image", PicUrl="http://mmbiz.example/1.jpg", MediaId="media-photo-1")
    assert any("照片收到了" in text for text in got)
    resident.says("没有")
    resident.says("不留")
    number = NUMBER.search("\n".join(resident.taps("确认"))).group(0)
    ticket = ticket_of(safe, number)
    assert abs(ticket.latitude - 30.47055) < 1e-6 and abs(ticket.longitude - 106.63605) < 1e-6
    assert "锦绣江南" in ticket.location and "5栋" in ticket.location
    assert ticket.photo_url and (safe.var / "uploads" / ticket.photo_url.rsplit("/", 1)[1]).is_file()


def test_retries_of_one_message_get_one_answer(safe, api):
    resident = follower(safe, api)
    xml = resident.xml("text", Content="你好", msg_id=424242000 + int(time.time()) % 100000)
    with ThreadPoolExecutor(4) as pool:  # WeChat's first try and its retries, close together
        results = list(pool.map(lambda _: resident.post(xml), range(4)))
    assert all(result == (200, "success") for result in results)
    answers = resident.answers_after(0)
    time.sleep(2)
    assert len(api.texts(resident.openid)) == len(answers) and sum("民生小助手" in a for a in answers) == 1


def test_voice_and_unknown_messages(safe, api):
    resident = follower(safe, api)
    heard = resident.send("voice", MediaId="m-voice", Format="amr", Recognition="楼道的灯坏了，黑乎乎的")
    assert any("在哪里" in text or "哪个小区" in text or "位置" in text for text in heard), heard
    silent = resident.send("voice", MediaId="m-voice-2", Format="amr", Recognition="")
    assert any("用文字" in text for text in silent)
    video = resident.send("video", MediaId="m-video", ThumbMediaId="m-thumb")
    assert any("文字" in text for text in video)


def test_an_expired_token_is_fetched_again_once(safe, api):
    resident = follower(safe, api)
    resident.says("你好")
    fetched = api.token_fetches
    api.expire_tokens()
    answers = resident.says("你好呀")
    assert answers and api.token_fetches == fetched + 1


def test_updates_and_survey_by_custom_message_and_a_reopening(safe, api):
    resident = follower(safe, api)
    number = report(resident, "我家楼下的路灯坏了一个星期了，晚上特别黑", "育才路25号阳光小区3栋")
    work(safe, number)
    assert number in wait_for(api, resident.openid, "满意吗")
    menu = api.last_menu(resident.openid)
    assert [item["content"].split(". ", 1)[1] for item in menu["list"]][-2:] == ["不满意", "非常不满意"]
    assert any("意见或建议" in text for text in resident.taps("4. 不满意"))
    answer = "\n".join(resident.says("灯还是不亮，根本没修好"))
    assert "重新交给" in answer
    ticket = ticket_of(safe, number)
    assert ticket.status == states.REOPENED and ticket.flagged


def test_after_the_window_updates_and_the_survey_go_as_subscription_messages(safe, api):
    resident = follower(safe, api)
    number = report(resident, "小区门口垃圾堆了三天没人清运", "幸福小区北门")
    api.window_closed.add(resident.openid)  # 48 hours later, as WeChat answers them
    work(safe, number)  # dispatched, in progress, resolved with the survey
    deadline = time.monotonic() + 60
    while notification_status(safe, number, "resolved") != outbox.DELIVERED and time.monotonic() < deadline:
        time.sleep(0.3)
    assert notification_status(safe, number, "dispatched") == outbox.DELIVERED
    assert notification_status(safe, number, "resolved") == outbox.DELIVERED
    sent = api.subscription[resident.openid]
    assert len(sent) == 3 and all(body["template_id"] == TEMPLATE_ID for body in sent)  # one per update
    assert all(body["data"]["character_string1"]["value"] == number for body in sent)
    # the resident opens the account again and answers the survey the notification told them of
    api.window_closed.discard(resident.openid)
    answer = "\n".join(resident.says("不满意，垃圾还是没人清运"))
    assert "重新交给" in answer
    assert ticket_of(safe, number).status == states.REOPENED


def test_an_unfollowed_resident_gets_the_update_when_they_come_back(safe, api):
    resident = follower(safe, api)
    number = report(resident, "楼道里的灯坏了好几天了", "幸福小区2栋1单元")
    api.unfollowed.add(resident.openid)
    work(safe, number, resolve=False)
    deadline = time.monotonic() + 60
    while notification_status(safe, number, "dispatched") != outbox.WAITING and time.monotonic() < deadline:
        time.sleep(0.3)
    assert notification_status(safe, number, "dispatched") == outbox.WAITING
    api.unfollowed.discard(resident.openid)
    back = "\n".join(resident.send("event", Event="subscribe"))
    assert number in back and "派" in back
