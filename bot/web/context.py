"""What a request handler gets from the web app: its settings, its one Rasa client, and the
database — always in a worker thread, never in the event loop."""

from __future__ import annotations

from typing import Callable, TypeVar

from aiohttp import web
from sqlalchemy.orm import Session

from bot.notify.rasa_api import RasaApi
from bot.settings import Settings
from bot.store.db import in_thread

T = TypeVar("T")
SETTINGS = web.AppKey("settings", Settings)
RASA = web.AppKey("rasa", RasaApi)


def settings_of(request: web.Request) -> Settings:
    return request.app[SETTINGS]


def rasa_of(request: web.Request) -> RasaApi:
    return request.app[RASA]


async def db(request: web.Request, work: Callable[[Session], T]) -> T:
    """`work(session)` in one transaction of the app's store, in a worker thread."""
    return await in_thread(work, settings_of(request).database_url)
