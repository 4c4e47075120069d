"""Settings for a web app under test: the current environment's, on the given store, without the
scheduler (these apps only serve pages)."""

from __future__ import annotations

from bot import settings
from bot.settings import Settings


def web_settings(database_url: str, **changes) -> Settings:
    return settings.load().replace(database_url=database_url, scheduler=False, **changes)
