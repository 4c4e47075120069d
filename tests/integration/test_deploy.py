"""The production process supervision shipped in deploy/: supervisord with deploy/supervisord.conf
runs the three processes and starts each again after it is killed; the systemd units pass
systemd's own checks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.scratch import free_port
from tests.support.stack import ROOT, get_json, post_json

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent


def serving(part: str, var: Path):
    """Pids of `minsheng serve <part>` processes of this var/ folder."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if b"serve" in command and part.encode() in command and f"MINSHENG_VAR_DIR={var}".encode() in environ:
            found.append(int(proc.name))
    return found


def wait_until(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def test_supervisord_starts_each_process_again_after_it_is_killed(trained_model, tmp_path):
    var = tmp_path / "var"
    ports = {"rasa": free_port(), "actions": free_port(), "web": free_port()}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("MINSHENG_DATABASE_URL", "MINSHENG_TRACKER_URL", "MINSHENG_LOCK_STORE_URL")
    }
    env.update(
        {
            "MINSHENG_HOME": str(ROOT),
            "MINSHENG_VAR_DIR": str(var),
            "MINSHENG_RASA_PORT": str(ports["rasa"]),
            "MINSHENG_ACTIONS_PORT": str(ports["actions"]),
            "MINSHENG_WEB_PORT": str(ports["web"]),
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "RASA_TELEMETRY_ENABLED": "false",
        }
    )
    (var / "log").mkdir(parents=True, mode=0o700)
    subprocess.run([str(BIN / "minsheng"), "db", "upgrade"], env=env, check=True, capture_output=True)
    up = {
        "actions": lambda: get_json(f"http://127.0.0.1:{ports['actions']}/health")["status"] == "ok",
        "rasa": lambda: urllib.request.urlopen(f"http://127.0.0.1:{ports['rasa']}/", timeout=5).status == 200,
        "web": lambda: get_json(f"http://127.0.0.1:{ports['web']}/healthz")["status"] == "ok",
    }
    supervisor = subprocess.Popen(
        [str(BIN / "supervisord"), "-n", "-c", str(ROOT / "deploy" / "supervisord.conf")],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        for part in ("actions", "web", "rasa"):
            assert wait_until(up[part], 240), (
                f"{part} did not come up:\n" + (var / "log" / f"{part}.log").read_text()[-3000:]
            )
        for part in ("actions", "web", "rasa"):
            first = serving(part, var)
            assert len(first) == 1, (part, first)
            os.kill(first[0], signal.SIGKILL)
            came_back = lambda part=part, first=first: serving(part, var) not in ([], first) and up[part]()  # noqa: E731
            assert wait_until(came_back, 240), part
        answers = json.loads(
            post_json(
                f"http://127.0.0.1:{ports['rasa']}/webhooks/rest/webhook",
                {"sender": "after-restarts", "message": "建设路18号的路灯坏了"},
            )
        )
        assert any("道路与交通" in a.get("text", "") for a in answers)
        status = subprocess.run(
            [str(BIN / "supervisorctl"), "-c", str(ROOT / "deploy" / "supervisord.conf"), "status"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert status.stdout.count("RUNNING") == 3, status.stdout
    finally:
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(timeout=90)
    for port in ports.values():
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_the_systemd_units_pass_systemds_checks(tmp_path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze (Debian's systemd package) is needed to check deploy/systemd"
    for unit in (ROOT / "deploy" / "systemd").iterdir():
        text = unit.read_text().replace("/srv/minsheng", str(ROOT)).replace("/etc/minsheng/env", str(tmp_path / "env"))
        (tmp_path / unit.name).write_text(text)
    (tmp_path / "env").write_text("MINSHENG_DATABASE_URL=postgresql://minsheng@127.0.0.1/minsheng\n")
    units = sorted(str(p) for p in tmp_path.glob("minsheng*"))
    checked = subprocess.run([analyze, "verify", "--man=no", *units], capture_output=True, text=True, cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert len(units) == 5
