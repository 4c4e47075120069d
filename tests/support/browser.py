"""Debian's Chromium (`make test` installs the package), driven by Playwright through its
executable path — never a browser Playwright downloads — for every browser test."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support.scratch import free_port

ROOT = Path(__file__).resolve().parents[2]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def web_app_alone(url: str, var: Path, **env: str) -> Iterator[str]:
    """The web app by itself (`python -m bot.web`, no scheduler) on the store at `url`: its address."""
    port = free_port()
    environment = {
        **os.environ,
        "MINSHENG_DATABASE_URL": url,
        "MINSHENG_VAR_DIR": str(var),
        "MINSHENG_SCHEDULER": "off",
        **env,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.web", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2).read()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("the web app did not start")
            time.sleep(0.3)
    try:
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
