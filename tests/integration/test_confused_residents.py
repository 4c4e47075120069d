"""Residents who do not answer as expected — an intent before the problem, a vague place, a refusal
with a reason, a photo or a position before any words — in their own words, Simplified and
Traditional, through the REST channel of a real Rasa server and action server. Each conversation is
checked in the ticket row it leaves (or does not leave), not only in the replies."""

from __future__ import annotations

import re
from typing import List, Optional, Tuple

import pytest

from bot.store.db import session_scope
from bot.store.schema import Ticket

pytestmark = pytest.mark.integration
NUMBER = re.compile(r"MS-\d{8}-\d{4}")
PHOTO = "/photos/" + "d" * 32 + ".jpg"
WHERE = ("在哪里", "在哪裡", "什么位置", "什麼位置", "哪个小区", "哪個小區")
ASKED_DESCRIPTION = ("说说遇到了什么问题", "說說遇到了什麼問題")


def talk(bot, sender, turns: List[Tuple[str, Optional[str]]]) -> List[str]:
    """Says each message; where an expectation is given, the answer must contain it. A category
    choice on the way (the model unsure) is answered with the first offered."""
    answers = []
    for message, expected in turns:
        answer = past_the_category(bot, sender, bot.texts(sender, message))
        answers.append(answer)
        if expected is not None:
            assert expected in answer, f"after {message!r} expected {expected!r}, got:\n{answer}"
    return answers


def the_ticket(sender) -> Optional[dict]:
    with session_scope() as session:
        tickets = session.query(Ticket).filter(Ticket.conversation_id == sender).all()
        assert len(tickets) <= 1, "one conversation, one report"
        if not tickets:
            return None
        t = tickets[0]
        return {
            "description": t.description,
            "location": t.location,
            "street": t.street,
            "community": t.community,
            "phone": t.phone,
            "photo_url": t.photo_url,
            "urgency": t.urgency,
            "latitude": t.latitude,
            "longitude": t.longitude,
            "place_unknown": t.place_unknown,
        }


def asked_where(answer: str) -> bool:
    return any(w in answer for w in WHERE)


def past_the_category(bot, sender, answer: str) -> str:
    """Where the model was unsure it offers a choice (buttons, or a number); the first is taken."""
    if "哪一类" in answer or "哪一類" in answer:
        return bot.texts(sender, "1")
    return answer


# ---------------------------------------------------------------- 1. the intent first, the problem after


@pytest.mark.parametrize(
    "opening, problem, place, street, community",
    [
        ("有个事想跟你们反映一下", "南门那个井盖松了，踩上去咣当响", "光明小区南门", "枣山街道", "城南社区"),
        ("我要投訴", "隔壁工地半夜還在打樁，吵得睡不著", "書香名苑3棟", "新华街道", "新华社区"),
        ("喂，我要举报个事儿", "有人在绿化带里私搭菜棚子", "文化苑2栋后面", "新华街道", "文化社区"),
        ("想反映個情況可以嗎", "樓頂水箱一直在漏水，牆都泡軟了", "紡織廠宿舍5棟", "新华街道", "新华社区"),
    ],
)
def test_a_problem_told_after_the_wish_to_report_is_kept(bot, sender, opening, problem, place, street, community):
    first, described = talk(bot, sender, [(opening, None), (problem, None)])
    assert any(a in first for a in ASKED_DESCRIPTION) and not any(a in described for a in ASKED_DESCRIPTION)
    assert asked_where(past_the_category(bot, sender, described))
    summary = talk(bot, sender, [(place, None), ("没有", None), ("不留", None)])[-1]
    assert problem in summary and place in summary
    assert NUMBER.search(bot.texts(sender, "确认"))
    ticket = the_ticket(sender)
    assert ticket["description"] == problem and ticket["location"] == place
    assert (ticket["street"], ticket["community"]) == (street, community)


@pytest.mark.parametrize("short", ["灯不亮", "電梯又壞了"])
def test_a_short_problem_is_understood_once_never_asked_again(bot, sender, short):
    answer = bot.texts(sender, short)
    assert asked_where(answer) and not any(a in answer for a in ASKED_DESCRIPTION)
    talk(bot, sender, [("和平街12号门口", "补充"), ("没有", None), ("13611112222", short)])
    bot.texts(sender, "确认")
    ticket = the_ticket(sender)
    assert ticket["description"] == short and ticket["location"] == "和平街12号门口"
    assert ticket["street"] == "枣山街道" and ticket["phone"] == "13611112222"


# ---------------------------------------------------------------- 2. a vague place, or "don't know"


def test_a_place_that_only_points_gets_a_follow_up(bot, sender):
    assert asked_where(past_the_category(bot, sender, bot.texts(sender, "垃圾桶好几天没人清了，苍蝇乱飞")))
    follow_up = bot.texts(sender, "就我家楼下")
    assert "具体是哪里" in follow_up and "没太看明白" not in follow_up
    talk(bot, sender, [("锦华苑2栋楼下", "补充"), ("没有", None), ("不留", "锦华苑2栋楼下"), ("确认", None)])
    ticket = the_ticket(sender)
    assert ticket["location"] == "锦华苑2栋楼下" and ticket["community"] == "幸福社区"


def test_dont_know_gets_help_and_the_report_goes_on(bot, sender):
    assert asked_where(past_the_category(bot, sender, bot.texts(sender, "路燈壞了，晚上一片黑")))
    helped = bot.texts(sender, "不知道叫什麼地方")
    assert "公交站" in helped and "沒太看明白" not in helped
    talk(bot, sender, [("文化苑門口的公交站", "補充"), ("沒有", None), ("不留", None), ("確認", None)])
    ticket = the_ticket(sender)
    assert ticket["location"] == "文化苑門口的公交站" and ticket["street"] == "新华街道"


def test_after_pointing_three_times_the_words_are_taken_and_flagged(bot, sender):
    assert asked_where(past_the_category(bot, sender, bot.texts(sender, "下水道反味，熏得人头疼")))
    talk(bot, sender, [("这附近", "具体是哪里"), ("就那边", None)])
    taken = bot.texts(sender, "小区里")
    assert "先按“小区里”登记" in taken
    talk(bot, sender, [("没有", None), ("不留", None), ("确认", None)])
    ticket = the_ticket(sender)
    assert ticket["location"] == "小区里" and ticket["place_unknown"]


def test_a_road_alone_is_asked_where_on_it(bot, sender):
    answer = bot.texts(sender, "人民路上的路灯不亮")
    assert "在人民路的什么位置" in answer and "没太看明白" not in answer
    talk(bot, sender, [("靠近88号那个公交站", "补充"), ("没有", None), ("不留", None), ("确认", None)])
    ticket = the_ticket(sender)
    assert ticket["location"] == "人民路靠近88号那个公交站" and ticket["street"] == "枣山街道"


def test_a_building_alone_is_asked_which_compound(bot, sender):
    answer = bot.texts(sender, "3棟2單元樓道的燈不亮，上下樓摸黑")
    assert "哪個小區" in answer
    talk(bot, sender, [("陽光小區", None), ("沒有", None), ("不留", None), ("確認", None)])
    ticket = the_ticket(sender)
    assert ticket["location"] == "陽光小區3棟2單元樓道" and ticket["community"] == "和平社区"


# ---------------------------------------------------------------- 3. a plain report read as something else


@pytest.mark.parametrize(
    "report",
    [
        "滨河路边的下水道盖子翘起来了",
        "我們這條街的路燈一到晚上就滅",
        "怎么楼下一股烧焦的糊味",
        "公交站牌倒了",
        "你好，小区喷泉池里的水臭了好久",
    ],
)
def test_a_message_that_describes_a_problem_is_a_report(bot, sender, report):
    answer = bot.texts(sender, report)
    assert "没太看明白" not in answer and "沒太看明白" not in answer
    assert "提交过问题" not in answer and "提交過問題" not in answer  # not answered as a status question
    assert asked_where(answer) or "哪一类" in answer or "哪一類" in answer


# ---------------------------------------------------------------- 4. places neither invented nor cut


def test_words_that_are_not_a_place_are_not_taken_for_one(bot, sender):
    answer = bot.texts(sender, "路灯坏了好几天，晚上走路看不见")
    assert asked_where(answer)
    talk(bot, sender, [("锦绣花园3栋门口", None), ("没有", None), ("不留", None), ("确认", None)])
    assert the_ticket(sender)["location"] == "锦绣花园3栋门口"


def test_a_named_place_is_kept_whole_with_its_landmark(bot, sender):
    answer = bot.texts(sender, "锦绣江南4栋门口的垃圾三天没人收了")
    assert not asked_where(answer)
    talk(bot, sender, [("没有", None), ("不留", "锦绣江南4栋门口"), ("确认", None)])
    ticket = the_ticket(sender)
    assert ticket["location"] == "锦绣江南4栋门口" and ticket["community"] == "城南社区"


def test_a_corrected_place_keeps_its_last_part(bot, sender):
    talk(bot, sender, [("红星小区6栋门口的路灯坏了", None), ("没有", None), ("不留", None)])
    corrected = bot.texts(sender, "不对，是7栋楼下")
    assert "红星小区7栋楼下" in corrected
    bot.texts(sender, "确认")
    ticket = the_ticket(sender)
    assert ticket["location"] == "红星小区7栋楼下" and ticket["street"] == "滨江街道"


def test_a_photo_sent_alone_is_asked_about_and_kept(bot, sender):
    asked = bot.texts(sender, f'/inform{{"photo_url":"{PHOTO}"}}')
    assert "照片拍的是什么问题" in asked
    talk(bot, sender, [("井盖被人偷了，留了个大洞", None), ("金科城东门", None), ("没有", None), ("不留", None)])
    bot.texts(sender, "确认")
    ticket = the_ticket(sender)
    assert ticket["photo_url"] == PHOTO and ticket["location"] == "金科城东门"


def test_a_place_sent_first_is_kept_for_the_problem(bot, sender):
    assert "那里遇到了什么问题" in bot.texts(sender, "育才小区5栋")
    answer = bot.texts(sender, "楼道里堆满了杂物，过不去人")
    assert not asked_where(answer)
    talk(bot, sender, [("没有", None), ("不留", "育才小区5栋"), ("确认", None)])
    ticket = the_ticket(sender)
    assert ticket["location"] == "育才小区5栋" and ticket["community"] == "新华社区"


# ---------------------------------------------------------------- 5. "no" with a reason files nothing


@pytest.mark.parametrize(
    "refusal",
    ["不报了，我自己去找物业吧", "算了，不用登記了，我打給居委會", "还是先不提交吧，等物业回复再说"],
)
def test_a_refusal_at_the_summary_files_nothing(bot, sender, refusal):
    talk(bot, sender, [("电力宿舍3栋的化粪池满了往外冒", None), ("没有", None), ("不留", "确认")])
    answer = bot.texts(sender, refusal)
    assert "在哪里" not in answer and "在哪裡" not in answer  # not a new report
    bot.texts(sender, "确认")  # the summary is gone: nothing is confirmed by this
    assert the_ticket(sender) is None


def test_a_refusal_in_the_middle_files_nothing(bot, sender):
    talk(bot, sender, [("滨江路上井盖松了", None), ("民生路口那边", None)])
    bot.texts(sender, "我不投诉了，他们已经来修了")
    bot.texts(sender, "确认")
    assert the_ticket(sender) is None


# ---------------------------------------------------------------- emergencies: the advice for the one at hand


@pytest.mark.parametrize(
    "report, needed, not_needed",
    [
        ("电梯卡在7楼了，里面有人出不来", "96333", "120"),
        ("廚房一股煤氣味，好像在漏氣", "開門窗", "96333"),
        ("楼下有人拿刀打架", "110", "96333"),
    ],
)
def test_emergency_advice_is_for_the_emergency_at_hand(bot, sender, report, needed, not_needed):
    answer = bot.texts(sender, report)
    assert needed in answer and not_needed not in answer
    talk(bot, sender, [("江景华庭2栋", None), ("没有", None), ("不留", None), ("确认", None)])
    assert the_ticket(sender)["urgency"] == "emergency"


# ---------------------------------------------------------------- the device's position


def test_a_position_first_names_the_nearest_place_and_asks_where_in_it(bot, sender):
    found = bot.texts(sender, '/share_location{"latitude":30.47055,"longitude":106.63605}')
    assert "锦绣江南附近" in found
    answer = bot.texts(sender, "垃圾堆了三天没人收")
    assert "在锦绣江南的什么位置" in answer
    talk(bot, sender, [("5栋后面", None), ("没有", None), ("不留", "锦绣江南5栋后面"), ("确认", None)])
    ticket = the_ticket(sender)
    assert ticket["location"] == "锦绣江南5栋后面" and ticket["community"] == "城南社区"
    assert (ticket["latitude"], ticket["longitude"]) == (30.47055, 106.63605)


def test_a_position_given_when_asked_where(bot, sender):
    assert asked_where(bot.texts(sender, "路燈不亮，晚上很黑"))
    located = bot.texts(sender, '/share_location{"latitude":30.48621,"longitude":106.61791}')
    assert "書香名苑" in located
    talk(bot, sender, [("3棟門口", None), ("沒有", None), ("不留", None), ("確認", None)])
    ticket = the_ticket(sender)
    assert ticket["location"].endswith("3棟門口") and ticket["community"] == "新华社区"
    assert ticket["latitude"] == 30.48621


# ---------------------------------------------------------------- the resident's script


def test_a_traditional_writer_reads_traditional_by_phrase(bot, sender):
    answers = talk(bot, sender, [("社區門口的路燈全滅了", None), ("滨江社区东门", None), ("沒有", None)])
    anonymous = bot.texts(sender, "不留")
    assert "工單只能" in anonymous and "隻能" not in anonymous and "回覆" in anonymous
    assert all("回復" not in a for a in answers + [anonymous])
