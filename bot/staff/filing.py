"""Filing a report on a resident's behalf (console form or API): checked, classified by the same
model the chat uses (the caller asks Rasa and passes what it understood), stored with the channel
it came through."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Optional

from sqlalchemy.orm import Session

from bot import labels, limits, taxonomy
from bot.errors import InvalidInput, NotPermitted
from bot.parsing import find_phone
from bot.staff import audit, permissions
from bot.store.schema import AuditEntry, User, utcnow
from bot.store.tickets import NewReport, create_ticket
from bot.textnorm import clean_user_text, detect_script, meaningful

CHANNELS = labels.FILING_CHANNELS
FIELDS = ("description", "location", "phone", "channel", "category", "urgency", "caller")
CALLER_LIMIT = 40  # a name or how the resident is addressed (刘阿姨, 王先生)
LAST_CHANNEL_DAYS = 90


def last_channel(session: Session, user: User) -> str:
    """The channel this staff member filed their last report through (within LAST_CHANNEL_DAYS),
    for the form's default; "" when none."""
    since = utcnow() - dt.timedelta(days=LAST_CHANNEL_DAYS)
    entry = (
        session.query(AuditEntry.detail)
        .filter(AuditEntry.at >= since, AuditEntry.actor == user.username, AuditEntry.action == "file_on_behalf")
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .first()
    )
    try:
        channel = json.loads(entry.detail or "{}").get("channel", "") if entry else ""
    except ValueError:
        return ""
    return channel if channel in CHANNELS else ""


def values_of(fields: dict) -> dict:
    return {k: str(fields.get(k) or "").strip() for k in FIELDS}


def file_for_resident(
    session: Session,
    user: User,
    fields: dict,
    understood: Optional[dict],
    addr: str = "",
    photo_url: Optional[str] = None,
) -> str:
    """The new ticket's number. `understood`: the chat model's reading of the description
    (RasaApi.classify), None when it could not be asked; an urgency chosen by staff wins over the
    model's. `photo_url`: a photo already stored (bot/web/photos.py). InvalidInput says what to fix."""
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
    if values["urgency"] and values["urgency"] not in taxonomy.URGENCIES:
        raise InvalidInput("请选择紧急程度：" + "、".join(taxonomy.load().urgency_names.values()), field="urgency")
    if len(values["caller"]) > CALLER_LIMIT:
        raise InvalidInput(f"居民称呼太长了，请控制在 {CALLER_LIMIT} 个字以内", field="caller")
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
        urgency=values["urgency"] or (understood["urgency"] if understood else "normal"),
        category_confidence=confidence,
        location=values["location"] or None,
        detail=f"居民称呼：{values['caller']}" if values["caller"] else None,
        photo_url=photo_url,
        phone=phone.value if phone else None,
        script=detect_script(values["description"]),
        channel=values["channel"],
        actor=f"{user.role}:{user.username}",
    )
    ticket, _ = create_ticket(session, report, tax)  # InvalidReport (an InvalidInput) for values it refuses
    audit.record(session, user.username, "file_on_behalf", ticket.id, addr, channel=values["channel"])
    return ticket.number
