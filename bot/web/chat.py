"""What the chat page shows again when it is reopened: the conversation so far, read from Rasa's
tracker store, and the tickets filed from it ("我的工单"). The conversation's id (128 random bits
kept in the browser) is the key, as it is for the socket.io channel itself."""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Optional

from aiohttp import web
from sqlalchemy import select

from bot.channels import SHOWN_KEY
from bot.errors import InvalidInput
from bot.notify.rasa_api import RasaUnavailable
from bot.parsing import PHOTO_PATH
from bot.store import states
from bot.store.schema import Ticket
from bot.web.context import db, rasa_of

# The chat page's conversation ids (chat.js): 32 hex digits.
SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
# Turns the page never showed as typed words: the channels' own requests and pushed updates.
_HIDDEN_INTENTS = {"check_updates", "EXTERNAL_ticket_update"}


def _user_line(event: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    text = event.get("text") or ""
    intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
    if intent in _HIDDEN_INTENTS or text.startswith("/check_updates"):
        return None
    if not text.startswith("/"):
        return {"who": "user", "text": text}
    shown = (event.get("metadata") or {}).get(SHOWN_KEY)
    if shown:
        return {"who": "user", "text": shown}
    entities = {e.get("entity"): e.get("value") for e in (event.get("parse_data") or {}).get("entities") or []}
    if not entities:
        try:
            entities = json.loads(text[text.index("{") :]) if "{" in text else {}
        except ValueError:
            entities = {}
    photo = entities.get("photo_url")
    if isinstance(photo, str) and PHOTO_PATH.match(photo):
        return {"who": "user", "photo": photo}
    if intent == "share_location" or "latitude" in entities:
        return {"who": "user", "text": "（发送了当前位置）"}
    return None


def transcript(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The lines of the conversation as the page showed them: the resident's words (a button by
    its title, a photo as the photo), the assistant's answers with their buttons."""
    lines: List[Dict[str, Any]] = []
    for event in events:
        if event.get("event") == "user":
            line = _user_line(event)
            if line:
                lines.append(line)
        elif event.get("event") == "bot" and (event.get("text") or (event.get("data") or {}).get("buttons")):
            buttons = (event.get("data") or {}).get("buttons") or []
            lines.append(
                {
                    "who": "bot",
                    "text": event.get("text") or "",
                    "buttons": [{"title": b.get("title", ""), "payload": b.get("payload", "")} for b in buttons],
                }
            )
    return lines


def _tickets_of(conversation_id: str):
    def work(session) -> List[Dict[str, str]]:
        found = session.execute(
            select(Ticket).where(Ticket.conversation_id == conversation_id).order_by(Ticket.created_at)
        ).scalars()
        return [
            {"number": t.number, "status": states.LABELS.get(t.status, t.status), "deadline": t.deadline.isoformat()}
            for t in found
        ]

    return work


async def history(request: web.Request) -> web.Response:
    conversation_id = request.match_info["conversation_id"]
    if not SESSION_ID.match(conversation_id):
        raise InvalidInput("对话编号不对", status=400)
    tickets = await db(request, _tickets_of(conversation_id))
    try:
        lines = transcript(await rasa_of(request).events(conversation_id))
        available = True
    except RasaUnavailable:
        lines, available = [], False
    response = web.json_response({"messages": lines, "tickets": tickets, "transcript_available": available})
    response.headers["Cache-Control"] = "no-store"
    return response


routes = web.RouteTableDef()
routes.get("/api/chat/{conversation_id}/history", name="chat_history")(history)
