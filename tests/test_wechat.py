"""The WeChat channel's parts that need no Rasa: the keys shared between processes, the access_token
fetched once for all of them, the menu a resident answers by tapping or by number, the settings."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest

from bot import settings as settings_module
from bot.channels.wechat import TOKEN_KEY, OfficialAccount, WeChatInput, menu_of
from bot.store import channel_keys
from bot.store.db import session_scope
from bot.store.schema import ChannelKey
from tests.support.wechat import APPID, SECRET, TOKEN, WeChatApi


@pytest.fixture
def api():
    server = WeChatApi()
    yield server
    server.close()


def config(api: WeChatApi) -> settings_module.WeChat:
    return settings_module.WeChat(token=TOKEN, appid=APPID, secret=SECRET, api_base=api.url)


def test_a_message_id_is_taken_once_until_it_expires(database_url):
    now = dt.datetime(2026, 11, 26, 12, 0)
    with session_scope() as db:
        assert channel_keys.take_once(db, "wechat:msg:1", 60, now)
        assert not channel_keys.take_once(db, "wechat:msg:1", 60, now)
        assert channel_keys.take_once(db, "wechat:msg:2", 60, now)
        assert channel_keys.take_once(db, "wechat:msg:1", 60, now + dt.timedelta(seconds=61))
        assert channel_keys.forget_expired(db, now + dt.timedelta(hours=1)) == 2


def test_a_lease_has_one_holder_until_it_runs_out(database_url):
    now = dt.datetime(2026, 11, 26, 12, 0)
    with session_scope() as db:
        assert channel_keys.lease(db, "refresh", "a", 30, now)
        assert not channel_keys.lease(db, "refresh", "b", 30, now)
        assert channel_keys.lease(db, "refresh", "a", 30, now)  # renewed by its holder
        assert channel_keys.lease(db, "refresh", "b", 30, now + dt.timedelta(seconds=31))
        channel_keys.release(db, "refresh", "a")  # not a's any more: nothing happens
        assert not channel_keys.lease(db, "refresh", "a", 30, now + dt.timedelta(seconds=32))


def test_every_process_uses_one_token_fetched_once(database_url, api):
    clients = [OfficialAccount(config(api)) for _ in range(3)]  # as three Rasa processes
    tokens = []

    def use(client):
        tokens.append(client.access_token)

    threads = [threading.Thread(target=use, args=(c,)) for c in clients * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert api.token_fetches == 1 and len(set(tokens)) == 1


def test_an_expired_token_is_replaced_once_and_the_call_retried(database_url, api):
    first, second = OfficialAccount(config(api)), OfficialAccount(config(api))
    first.message.send_text("o-resident", "您好")
    api.expire_tokens()
    first.message.send_text("o-resident", "工单已受理")  # 42001 → a new token → sent
    second.message.send_text("o-resident", "工单已派单")  # the new token, not another fetch
    assert api.token_fetches == 2
    assert [m["text"]["content"] for m in api.sent["o-resident"]] == ["您好", "工单已受理", "工单已派单"]


def test_the_token_is_refreshed_before_it_expires(database_url, api):
    client = OfficialAccount(config(api))
    old = client.access_token
    with session_scope() as db:
        row = db.get(ChannelKey, f"wechat:session:{TOKEN_KEY}")
        row.expires_at = dt.datetime.utcnow() + dt.timedelta(seconds=120)  # two minutes left
    assert client.access_token != old and api.token_fetches == 2


def test_a_menu_is_answered_by_tapping_or_by_its_number(database_url):
    channel = WeChatInput(settings_module.WeChat(token=TOKEN, appid=APPID, secret=SECRET))
    buttons = [{"title": "确认提交", "payload": "/affirm"}, {"title": "修改", "payload": "/deny"}]
    menu = menu_of("请核对：路灯坏了，幸福小区3栋", buttons, "a1b2c3")
    assert [item["content"] for item in menu["list"]] == ["1. 确认提交", "2. 修改"]
    with session_scope() as db:
        stored = {"stamp": "a1b2c3", "items": [{"payload": b["payload"], "title": b["title"]} for b in buttons]}
        channel_keys.put(db, "wechat:menu:o-1", json.dumps(stored), 3600)
    assert channel._menu_choice("o-1", "a1b2c31", "1. 确认提交") == ("/affirm", "确认提交")
    assert channel._menu_choice("o-1", None, " 2 ") == ("/deny", "修改")
    assert channel._menu_choice("o-1", None, "3") == (None, "")  # no such item: read as words
    assert channel._menu_choice("o-1", "ffffff1", "1. 确认提交") == (None, "")  # an older menu's item
    assert channel._menu_choice("o-2", None, "1") == (None, "")  # no menu shown


def test_wechat_settings_are_checked():
    base = {"MINSHENG_WECHAT_TOKEN": TOKEN}
    with pytest.raises(settings_module.SettingsError, match="MINSHENG_WECHAT_APPID"):
        settings_module.Settings.from_env(base)
    with pytest.raises(settings_module.SettingsError, match="43-character"):
        settings_module.Settings.from_env(
            {**base, "MINSHENG_WECHAT_APPID": APPID, "MINSHENG_WECHAT_SECRET": SECRET, "MINSHENG_WECHAT_AES_KEY": "x"}
        )
    with pytest.raises(settings_module.SettingsError, match="TEMPLATE_FIELDS"):
        settings_module.Settings.from_env({"MINSHENG_WECHAT_TEMPLATE_FIELDS": "ticket=thing1"})
    ok = settings_module.Settings.from_env(
        {
            **base,
            "MINSHENG_WECHAT_APPID": APPID,
            "MINSHENG_WECHAT_SECRET": SECRET,
            "MINSHENG_WECHAT_TEMPLATE_FIELDS": "number=character_string9,news=thing1,time=time2",
        }
    ).wechat
    assert ok.enabled and not ok.safe_mode and dict(ok.template_fields)["number"] == "character_string9"
    assert not settings_module.Settings.from_env({}).wechat.enabled
