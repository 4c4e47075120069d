"""What a request handler gets from the web app: its settings, its one Rasa client, the
database — always in a worker thread, never in the event loop — and a process of its own for
exports."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Optional, TypeVar

from aiohttp import web
from sqlalchemy.orm import Session

from bot.errors import ServiceUnavailable
from bot.notify.rasa_api import RasaApi
from bot.settings import Settings
from bot.staff import exports
from bot.store.db import in_thread

logger = logging.getLogger(__name__)

T = TypeVar("T")
SETTINGS = web.AppKey("settings", Settings)
RASA = web.AppKey("rasa", RasaApi)


# An export is a download a member of staff waits a moment for; a resident's answer and a page are
# not: on a busy machine the export process gives way to the other processes.
EXPORT_NICENESS = 10


class ExportProcess:
    """Exports are made in a process of their own. An export of a few thousand tickets is a few
    hundred milliseconds of Python; in a worker thread it held the interpreter, and every page
    answered meanwhile waited its turn. The process is started ("spawn": never a fork of a server
    with threads) on the first export, or at start-up by `warm`. If it dies, a new one is started
    and the export made again once; if that fails too, the member of staff is told to try again."""

    def __init__(self) -> None:
        self._pool: Optional[ProcessPoolExecutor] = None

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_export_process_starts,
                initargs=(EXPORT_NICENESS, os.getpid()),
            )
        return self._pool

    def warm(self) -> None:
        self._started().submit(_ready)

    async def make(self, order: exports.ExportOrder, database_url: str) -> bytes:
        loop = asyncio.get_running_loop()
        for attempt in range(2):
            pool = self._started()
            try:
                return await loop.run_in_executor(pool, exports.make, order, database_url)
            except BrokenProcessPool:
                logger.warning("the export process died (attempt %d); starting another", attempt + 1)
                if self._pool is pool:
                    self._pool = None
                    pool.shutdown(wait=False, cancel_futures=True)
        raise ServiceUnavailable("导出没有完成，请稍后再试。")

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)


def _export_process_starts(niceness: int, web_app: int) -> None:
    """In the export process: a lower priority, and an end once the web app is gone (killed, it
    cannot shut its pool down, and the process would wait for work that never comes)."""
    os.nice(niceness)

    def watch() -> None:
        while os.getppid() == web_app:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="web-app-watch", daemon=True).start()


def _ready() -> None:
    """Nothing: the export process has imported what it needs once it has run this."""


EXPORTS = web.AppKey("exports", ExportProcess)


def settings_of(request: web.Request) -> Settings:
    return request.app[SETTINGS]


def rasa_of(request: web.Request) -> RasaApi:
    return request.app[RASA]


async def db(request: web.Request, work: Callable[[Session], T]) -> T:
    """`work(session)` in one transaction of the app's store, in a worker thread."""
    return await in_thread(work, settings_of(request).database_url)


async def export_file(request: web.Request, order: exports.ExportOrder) -> bytes:
    """The file of `order`, made in the app's export process."""
    return await request.app[EXPORTS].make(order, settings_of(request).database_url)
