"""Filing a report on a resident's behalf (console form or API): checked, classified by the same
model the chat uses (the caller asks Rasa and passes what it understood), stored with the channel
it came through."""

from __future__ import annotations

import uuid
from typing import Optional

from sqlalchemy.orm import Session

from bot import limits, taxonomy
from bot.errors import InvalidInput, NotPermitted
from bot.parsing import find_phone
from bot.staff import audit, permissions
from bot.store.schema import User
from bot.store.tickets import NewReport, create_ticket
from bot.textnorm import clean_user_text, detect_script, meaningful

CHANNELS = {
    "face_to_face": "当面接待",
    "phone": "电话",
    "wechat_group": "社区微信群",
    "open_meeting": "问政现场",
    "visit": "“1+N”走访",
}
FIELDS = ("description", "location", "phone", "channel", "category")


def values_of(fields: dict) -> dict:
    return {k: str(fields.get(k) or "").strip() for k in FIELDS}


def file_for_resident(session: Session, user: User, fields: dict, understood: Optional[dict], addr: str = "") -> str:
    """The new ticket's number. `understood`: the chat model's reading of the description
    (RasaApi.classify), None when it could not be asked. InvalidInput says what to fix."""
    if not permissions.allows(user, "file_on_behalf"):
        raise NotPermitted("督查账号不能代为登记")
    values = values_of(fields)
    if not meaningful(values["description"]):
        raise InvalidInput("请填写居民反映的问题", field="description")
    if values["channel"] not in CHANNELS:
        raise InvalidInput("请选择来源：" + "、".join(CHANNELS), field="channel")
    phone = find_phone(values["phone"]) if values["phone"] else None
    if values["phone"] and phone is None:
        raise InvalidInput("电话号码不对", field="phone")
    tax = taxonomy.load()
    if values["category"] and values["category"] not in tax.categories:
        raise InvalidInput("没有这个类别", field="category")
    if values["category"]:
        category, confidence = values["category"], None
    elif understood:
        category, confidence = understood["category"], understood["category_confidence"]
    else:
        raise InvalidInput("自动分类暂时不可用，请手动选择类别", field="category")
    report = NewReport(
        submission_key=f"staff:{user.username}:{uuid.uuid4().hex}",
        conversation_id=None,
        description=clean_user_text(values["description"], limits.MESSAGE),
        category_id=category,
        urgency=understood["urgency"] if understood else "normal",
        category_confidence=confidence,
        location=values["location"] or None,
        phone=phone.value if phone else None,
        script=detect_script(values["description"]),
        channel=values["channel"],
        actor=f"{user.role}:{user.username}",
    )
    ticket, _ = create_ticket(session, report, tax)  # InvalidReport (an InvalidInput) for values it refuses
    audit.record(session, user.username, "file_on_behalf", ticket.id, addr, channel=values["channel"])
    return ticket.number
