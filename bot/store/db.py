"""Engines and sessions from MINSHENG_DATABASE_URL (default: a SQLite file under var/)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from pathlib import Path
from typing import Callable, Iterator, Optional, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot import settings

T = TypeVar("T")


def database_url() -> str:
    return settings.load().database_url


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
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, future=True, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
    elif url.startswith("postgresql"):
        # No JIT compilation: PostgreSQL compiles a query once its estimated cost passes 100,000,
        # which a count over a department's share of 100,000 tickets does — 40 ms of compiling for
        # a 20 ms query. The store's queries are short; none gains from it.
        engine = create_engine(url, future=True, pool_pre_ping=True, connect_args={"options": "-c jit=off"})
    else:
        engine = create_engine(url, future=True, pool_pre_ping=True)
    return engine


@functools.lru_cache(maxsize=8)
def _factory(url: Optional[str]) -> sessionmaker:
    return sessionmaker(bind=get_engine(url), future=True, expire_on_commit=False)


async def in_thread(work: Callable[[Session], T], url: Optional[str] = None) -> T:
    """`work(session)` in one transaction (as session_scope), in a worker thread: an async server
    never waits on the database in its event loop."""

    def run() -> T:
        with session_scope(url) as session:
            return work(session)

    return await asyncio.to_thread(run)


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
