"""Whole conversations through the REST channel of a real Rasa server and action server; the
tickets are then read back from the PostgreSQL store."""

from __future__ import annotations

import re

import pytest

from bot.store.db import session_scope
from bot.store.schema import Ticket
from bot.textnorm import detect_script

pytestmark = pytest.mark.integration
NUMBER = re.compile(r"MS-\d{8}-\d{4}")


def tickets_of(sender):
    with session_scope() as session:
        return [
            {
                "number": t.number,
                "category": t.category_id,
                "urgency": t.urgency,
                "location": t.location,
                "phone": t.phone,
                "detail": t.detail,
                "status": t.status,
                "description": t.description,
                "department": t.lead_department_id,
                "history": [(e.from_status, e.to_status) for e in t.events],
            }
            for t in session.query(Ticket).filter(Ticket.conversation_id == sender).all()
        ]


def test_report_step_by_step(bot, sender):
    assert "民生小助手" in bot.texts(sender, "你好")
    reply = bot.texts(sender, "小区门口的路灯坏了好几天，晚上黑漆漆的")
    assert reply.count("道路与交通") == 1 and "交通运输局" in reply
    assert "在哪里" in reply
    assert "补充" in bot.texts(sender, "育才路25号 阳光小区东门")
    assert "电话" in bot.texts(sender, "晚上老人出门不方便")
    summary = bot.texts(sender, "我的电话是 139 8888 7777")
    assert "育才路25号 阳光小区东门" in summary and "139****7777" in summary and "确认" in summary
    done = bot.texts(sender, "确认")
    number = NUMBER.search(done).group(0)
    assert "交通运输局" in done
    [ticket] = tickets_of(sender)
    assert ticket["number"] == number
    assert ticket["category"] == "roads" and ticket["department"] == "transport"
    assert ticket["location"] == "育才路25号 阳光小区东门"
    assert ticket["phone"] == "13988887777" and ticket["detail"] == "晚上老人出门不方便"
    assert ticket["description"] == "小区门口的路灯坏了好几天，晚上黑漆漆的"
    assert ticket["status"] == "submitted" and ticket["history"] == [(None, "submitted")]


def test_first_message_with_several_slots_correction_and_double_confirm(bot, sender):
    reply = bot.texts(sender, "幸福小区3栋2单元楼道瓷砖掉了，我电话13812345678")
    assert "房屋与公共设施" in reply and "安全隐患" in reply
    assert "在哪里" not in reply  # the location was already given
    bot.texts(sender, "没有")
    corrected = bot.texts(sender, "不对，是4栋")
    assert "幸福小区4栋2单元楼道" in corrected  # the whole place, its landmark too
    first = bot.texts(sender, "确认")
    second = bot.texts(sender, "确认")
    assert NUMBER.search(first) and not NUMBER.search(second)
    [ticket] = tickets_of(sender)
    assert ticket["location"] == "幸福小区4栋2单元楼道"
    assert ticket["urgency"] == "hazard" and ticket["phone"] == "13812345678"


def test_traditional_resident_is_answered_in_traditional(bot, sender):
    reply = bot.texts(sender, "我們社區的垃圾已經一個禮拜沒人來收了")
    assert "環境衛生" in reply and detect_script(reply) == "traditional"
    assert detect_script(bot.texts(sender, "和平社區3棟後面")) == "traditional"
    bot.texts(sender, "沒有")
    bot.texts(sender, "不留")
    done = bot.texts(sender, "確認")
    assert NUMBER.search(done) and "工單編號" in done
    [ticket] = tickets_of(sender)
    assert ticket["category"] == "sanitation" and ticket["phone"] is None
    assert ticket["location"] == "和平社區3棟後面"


def test_changing_ones_mind_files_nothing(bot, sender):
    bot.texts(sender, "楼下夜宵摊每天吵到凌晨两点")
    reply = bot.texts(sender, "算了，不报了")
    assert "不登记" in reply
    assert tickets_of(sender) == []
    assert "民生小助手" in bot.texts(sender, "你好")  # and the conversation goes on


def test_emergency_advice_first_then_the_ticket(bot, sender):
    replies = bot.say(sender, "家里厨房一股很冲的煤气味，是不是漏气了")
    assert "119" in replies[0]["text"]
    bot.texts(sender, "光明小区2栋501")
    bot.texts(sender, "没有")
    bot.texts(sender, "13700001111")
    bot.texts(sender, "确认")
    [ticket] = tickets_of(sender)
    assert ticket["urgency"] == "emergency" and ticket["category"] == "utilities"


def test_question_in_the_middle_of_a_report(bot, sender):
    bot.texts(sender, "小区里的消防通道被私家车堵死了")
    reply = bot.texts(sender, "你能做什么")
    assert "查询进度" in reply and "在哪里" in reply  # answers, then asks again
    assert "补充" in bot.texts(sender, "锦江花园北门")


def test_status_of_own_tickets_and_of_another_device(bot, sender):
    assert "还没有提交过" in bot.texts(sender, "我的问题处理得怎么样了")
    bot.texts(sender, "绿化带里的树被人砍了好几棵")
    bot.texts(sender, "滨河路中段")
    bot.texts(sender, "没有")
    bot.texts(sender, "13566667777")
    number = NUMBER.search(bot.texts(sender, "确认")).group(0)
    listing = bot.texts(sender, "我的问题处理得怎么样了")
    assert number in listing and "已受理" in listing

    other_device = sender + "-phone"
    typed = number.lower().replace("-", " ")
    asked = bot.texts(other_device, f"{typed} 处理得怎么样了")
    assert number not in asked and "后四位" in asked
    wrong = bot.texts(other_device, "1234")
    assert number not in wrong and "没有找到" in wrong
    bot.texts(other_device, f"{number} 进度")
    right = bot.texts(other_device, "７７７７")
    assert number in right and "已受理" in right


def test_unknown_number_reveals_nothing(bot, sender):
    asked = bot.texts(sender, "MS-20200101-0001 怎么样了")
    assert "后四位" in asked
    assert "没有找到" in bot.texts(sender, "5678")


@pytest.mark.parametrize(
    "message",
    [
        "",
        "   ",
        "😀😀😀",
        "<script>alert('x')</script>",
        "1; DELETE FROM tickets WHERE 1=1",
        "ms-2026-7 的进度",
    ],
    ids=["empty", "spaces", "emoji", "markup", "sql", "malformed-number"],
)
def test_bad_input_gets_an_answer_and_the_conversation_goes_on(bot, sender, message):
    replies = bot.say(sender, message)
    assert replies and all(r.get("text") for r in replies)
    assert "<script>" not in "".join(r["text"] for r in replies)
    assert "民生小助手" in bot.texts(sender, "你好")


def test_a_very_long_report_is_kept_to_a_sane_length(bot, sender):
    bot.texts(sender, "楼道灯坏了，" * 1000)
    bot.texts(sender, "幸福小区1栋")
    bot.texts(sender, "没有")
    bot.texts(sender, "不留")
    bot.texts(sender, "确认")
    [ticket] = tickets_of(sender)
    assert len(ticket["description"]) == 2000


def test_bad_phone_then_good_phone(bot, sender):
    assert "在哪里" in bot.texts(sender, "楼梯间的声控灯坏了好久")
    bot.texts(sender, "锦绣花园9栋")
    bot.texts(sender, "没有")
    assert "不对" in bot.texts(sender, "1234567")
    summary = bot.texts(sender, "１５９ ００００ １１１１")
    assert "159****1111" in summary
    bot.texts(sender, "好的")
    [ticket] = tickets_of(sender)
    assert ticket["phone"] == "15900001111"


def test_unsure_category_offers_choices(bot, sender):
    replies = bot.say(sender, "我要反映问题")
    assert "什么问题" in replies[-1]["text"]
    replies = bot.say(sender, "楼下那个地方一直乱七八糟的没人管")
    buttons = [b for r in replies for b in r.get("buttons", [])]
    assert len(buttons) >= 2 and any(b["title"] == "其他" for b in buttons)
    chosen = buttons[0]
    reply = bot.texts(sender, chosen["payload"])
    assert chosen["title"] in reply and "在哪里" in reply


def test_a_photo_as_the_detail(bot, sender):
    photo = "/photos/" + "c" * 32 + ".jpg"
    bot.texts(sender, "人行道的地砖翘起来好几块，老人容易绊倒")
    bot.texts(sender, "文化路118号门口")
    assert "照片收到了" in bot.texts(sender, '/inform{"photo_url": "%s"}' % photo)
    summary = bot.texts(sender, "不留")
    assert "补充：见照片" in summary
    bot.texts(sender, "确认")
    [ticket] = tickets_of(sender)
    assert ticket["detail"] is None
    with session_scope() as session:
        assert session.query(Ticket).filter(Ticket.conversation_id == sender).one().photo_url == photo
