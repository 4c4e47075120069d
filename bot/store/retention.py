"""What the store forgets: failed logins, phone-digit checks and ended staff sessions (names,
addresses, ticket numbers) are needed only while they are counted; after KEEP they are deleted.
Channel keys (bot/store/channel_keys.py) go as soon as they expire."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.store import channel_keys
from bot.store.schema import LoginFailure, StaffSession, StatusCheck, utcnow

KEEP = dt.timedelta(days=30)


def forget_old_attempts(session: Session, now: Optional[dt.datetime] = None) -> int:
    cutoff = (now or utcnow()) - KEEP
    forgotten = 0
    for statement in (
        delete(LoginFailure).where(LoginFailure.at < cutoff),
        delete(StatusCheck).where(StatusCheck.at < cutoff),
        delete(StaffSession).where(StaffSession.expires_at < cutoff),
    ):
        forgotten += session.execute(statement.execution_options(synchronize_session=False)).rowcount
    return forgotten + channel_keys.forget_expired(session, now)
