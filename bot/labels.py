"""How the product's codes read to people, written once: channels, who did something, the kinds of
history lines and the ticket states. Pages, exports and anything else shown to staff read them
here; the JSON API keeps the codes."""

from __future__ import annotations

from typing import Dict, Mapping, Optional

from bot.store import states

# Where a resident's report came in: the chat channels, then the ways staff take one down for a
# resident (the choices of /staff/new).
RESIDENT_CHANNELS: Dict[str, str] = {
    "socketio": "网页聊天",
    "rest": "接口（REST）",
    "callback": "接口（回调）",
    "wechat": "微信公众号",
    "chat": "在线聊天",
    "cmdline": "命令行测试",
}
FILING_CHANNELS: Dict[str, str] = {
    "face_to_face": "当面接待",
    "phone": "电话",
    "wechat_group": "社区微信群",
    "open_meeting": "问政现场",
    "visit": "“1+N”走访",
}
CHANNELS: Dict[str, str] = {**RESIDENT_CHANNELS, **FILING_CHANNELS}

# Who wrote a history line, when it was not a staff member.
ACTORS: Dict[str, str] = {"resident": "居民", "system": "系统"}

# The kinds of history lines (bot/store/schema.py TicketEvent.kind).
EVENT_KINDS: Dict[str, str] = {"status": "状态变更", "note": "内部备注", "reply": "答复居民"}

STATES: Dict[str, str] = states.LABELS

# A ticket's kind (bot/store/tickets.py KINDS), as 12345 centres count them.
TICKET_KINDS: Dict[str, str] = {"report": "投诉/求助", "enquiry": "咨询"}


def channel(code: Optional[str]) -> str:
    if not code:
        return "未知来源"
    return CHANNELS.get(code, code)


def ticket_kind(code: Optional[str]) -> str:
    return TICKET_KINDS.get(code or "report", code or "")


def state(code: Optional[str]) -> str:
    return STATES.get(code or "", code or "")


def event_kind(code: Optional[str]) -> str:
    return EVENT_KINDS.get(code or "status", code or "")


def actor(code: Optional[str], display_names: Mapping[str, str]) -> str:
    """ "admin:wang" → the staff member's display name (their user name when they have none);
    "resident" → 居民, "system" → 系统. `display_names`: user name → display name."""
    if not code:
        return ACTORS["system"]
    if code in ACTORS:
        return ACTORS[code]
    _role, _, username = code.partition(":")
    username = username or code
    return display_names.get(username) or username
