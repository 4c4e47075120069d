"""Filing a report on a resident's behalf (console form or API): checked, classified by the same
model the chat uses, stored with the channel it came through."""
from __future__ import annotations

import uuid
from typing import Optional

from bot import limits, taxonomy
from bot.parsing import find_phone
from bot.staff import audit
from bot.store.db import session_scope
from bot.store.schema import User
from bot.store.tickets import InvalidReport, NewReport, create_ticket
from bot.textnorm import clean_user_text, detect_script, meaningful
from bot.web.staff.classify import classify

CHANNELS = {"face_to_face": "当面接待", "phone": "电话", "wechat_group": "社区微信群", "open_meeting": "问政现场",
            "visit": "“1+N”走访"}


class FilingError(ValueError):
    pass


async def file_for_resident(database_url: Optional[str], user: User, fields: dict, addr: str = "") -> str:
    """The new ticket's number; FilingError says what to fix."""
    if user.role == "supervisor":
        raise PermissionError("督查账号不能代为登记")
    values = {k: str(fields.get(k) or "").strip() for k in ("description", "location", "phone", "channel", "category")}
    if not meaningful(values["description"]):
        raise FilingError("请填写居民反映的问题")
    if values["channel"] not in CHANNELS:
        raise FilingError("请选择来源：" + "、".join(CHANNELS))
    phone = find_phone(values["phone"]) if values["phone"] else None
    if values["phone"] and phone is None:
        raise FilingError("电话号码不对")
    tax = taxonomy.load()
    if values["category"] and values["category"] not in tax.categories:
        raise FilingError("没有这个类别")
    understood = await classify(values["description"])
    if values["category"]:
        category, confidence = values["category"], None
    elif understood:
        category, confidence = understood["category"], understood["category_confidence"]
    else:
        raise FilingError("自动分类暂时不可用，请手动选择类别")
    report = NewReport(
        submission_key=f"staff:{user.username}:{uuid.uuid4().hex}", conversation_id=None,
        description=clean_user_text(values["description"], limits.MESSAGE), category_id=category,
        urgency=understood["urgency"] if understood else "normal", category_confidence=confidence,
        location=values["location"] or None, phone=phone.value if phone else None,
        script=detect_script(values["description"]), channel=values["channel"], actor=f"{user.role}:{user.username}",
    )
    with session_scope(database_url) as db:
        try:
            ticket, _ = create_ticket(db, report, tax)
        except InvalidReport as refused:
            raise FilingError(str(refused)) from refused
        audit.record(db, user.username, "file_on_behalf", ticket.id, addr, channel=values["channel"])
        return ticket.number
