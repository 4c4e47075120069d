"""The scheduled jobs, read from the database on every tick so nothing is lost on a restart. Each
web-app process runs a scheduler; a lease row lets only one of them work at a time, and another
takes over when the holder stops renewing it."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import uuid
from typing import Optional

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from bot.notify.deliverer import deliver_due
from bot.notify.rasa_api import RasaApi
from bot.settings import Settings
from bot.store import overdue, retention, surveys
from bot.store.db import session_scope
from bot.store.schema import SchedulerLease, utcnow

logger = logging.getLogger(__name__)

LEASE_NAME = "jobs"
LEASE_SECONDS = 30


def take_lease(holder: str, now: Optional[dt.datetime] = None, seconds: int = LEASE_SECONDS) -> bool:
    """True if `holder` holds the lease now (newly taken or renewed)."""
    now = now or utcnow()
    until = now + dt.timedelta(seconds=seconds)
    with session_scope() as session:
        result = session.execute(
            update(SchedulerLease)
            .where(
                SchedulerLease.name == LEASE_NAME, or_(SchedulerLease.holder == holder, SchedulerLease.expires_at < now)
            )
            .values(holder=holder, expires_at=until)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            return True
        if session.get(SchedulerLease, LEASE_NAME) is not None:
            return False
    try:
        with session_scope() as session:
            session.add(SchedulerLease(name=LEASE_NAME, holder=holder, expires_at=until))
        return True
    except IntegrityError:
        return False


def release_lease(holder: str) -> None:
    with session_scope() as session:
        session.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == holder)
            .values(expires_at=dt.datetime(1970, 1, 1))
            .execution_options(synchronize_session=False)
        )


def run_due_jobs(now: Optional[dt.datetime] = None) -> dict:
    """Survey reminders, unrated closings and overdue notes that are due, and forgetting old login
    and phone-check attempts, each in its own transaction."""
    counts = {}
    for name, job in (
        ("reminders", surveys.send_due_reminders),
        ("not_rated", surveys.close_unrated),
        ("overdue", overdue.note_overdue),
        ("forgotten", retention.forget_old_attempts),
    ):
        with session_scope() as session:
            counts[name] = job(session, now)
    return counts


class Scheduler:
    """Runs the jobs every `settings.scheduler_interval` seconds while it holds the lease. The
    database work runs in worker threads, the pushes on the event loop."""

    def __init__(self, rasa: RasaApi, settings: Settings) -> None:
        self.rasa = rasa
        self.interval = settings.scheduler_interval
        self.claim_seconds = settings.outbox_claim_seconds
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    async def tick(self) -> bool:
        if not await asyncio.to_thread(take_lease, self.holder):
            return False
        counts = await asyncio.to_thread(run_due_jobs)
        report = await deliver_due(self.rasa, self.claim_seconds)
        if any(counts.values()) or report.pushed or report.waiting or report.failed:
            logger.info(
                "scheduler: %s; pushed %s, waiting %s, failed %s", counts, report.pushed, report.waiting, report.failed
            )
        return True

    async def run_forever(self) -> None:
        try:
            while True:
                try:
                    await self.tick()
                except Exception:  # a bad tick (database restarting…) must not end the scheduler
                    logger.exception("scheduler tick failed")
                await asyncio.sleep(self.interval)
        finally:
            try:
                await asyncio.to_thread(release_lease, self.holder)
            except Exception:
                logger.exception("could not release the scheduler lease")
