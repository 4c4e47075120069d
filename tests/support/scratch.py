"""Throw-away PostgreSQL databases and free ports, for benchmarks and tests."""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from typing import Iterator

import sqlalchemy as sa

ADMIN_URL = os.environ.get("MINSHENG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def scratch_database(prefix: str = "minsheng_scratch") -> Iterator[str]:
    """A new, empty database on the PostgreSQL server; dropped afterwards, connections and all."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        from bot.store.db import get_engine

        get_engine(url).dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
