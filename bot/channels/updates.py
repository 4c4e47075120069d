"""What every channel of the product does around Rasa's handling of a message:

- a message longer than bot.limits.MESSAGE is cut before the NLU pipeline sees it (the actions
  tell the resident), and only the metadata the channel itself sets is kept;
- when the action server or the conversation store fails during the turn (bot/rasa_patches.py),
  the resident is told so and asked to send the message again; nothing of the turn was saved;
- after the resident's message, the updates that could not be pushed to them are shown too: the
  deliverer sets the `updates_waiting` slot, and a `/check_updates` message is then handled in the
  same turn and over the same output channel."""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from sanic import Blueprint
from sanic.exceptions import InvalidUsage
from sanic.request import Request

from bot import limits, rasa_patches
from bot.channels import BUSY, CHECK_UPDATES, CUT_FROM_KEY, SHOWN_KEY, SHOWN_LIMIT, SOURCE_KEY, WAITING_SLOT
from bot.textnorm import TRADITIONAL, detect_script, to_traditional

logger = logging.getLogger(__name__)

Handler = Callable[[UserMessage], Awaitable[Any]]


def checked_sender(value: Any) -> str:
    """A conversation id as a channel accepts it: a non-blank string of at most
    bot.limits.CONVERSATION_ID characters. Anything else is refused (400), never `default`."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidUsage("sender 不能为空：每个对话需要自己的 sender")
    if len(value) > limits.CONVERSATION_ID or any(ord(ch) < 32 for ch in value):
        raise InvalidUsage(f"sender 最长 {limits.CONVERSATION_ID} 个字符，且不能含控制字符")
    return value


def json_object(request: Request) -> Dict[str, Any]:
    body = request.json
    if not isinstance(body, dict):
        raise InvalidUsage('请求体必须是 JSON 对象，例如 {"sender": "…", "message": "…"}')
    return body


def checked_text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidUsage("message 必须是字符串")
    return value


def request_source(request: Request) -> Optional[str]:
    """The client's address; behind a proxy, Sanic's PROXIES_COUNT / REAL_IP_HEADER decide it."""
    return request.remote_addr or request.ip or None


def busy_text(message_text: Optional[str]) -> str:
    return to_traditional(BUSY) if detect_script(message_text) == TRADITIONAL else BUSY


def prepared(message: UserMessage) -> UserMessage:
    """The message as the NLU pipeline may see it: cut to length, with only our metadata."""
    text = message.text or ""
    metadata: Dict[str, Any] = {}
    source = (message.metadata or {}).get(SOURCE_KEY)
    if isinstance(source, str) and source:
        metadata[SOURCE_KEY] = source[:64]
    shown = (message.metadata or {}).get(SHOWN_KEY)
    if text.startswith("/") and isinstance(shown, str) and 0 < len(shown) <= SHOWN_LIMIT:
        metadata[SHOWN_KEY] = shown
    if len(text) > limits.MESSAGE:
        metadata[CUT_FROM_KEY] = len(text)
        text = text[: limits.MESSAGE]
    return UserMessage(
        text,
        message.output_channel,
        message.sender_id,
        parse_data=message.parse_data,
        input_channel=message.input_channel,
        message_id=message.message_id,
        metadata=metadata or None,
    )


class ShowsWaitingUpdates:
    """Mixin, placed before a Rasa InputChannel: wraps its message handler, keeps a reference to the app."""

    _app: Optional[Any] = None

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        return self._keep_app(super().blueprint(self._wrap(on_new_message)))  # type: ignore[misc]

    def _wrap(self, on_new_message: Handler) -> Handler:
        async def handle(message: UserMessage) -> None:
            message = prepared(message)
            try:
                with rasa_patches.trackers_saved() as saved:
                    await on_new_message(message)
            except Exception as error:  # the resident is told, whatever failed
                await self._tell_busy(message, error)
                return
            if message.text != CHECK_UPDATES and await self._updates_waiting(
                message.sender_id, saved.get(message.sender_id)
            ):
                try:
                    await on_new_message(
                        UserMessage(
                            CHECK_UPDATES,
                            message.output_channel,
                            message.sender_id,
                            input_channel=message.input_channel,
                            metadata=message.metadata,
                        )
                    )
                except Exception:  # they wait for the next message
                    logger.exception("could not show the waiting updates of %s", message.sender_id)

        return handle

    async def _tell_busy(self, message: UserMessage, error: Exception) -> None:
        logger.error("message of %s not handled, resident asked to send it again: %r", message.sender_id, error)
        output = message.output_channel
        if isinstance(output, CollectingOutputChannel):
            output.messages.clear()  # the turn did not happen: no half answer
        try:
            await output.send_text_message(message.sender_id, busy_text(message.text))
        except Exception:
            logger.exception("could not tell %s that the system is busy", message.sender_id)

    def _keep_app(self, blueprint: Blueprint) -> Blueprint:
        async def keep(app, _loop) -> None:
            self._app = app

        blueprint.listener("after_server_start")(keep)
        return blueprint

    async def _updates_waiting(self, sender_id: str, saved: Any = None) -> bool:
        """Whether the deliverer left updates for the resident: read from the tracker the turn just
        saved when there is one (bot/rasa_patches.py), else from the tracker store."""
        if saved is not None:
            return bool(saved.get_slot(WAITING_SLOT))
        agent = getattr(getattr(self._app, "ctx", None), "agent", None)
        if agent is None or agent.tracker_store is None:
            return False
        try:
            tracker = await agent.tracker_store.retrieve(sender_id)
        except Exception:  # showing updates must never break the resident's own turn
            logger.exception("could not read the tracker of %s", sender_id)
            return False
        return bool(tracker and tracker.get_slot(WAITING_SLOT))
