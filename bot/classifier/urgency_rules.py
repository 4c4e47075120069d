"""Signals of danger that must never depend on how many training examples said them the same way.

The trained urgency model handles the general case; these patterns make sure indirect but
unmistakable emergencies ("闻到一股煤气味", "电梯里有人出不来") are never classed lower, and
that a fire only imagined ("万一着火了往哪跑") is not taken for one burning now."""

from __future__ import annotations

import re
from typing import Optional

from bot.textnorm import normalize

_GAS = r"(煤气|燃气|天然气|液化气|瓦斯)"
# Each kind of emergency gets its own advice (what to do first, whom to call).
EMERGENCY_KINDS = {
    "gas": [
        _GAS + r"的?(味|泄漏|泄露|漏了|漏气|在漏)",
        r"闻到.{0,6}" + _GAS,
        _GAS + r".{0,12}(呲呲|嘶嘶|滋滋)",
        r"(漏气了|漏气啦).{0,10}(味|臭)",
    ],
    "fire": [r"(着火|起火|失火|火灾|烧起来|冒浓烟|冒黑烟|浓烟滚滚|火苗)"],
    "lift": [
        r"(困|关|卡)在电梯",
        r"电梯.{0,10}(被困|困住|困人|关着|有人出不来|人出不来|卡住了人|里面还有人|里面有人)",
    ],
    "injury": [
        r"(有人|老人|小孩|孩子).{0,6}(晕倒|昏倒|倒地|不省人事|没有呼吸|叫不醒|掉进|落水)",
        r"(砸到|压到|压住|砸伤|砸中)了?人|人被(压|砸)",
        r"(流了很多血|血流不止|头破血流)",
        r"(要跳楼|想跳楼|轻生)",
        r"(触电|电死人)",
    ],
    "crime": [
        r"(打架|斗殴|砍人|持刀|动刀|拿刀|打起来)",
        r"(有人|人).{0,12}(流血|被砍|被捅|砍伤)",
    ],
    "collapse": [r"(房子|房屋|楼|墙).{0,4}(塌了|倒塌|垮了)"],
}
_KIND_PATTERNS = {kind: re.compile("|".join(patterns)) for kind, patterns in EMERGENCY_KINDS.items()}
EMERGENCY = re.compile("|".join(p for patterns in EMERGENCY_KINDS.values() for p in patterns))
# "万一着火了往哪跑", "如果起火" — danger feared, not happening: a hazard at most.
_HYPOTHETICAL_BEFORE = re.compile(r"(万一|如果|要是|一旦|假如|怕|担心|防止)\W{0,2}\w{0,3}$")
_HYPOTHETICAL_AFTER = re.compile(r"^\w{0,2}(往哪跑|怎么办|咋办|怎么逃|逃不出)")

HAZARD = re.compile(
    "|".join(
        [
            r"(瓷砖|磁砖|外墙|砖|玻璃|广告牌|招牌|空调外机|水泥块|檐).{0,8}(掉|脱落|砸|松动|要掉|往下落|剥落)",
            r"(井盖|人孔盖|下水道盖|水沟盖|雨水篦子).{0,8}(没了|丢了|缺失|不见|被偷|坏了|松|翘|翻|塌|响)",
            r"(消防通道|安全出口|安全门|消防车道).{0,8}(堵|占|锁|停满|被占)",
            r"(楼道|走廊|楼梯间|家里|屋里|车库).{0,8}(充电|飞线)",
            r"(电动车|电瓶车).{0,8}(充电|飞线)",
            r"(飞线充电|私拉电线|电线裸露|电线垂|电线掉|电线.{0,4}露在外面)",
            r"(裂缝|开裂|倾斜|下沉|塌陷|塌了一个|大坑|深坑|天坑)",
            r"(树|树枝).{0,8}(要倒|快倒|压到|倒在|断了|砸|歪了)",
            r"(灭火器|消防栓).{0,6}(没有|过期|坏|空|没水)",
            r"(护栏|栏杆).{0,6}(断|坏|松|没了)",
        ]
    )
)


def _real(pattern: "re.Pattern[str]", norm: str) -> bool:
    for match in pattern.finditer(norm):
        before, after = norm[max(0, match.start() - 6) : match.start()], norm[match.end() : match.end() + 6]
        if not (_HYPOTHETICAL_BEFORE.search(before) or _HYPOTHETICAL_AFTER.search(after)):
            return True
    return False


def _real_emergency(norm: str) -> bool:
    return _real(EMERGENCY, norm)


def emergency_kind(text: str) -> Optional[str]:
    """Which emergency is happening now (gas, fire, lift, injury, crime, collapse), the first one
    named when several are; None when no pattern says so (the model may still call it one)."""
    norm = normalize(text)
    found = [(m.start(), kind) for kind, p in _KIND_PATTERNS.items() for m in [p.search(norm)] if m]
    for _, kind in sorted(found):
        if _real(_KIND_PATTERNS[kind], norm):
            return kind
    return None


def rule_urgency(text: str) -> Optional[str]:
    """'emergency' or 'hazard' when a pattern says so, else None."""
    norm = normalize(text)
    if _real_emergency(norm):
        return "emergency"
    if EMERGENCY.search(norm) or HAZARD.search(norm):
        return "hazard"
    return None
