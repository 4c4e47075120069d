"""Danger patterns: indirect emergencies are caught, feared ones are not taken for real."""

import pytest

from bot.classifier.urgency_rules import rule_urgency
from bot.nlu.category import combine_urgency


@pytest.mark.parametrize(
    "text",
    [
        "闻到一股煤气味",
        "樓梯間都是天然氣的味道",
        "家里燃气表呲呲响",
        "电梯里有人出不来",
        "我被关在电梯里了",
        "对面楼冒黑烟了",
        "有个老人晕倒在楼道里叫不醒",
        "大树倒下来砸到人了",
        "两伙人打起来了，有人在流血",
    ],
)
def test_indirect_emergencies(text):
    assert rule_urgency(text) == "emergency"


@pytest.mark.parametrize(
    "text",
    [
        "安全出口被锁死了，着火了往哪跑",
        "消防通道被堵，万一起火消防车进不来",
        "人行道的井盖翘起来了",
        "路口的人孔蓋鬆了",
        "外墙瓷砖一直往下掉",
        "楼道里有人给电动车充电",
        "路面塌了一个大坑",
    ],
)
def test_hazards_and_feared_dangers(text):
    assert rule_urgency(text) == "hazard"


@pytest.mark.parametrize("text", ["楼道灯不亮", "楼道的墙皮掉了一些", "物业费太贵", "广场舞太吵"])
def test_ordinary_problems_are_left_to_the_model(text):
    assert rule_urgency(text) is None


def test_rules_raise_the_models_urgency_but_never_lower_it():
    normal_first = [{"name": "normal", "confidence": 0.8}, {"name": "hazard", "confidence": 0.2}]
    assert combine_urgency("闻到煤气味", normal_first)["name"] == "emergency"
    assert combine_urgency("楼道灯不亮", normal_first) == {"name": "normal", "confidence": 0.8, "source": "model"}
    emergency_first = [{"name": "emergency", "confidence": 0.7}, {"name": "normal", "confidence": 0.3}]
    assert combine_urgency("人行道的井盖翘起来了", emergency_first)["name"] == "emergency"
