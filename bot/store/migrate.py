"""Brings a database to the current schema and loads the taxonomy into it, and the sample knowledge
base into a base that has never had an entry (unless MINSHENG_KNOWLEDGE_SAMPLE=off)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from alembic import command
from alembic.config import Config

from bot import settings, taxonomy
from bot.store.db import database_url, get_engine, session_scope
from bot.store.knowledge import load_sample
from bot.store.taxonomy_sync import sync_taxonomy

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: Optional[str] = None) -> None:
    url = url or database_url()
    get_engine(url)  # creates the SQLite folder when needed
    command.upgrade(alembic_config(url), "head")
    with session_scope(url) as session:
        sync_taxonomy(session, taxonomy.load())
    if settings.load().knowledge_sample:
        with session_scope(url) as session:
            load_sample(session, taxonomy.load())
