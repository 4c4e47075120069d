"""Short-lived values a channel shares between all its processes (several Rasa replicas may serve
one channel): taken once (a message id), read and written (an access token, a menu), with a lease
so that only one process does a thing at a time. Expired rows are ignored and deleted by retention."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import delete, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from bot.store.schema import ChannelKey, utcnow


def _write(session: Session, key: str, value: str, until: dt.datetime, allowed: ColumnElement) -> bool:
    """Writes the row of `key` where `allowed` says the present one may be replaced, or a new row
    when there is none; False when another process's row stands (or was inserted first)."""
    replaced = session.execute(
        update(ChannelKey)
        .where(ChannelKey.key == key, allowed)
        .values(value=value, expires_at=until)
        .execution_options(synchronize_session=False)
    ).rowcount
    if replaced:
        return True
    try:
        with session.begin_nested():
            session.add(ChannelKey(key=key, value=value, expires_at=until))
    except IntegrityError:
        return False
    return True


def take_once(session: Session, key: str, seconds: float, now: Optional[dt.datetime] = None) -> bool:
    """True for the first caller with `key` (until it expires), False for every other one."""
    now = now or utcnow()
    return _write(session, key, "1", now + dt.timedelta(seconds=seconds), ChannelKey.expires_at < now)


def lease(session: Session, key: str, holder: str, seconds: float, now: Optional[dt.datetime] = None) -> bool:
    """True if `holder` holds the lease `key` now (taken, or renewed by its holder)."""
    now = now or utcnow()
    allowed = (ChannelKey.value == holder) | (ChannelKey.expires_at < now)
    return _write(session, key, holder, now + dt.timedelta(seconds=seconds), allowed)


def release(session: Session, key: str, holder: str) -> None:
    session.execute(
        delete(ChannelKey)
        .where(ChannelKey.key == key, ChannelKey.value == holder)
        .execution_options(synchronize_session=False)
    )


def put(session: Session, key: str, value: str, seconds: float, now: Optional[dt.datetime] = None) -> None:
    until = (now or utcnow()) + dt.timedelta(seconds=seconds)
    if not _write(session, key, value, until, true()):  # inserted by another process meanwhile: this value wins
        _write(session, key, value, until, true())


def get(session: Session, key: str, now: Optional[dt.datetime] = None) -> Optional[str]:
    row = session.execute(select(ChannelKey.value, ChannelKey.expires_at).where(ChannelKey.key == key)).first()
    if row is None or row.expires_at < (now or utcnow()):
        return None
    return row.value


def expires_at(session: Session, key: str) -> Optional[dt.datetime]:
    return session.execute(select(ChannelKey.expires_at).where(ChannelKey.key == key)).scalar()


def forget(session: Session, key: str) -> None:
    session.execute(delete(ChannelKey).where(ChannelKey.key == key).execution_options(synchronize_session=False))


def forget_expired(session: Session, now: Optional[dt.datetime] = None) -> int:
    statement = delete(ChannelKey).where(ChannelKey.expires_at < (now or utcnow()))
    return session.execute(statement.execution_options(synchronize_session=False)).rowcount
