"""Signals of danger that must never depend on how many training examples said them the same way.

The trained urgency model handles the general case; these patterns make sure indirect but
unmistakable emergencies ("闻到一股煤气味", "电梯里有人出不来") are never classed lower."""
from __future__ import annotations

import re
from typing import Optional

from bot.textnorm import normalize

EMERGENCY = re.compile(
    "|".join(
        [
            r"(煤气|燃气|天然气|液化气)(味|泄漏|泄露|漏了|漏气|在漏)",
            r"闻到.{0,6}(煤气|燃气|天然气)",
            r"(着火|起火|失火|火灾|烧起来|冒浓烟|浓烟滚滚|火苗)",
            r"(困|关|卡)在电梯",
            r"电梯.{0,8}(被困|困住|困人|关着人|有人出不来|人出不来|卡住了人)",
            r"(有人|老人|小孩|孩子).{0,6}(晕倒|昏倒|倒地|不省人事|没有呼吸|掉进|落水)",
            r"(打架|斗殴|砍人|持刀|动刀).{0,10}(流血|受伤|见血|砍伤)?",
            r"(流了很多血|血流不止)",
            r"(要跳楼|想跳楼|轻生)",
            r"(触电|电死人)",
            r"(房子|房屋|楼|墙).{0,4}(塌了|倒塌|垮了)",
        ]
    )
)

HAZARD = re.compile(
    "|".join(
        [
            r"(瓷砖|外墙|墙皮|砖|玻璃|广告牌|招牌|空调外机).{0,8}(掉|脱落|砸|松动|要掉|往下落)",
            r"井盖.{0,6}(没了|丢了|缺失|不见|被偷|坏了|松动|翻了|塌)",
            r"(消防通道|安全出口|消防车道).{0,8}(堵|占|锁|停满|被占)",
            r"(楼道|走廊|家里|屋里).{0,8}(充电|飞线)",
            r"(电动车|电瓶车).{0,8}(充电|飞线)",
            r"(飞线充电|私拉电线|电线裸露|电线垂|电线掉)",
            r"(裂缝|开裂|倾斜|下沉|塌陷|坑很深|天坑)",
            r"(树|树枝).{0,8}(要倒|快倒|压到|倒在|断了|砸)",
            r"(灭火器|消防栓).{0,6}(没有|过期|坏|空)",
            r"(护栏|栏杆).{0,6}(断|坏|松|没了)",
        ]
    )
)


def rule_urgency(text: str) -> Optional[str]:
    """'emergency' or 'hazard' when a pattern says so, else None."""
    norm = normalize(text)
    if EMERGENCY.search(norm):
        return "emergency"
    if HAZARD.search(norm):
        return "hazard"
    return None
