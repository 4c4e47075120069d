"""Rasa's callback channel, except that a message the receiving system refuses is an error (Rasa's
own only logs it), so a pushed update that did not arrive is tried again; requests are checked
like the REST channel's."""

from __future__ import annotations

from typing import Any, Dict

from rasa.core.channels.callback import CallbackInput as RasaCallbackInput
from rasa.core.channels.callback import CallbackOutput as RasaCallbackOutput
from rasa.core.channels.channel import CollectingOutputChannel

from bot.channels.rest import CheckedRequests
from bot.channels.updates import ShowsWaitingUpdates


class CallbackNotDelivered(RuntimeError):
    pass


class CallbackOutput(RasaCallbackOutput):
    async def _persist_message(self, message: Dict[str, Any]) -> None:
        await CollectingOutputChannel._persist_message(self, message)
        try:
            await self.callback_endpoint.request("post", content_type="application/json", json=message)
        except Exception as error:
            raise CallbackNotDelivered(f"callback receiver did not take the message: {error}") from error


class CallbackInput(ShowsWaitingUpdates, CheckedRequests, RasaCallbackInput):
    @classmethod
    def name(cls) -> str:
        return "callback"

    def get_output_channel(self) -> CollectingOutputChannel:
        return CallbackOutput(self.callback_endpoint)
