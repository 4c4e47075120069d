"""Rasa's REST channel; it cannot push, so waiting updates come with the answer to the next message.
Unlike Rasa's, it refuses a body that is not a JSON object, a missing or blank sender and a message
that is not a string (400), and the client cannot choose the channel's name or its metadata."""

from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic.request import Request

from bot.channels import SOURCE_KEY
from bot.channels.updates import ShowsWaitingUpdates, checked_sender, checked_text, json_object, request_source


class CheckedRequests:
    """Mixin for the HTTP channels that take Rasa's REST body ({"sender": …, "message": …})."""

    async def _extract_sender(self, req: Request) -> Optional[Text]:
        return checked_sender(json_object(req).get("sender"))

    def _extract_message(self, req: Request) -> Optional[Text]:
        return checked_text(json_object(req).get("message"))

    def _extract_input_channel(self, req: Request) -> Text:
        return self.name()  # type: ignore[attr-defined]

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        return {SOURCE_KEY: request_source(request)}


class RestInput(ShowsWaitingUpdates, CheckedRequests, RasaRestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"
