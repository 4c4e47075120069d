"""Rasa's REST channel; it cannot push, so waiting updates come with the answer to the next message."""
from __future__ import annotations

from rasa.core.channels.rest import RestInput as RasaRestInput

from bot.channels.updates import ShowsWaitingUpdates


class RestInput(ShowsWaitingUpdates, RasaRestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"
