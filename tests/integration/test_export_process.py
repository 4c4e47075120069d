"""The console's exports are made in a process of the web app's own (bot/web/context.py), at a lower
priority than the product's other processes. Killed at the worst moment — in the middle of an
export of 20,000 tickets, or while it waits for the next — it is started again: the member of staff
still gets the whole file, the audit log holds the export once, and the next export works. Killed
with the web app, it ends too."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

from benchmarks.chat import cpu_seconds, descendants
from benchmarks.console import fill
from bot.store.db import session_scope
from bot.store.schema import AuditEntry
from bot.web.context import EXPORT_NICENESS
from tests.support.scratch import free_port, scratch_database
from tests.support.stack import Stack

pytestmark = pytest.mark.integration
TICKETS = 20_000


def export_worker(web_pid: int, seconds: float = 60) -> int:
    """The web app's export process (not multiprocessing's resource tracker)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for pid in descendants(web_pid):
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            if b"spawn_main" in command:
                return pid
        time.sleep(0.1)
    raise TimeoutError("no export process")


def niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def rows_in(xlsx: bytes) -> int:
    return sum(1 for _ in load_workbook(io.BytesIO(xlsx), read_only=True).active.iter_rows()) - 1  # less the header


def exports_logged(url: str) -> int:
    with session_scope(url) as db:
        return db.query(AuditEntry).filter(AuditEntry.action == "export").count()


@pytest.fixture(scope="module")
def console(trained_model, tmp_path_factory):
    with scratch_database() as url:
        fill(url, TICKETS)  # and its staff, bench-dispatcher among them
        ports = {"rasa": free_port(), "actions": free_port(), "web": free_port()}
        stack = Stack(tmp_path_factory.mktemp("export-var"), url, trained_model, ports)
        try:
            stack.start("web")
            yield stack, url, stack.staff("bench-dispatcher", "bench-password")
        finally:
            stack.stop()


def download(staff, path: str = "/staff/export.xlsx") -> bytes:
    with staff.opener.open(staff.base_url + path, timeout=120) as response:
        assert response.status == 200
        return response.read()


def test_export_process_killed_mid_export_the_file_still_comes(console):
    stack, url, staff = console
    worker = export_worker(stack.processes["web"].pid)  # started with the app, before any export
    # it gives way to the pages and the residents' conversations (once it has started: it lowers its
    # own priority first thing, but a process just spawned may still be loading Python)
    lower = niceness(stack.processes["web"].pid) + EXPORT_NICENESS
    deadline = time.monotonic() + 60
    while niceness(worker) != lower and time.monotonic() < deadline:
        time.sleep(0.1)
    assert niceness(worker) == lower
    before = exports_logged(url)
    got: dict = {}
    request = threading.Thread(target=lambda: got.update(body=download(staff)))
    busy_from = cpu_seconds(worker)
    request.start()
    while cpu_seconds(worker) < busy_from + 0.5:  # well into reading and writing the rows
        assert request.is_alive(), "the export finished before it could be interrupted"
        time.sleep(0.02)
    os.kill(worker, signal.SIGKILL)
    request.join(120)
    assert rows_in(got["body"]) == TICKETS
    assert exports_logged(url) == before + 1  # the interrupted one was never committed
    assert export_worker(stack.processes["web"].pid) != worker
    assert "export process died" in stack.log("web")


def test_export_process_killed_between_exports_the_next_one_comes(console):
    stack, url, staff = console
    worker = export_worker(stack.processes["web"].pid)
    rows_in(download(staff))  # the process is idle again
    os.kill(worker, signal.SIGKILL)
    time.sleep(0.5)
    before = exports_logged(url)
    assert rows_in(download(staff, "/staff/export.xlsx?status=submitted")) > 0
    assert exports_logged(url) == before + 1
    csv = download(staff, "/staff/export.csv")
    assert csv.decode("utf-8-sig").count("\n") >= TICKETS


def test_the_export_process_ends_with_a_killed_web_app_and_comes_back_with_it(console):
    stack, url, staff = console
    worker = export_worker(stack.processes["web"].pid)
    stack.kill("web")  # SIGKILL: the app cannot shut its export process down
    deadline = time.monotonic() + 15
    while Path(f"/proc/{worker}").exists() and Path(f"/proc/{worker}/stat").read_text().split()[2] != "Z":
        assert time.monotonic() < deadline, "the export process outlived the web app"
        time.sleep(0.2)
    stack.start("web")  # as `minsheng run` restarts it
    staff = stack.staff("bench-dispatcher", "bench-password")
    assert rows_in(download(staff, "/staff/export.xlsx?status=submitted")) > 0
    assert export_worker(stack.processes["web"].pid) != worker
