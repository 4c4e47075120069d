"""Shared fixtures: fresh ticket stores on SQLite and on the machine's PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.scratch import scratch_database

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
# Stores made for tests start without the sample knowledge base; the tests that want it load it.
os.environ.setdefault("MINSHENG_KNOWLEDGE_SAMPLE", "off")

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "bot" / "models" / "minsheng.tar.gz"


@pytest.fixture(scope="session")
def postgres_server_url():
    """The PostgreSQL database of the store tests, emptied before each of them."""
    with scratch_database("minsheng_test") as url:
        yield url


def _empty_postgres(url: str) -> None:
    engine = sa.create_engine(url, future=True)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path, monkeypatch):
    """A migrated ticket store with the default taxonomy, on each backend in turn."""
    from bot.store.migrate import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tickets.db'}"
    else:
        url = request.getfixturevalue("postgres_server_url")
        _empty_postgres(url)
    monkeypatch.setenv("MINSHENG_DATABASE_URL", url)
    upgrade(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path, monkeypatch):
    from bot.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'tickets.db'}"
    monkeypatch.setenv("MINSHENG_DATABASE_URL", url)
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def trained_model() -> Path:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: `make test` trains it before running pytest")
    return MODEL
