"""The rules of the code's layout, checked: settings read in one place, the action server free of
Rasa's core, the action table driving permissions, the console and the API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot import settings
from bot.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[1]


def test_only_the_settings_module_reads_the_environment():
    readers = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "bot").rglob("*.py")
        if "os.environ" in path.read_text(encoding="utf-8") or "getenv(" in path.read_text(encoding="utf-8")
    ]
    assert readers == ["bot/settings.py"]


def test_wrong_settings_stop_the_product_with_a_message_naming_each(tmp_path):
    environ = {
        "MINSHENG_VAR_DIR": str(tmp_path),
        "MINSHENG_WEB_PORT": "eighty",
        "MINSHENG_TIMEZONE": "Mars/Base",
        "MINSHENG_HOLIDAYS": "2026-10-01,2026-13-01",
        "MINSHENG_TICKET_PREFIX": "MS-2",
        "MINSHENG_CATEGORY_CONFIDENCE": "1.5",
        "MINSHENG_SCHEDULER": "sometimes",
    }
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(environ)
    for name in (
        "MINSHENG_WEB_PORT",
        "MINSHENG_TIMEZONE",
        "2026-13-01",
        "MINSHENG_TICKET_PREFIX",
        "MINSHENG_CATEGORY_CONFIDENCE",
        "MINSHENG_SCHEDULER",
    ):
        assert name in str(refused.value)
    started = subprocess.run(
        [str(Path(sys.executable).with_name("minsheng")), "serve", "web"],
        env={**environ, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 2 and "MINSHENG_WEB_PORT" in started.stderr and "Traceback" not in started.stderr


def test_the_defaults_need_nothing_set(tmp_path):
    loaded = Settings.from_env({"MINSHENG_VAR_DIR": str(tmp_path)})
    assert loaded.database_url == f"sqlite:///{tmp_path / 'minsheng.db'}"
    assert loaded.ports.web == 8000 and loaded.hosts.rasa == "127.0.0.1" and loaded.ticket_prefix == "MS"
    assert loaded.scheduler and not loaded.https_only and loaded.holidays == frozenset()


def test_settings_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MINSHENG_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("MINSHENG_TICKET_PREFIX", "gl")
    assert settings.load().ticket_prefix == "GL"
    monkeypatch.setenv("MINSHENG_TICKET_PREFIX", "ms")
    assert settings.load().ticket_prefix == "MS"


def test_the_action_server_does_not_load_rasa_itself():
    # The action server warms its duplicate search in a thread that imports as it goes: wait for it,
    # so that what it loads counts too and the module table holds still while it is read.
    code = (
        "import sys, threading, bot.actions\n"
        "[t.join() for t in threading.enumerate() if t.name == 'duplicates-warm-up']\n"
        "print(sorted(m for m in list(sys.modules) if m == 'rasa' or m.startswith('rasa.')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert loaded.stdout.strip() == "[]"


def test_the_test_harness_and_benchmarks_live_outside_the_product():
    assert not list((ROOT / "bot").rglob("stack.py")) and not list((ROOT / "bot").rglob("benchmark*.py"))
    assert not (ROOT / "bot" / "web" / "staff" / "queue.py").exists()  # domain logic, not HTTP
