"""Signals in a resident's words that must not depend on how DIET weighs a sentence it has not seen:
a refusal ("不报了，我自己去找物业吧") and a described problem ("人民路上的路灯不亮"). Read by the NLU
pipeline (bot/nlu/intent_rules.py) and by the actions, so free of Rasa."""

from __future__ import annotations

import re
from typing import Iterable, Optional

from bot.textnorm import normalize

_FILE = r"(报|反映|投诉|举报|提交|登记|弄|报修)"
REFUSAL = re.compile(
    "|".join(
        [
            rf"(不|别|甭)(用|要|想)?(再)?{_FILE}了",
            rf"(不|别)(用|要)?{_FILE}(啦|吧)",
            rf"先不{_FILE}",
            rf"不{_FILE}这个了",
            r"取消(掉)?(这次|这个)?(反映|投诉|工单|提交|登记|举报)",
            r"^(算了|取消)",
        ]
    )
)

# Something is wrong: broken, blocked, leaking, dirty, noisy, missing, dangerous, unattended.
PROBLEM = re.compile(
    "|".join(
        [
            r"坏(了|掉|的)|不亮|不灭|灭了|就灭|老是?灭|总是?灭|一闪一闪|闪个不停|黑(漆漆|乎乎|咕隆咚)|不(通|转|动|运行|好使|管用|出水|来水|来电)",
            r"没(人|有人)(管|修|收|扫|清|理|处理)|(没|不)人管",
            r"堵(了|住|死|塞)|漏|渗水|积水|冒(水|烟|黑烟)|溢",
            r"臭|异味|糊味|焦味|烧焦|腥味|怪味|味道(很|太|特别)?(大|重|难闻)|难闻|熏",
            r"吵|噪音|噪声|扰民|轰隆|敲|电钻|砸墙|施工|装修|广场舞|喇叭",
            r"乱(扔|倒|丢|停|放|搭|建|摆|贴|涂|画|排|堆)|占(用|道|了)|堆(满|着|了)",
            r"塌|裂(了|开|缝)|掉(了|下来)|倒(了|在)|歪了|松(了|动)|翘(起|了)|断(了|掉)",
            r"(停|没)(水|电|气|暖)|断(水|电|气)|(水|电|气|暖气)(没了|停了|不热)",
            r"脏|垃圾|粪|污水|油烟|尘|灰大|违建|违章|私搭|飞线",
            r"坑|破(了|损|洞)|缺(了|失)|被偷|(?<=[\u4e00-\u9fa5])(?<![有就都也])(没了|丢了)",
            r"危险|隐患|着火|起火|冒烟",
        ]
    )
)

# A status question says which ticket or asks how it is going; without such a word "怎么还是这么臭"
# is a complaint, not a status question.
_STATUS_WORDS = re.compile(
    r"进度|工单|编号|单号|处理(得|的)?(怎么样|如何|到哪)|办(得|的)?怎么样|结果|回复|查(一下|查|询)|ms-?\d"
)

# A question (咨询) asks how, where, when, how much or what it takes; without such words a message
# that says what is wrong ("怎么楼下一股烧焦的糊味") is a report, whatever DIET made of its "怎么".
_ASKING = re.compile(
    r"几点|什么时(候|间)|多久|多长时间|多少钱|收费|在哪|哪里(可以|能|办|看|查|交|领)|去哪|"
    r"(要|需要|得)(带|准备|提供|交)?(什么|哪些)|材料|手续|流程|条件|标准|规定|允许|是否|如何|"
    r"可以.{0,10}吗|能不能|可不可以|怎么(交|缴|办|补办|申请|查|核实|确认|知道|登记|预约|报名|领|算|收|弄|处理的)"
)

# A question's form, beside what it asks about: a yes/no ending, which, when, how many, whether it is
# allowed, who, what. Not 怎么 or 为什么, which residents complain with ("怎么又停水了", "为什么路灯老是不亮"), nor
# "有人管吗". DIET's "question" about something wrong that has this form stays a question
# ("不分类扔垃圾要罚款吗", "停水会提前几天通知").
_QUESTION_FORM = re.compile(
    r"(?<!人管)[吗嘛][？?。]*$|哪(里|儿|个|些|几|一|类|种)|几(点|天|月|号|种|类|年|岁|次|个)|多少|"
    r"是不是|会不会|要不要|合法|违法|犯法|算(不算|什么|哪)|谁|(?<!为)什么"
)

# Anything that asks at all; a "question" without any of it that ends in where something is ("小区里",
# "楼下那边"), said while the report form asks where, is the answer to that.
_QUESTIONING = re.compile(r"[吗呢么？?]|什么|怎|如何|哪|几|多少|谁|为(什么|啥)|啥|咋|能否|有没有|是不是|要不要|请问")
_WHERE_ENDING = re.compile(r"(里|里面|边|旁边|附近|门口|对面|楼下|楼上|底下|这儿|那儿|这里|那里|路口|拐角)$")

# A yes in words to the offer to pass a question on to staff ("好，麻煩幫我轉給工作人員", the offer's
# button "好的，转给工作人员" typed out): DIET reads "帮我" as a report starting and "转给" as anything.
# Only when it begins with a yes or a please, and asks nothing (_QUESTIONING: "好，怎么转人工" is a
# question).
_YES_PASS_ON = re.compile(
    r"^(好的?|好啊|好吧|行吧?|可以|嗯+|对|要|ok|那就|麻烦)[^，,。！!]{0,2}[，,。！!～~\s]*.{0,12}转(给|到|交|过去|一下|人工|吧|$)"
)

# A no said first ("没有，还是不亮", "不是，我说的是路灯不亮"): a no that goes on to say what is wrong is
# still a no. Without it, a short problem said with a not ("电梯不动了", "不出水", "暖气不热") that DIET
# reads as a no is a report.
_NO_FIRST = re.compile(r"^(不是|不对|不用|没有|没|不要|不)(啦|呢|了|的|吧|喔|哦)?[，,。！!…\s～~]")

# DIET's readings that a problem description overrides ("stop" only where no refusal was said).
_OVERRIDABLE = {"nlu_fallback", "greet", "inform", "out_of_scope", "start_report", "check_status", "stop"}
# DIET's readings that a named place or phone turns into an answer ("不對，是8棟" is a correction; a
# bare "红星小区" that DIET reads as a hello is the place asked for).
_ANSWERS = {"nlu_fallback", "affirm", "deny", "greet"}


def is_refusal(text: str) -> bool:
    return bool(REFUSAL.search(normalize(text)))


def says_pass_it_on(text: str) -> bool:
    plain = normalize(text).strip()
    return (
        len(plain) <= 20
        and bool(_YES_PASS_ON.search(plain))
        and not _QUESTIONING.search(plain)
        and not describes_problem(text)
    )


def describes_problem(text: str) -> bool:
    return bool(PROBLEM.search(normalize(text)))


def corrected_intent(text: str, intent: Optional[str], names: Iterable[str] = ()) -> Optional[str]:
    """The intent these rules read, or None when DIET's reading stands. `names`: the entities the
    patterns found in the message (location, phone, ticket_number)."""
    if not text or text.startswith("/"):
        return None
    if is_refusal(text):
        return None if intent == "stop" else "stop"
    if says_pass_it_on(text):
        return None if intent == "affirm" else "affirm"
    if intent == "ask_question" and not describes_problem(text):
        plain = normalize(text).strip("，。！!,. ")
        asks = _QUESTIONING.search(plain) or _ASKING.search(plain)
        if len(plain) <= 10 and _WHERE_ENDING.search(plain) and not asks:
            return "inform"
    if not describes_problem(text):
        # "不對，是8棟" (DIET: unclear, or a bare no) still names a place: an answer, not noise or a yes/no
        return "inform" if intent in _ANSWERS and {"location", "phone"} & set(names) else None
    if intent == "ask_question":
        plain = normalize(text)
        return None if _ASKING.search(plain) or _QUESTION_FORM.search(plain) else "report_problem"
    if intent == "deny":
        return None if _NO_FIRST.match(normalize(text).strip()) else "report_problem"
    if intent not in _OVERRIDABLE:
        return None
    if intent == "check_status" and _STATUS_WORDS.search(normalize(text)):
        return None
    return "report_problem"
