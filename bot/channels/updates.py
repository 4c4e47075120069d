"""After a resident's message, the updates that could not be pushed to them are shown too: the
deliverer sets the `updates_waiting` slot, and a `/check_updates` message is then handled in the
same turn and over the same output channel."""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint

from bot.channels import CHECK_UPDATES, WAITING_SLOT

logger = logging.getLogger(__name__)

Handler = Callable[[UserMessage], Awaitable[Any]]


class ShowsWaitingUpdates:
    """Mixin, placed before a Rasa InputChannel: wraps its message handler, keeps a reference to the app."""

    _app: Optional[Any] = None

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        return self._keep_app(super().blueprint(self._wrap(on_new_message)))  # type: ignore[misc]

    def _wrap(self, on_new_message: Handler) -> Handler:
        async def handle(message: UserMessage) -> None:
            await on_new_message(message)
            if message.text != CHECK_UPDATES and await self._updates_waiting(message.sender_id):
                await on_new_message(UserMessage(CHECK_UPDATES, message.output_channel, message.sender_id,
                                                 input_channel=message.input_channel, metadata=message.metadata))
        return handle

    def _keep_app(self, blueprint: Blueprint) -> Blueprint:
        async def keep(app, _loop) -> None:
            self._app = app
        blueprint.listener("after_server_start")(keep)
        return blueprint

    async def _updates_waiting(self, sender_id: str) -> bool:
        agent = getattr(getattr(self._app, "ctx", None), "agent", None)
        if agent is None or agent.tracker_store is None:
            return False
        try:
            tracker = await agent.tracker_store.retrieve(sender_id)
        except Exception:  # showing updates must never break the resident's own turn
            logger.exception("could not read the tracker of %s", sender_id)
            return False
        return bool(tracker and tracker.get_slot(WAITING_SLOT))
