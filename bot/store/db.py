"""Engines and sessions from MINSHENG_DATABASE_URL (default: a SQLite file under var/)."""
from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path
from typing import Iterator, Optional

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def default_url() -> str:
    var = Path(os.environ.get("MINSHENG_VAR_DIR", PROJECT_ROOT / "var"))
    return f"sqlite:///{var / 'minsheng.db'}"


def database_url() -> str:
    return os.environ.get("MINSHENG_DATABASE_URL") or default_url()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web app read while the action server writes; waits instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@functools.lru_cache(maxsize=8)
def get_engine(url: Optional[str] = None) -> Engine:
    url = url or database_url()
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, future=True, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, future=True, pool_pre_ping=True)
    return engine


@functools.lru_cache(maxsize=8)
def _factory(url: Optional[str]) -> sessionmaker:
    return sessionmaker(bind=get_engine(url), future=True, expire_on_commit=False)


@contextlib.contextmanager
def session_scope(url: Optional[str] = None) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    session = _factory(url or database_url())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
