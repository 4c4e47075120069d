"""`minsheng run`: migrates the store, then starts the action server, the Rasa server and the
web app, prints where they are, and stops all of them on Ctrl-C."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import List

from bot import settings
from bot.endpoints import write_credentials, write_endpoints
from bot.store.db import PROJECT_ROOT
from bot.store.migrate import upgrade

MODEL = PROJECT_ROOT / "bot" / "models" / "minsheng.tar.gz"


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def commands(ports: settings.Ports, endpoints_file: Path, credentials_file: Path, token: str) -> List[List[str]]:
    return [
        [_bin("rasa"), "run", "actions", "--actions", "bot.actions", "--port", str(ports.actions)],
        [
            _bin("rasa"), "run", "--model", str(MODEL), "--endpoints", str(endpoints_file),
            "--credentials", str(credentials_file), "--port", str(ports.rasa),
            "--enable-api", f"--auth-token={token}", "--cors", "*",  # "=": a token may begin with "-"
        ],
        [sys.executable, "-m", "bot.web", "--port", str(ports.web)],
    ]


def wait_for(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return True
        except OSError:
            pass
        time.sleep(1)
    return False


def ensure_first_admin() -> str:
    """On an empty store, an `admin` account with a password kept in var/admin-password."""
    from bot.staff.accounts import create_user, generate_password, has_users
    from bot.store.db import session_scope

    path = settings.var_dir() / "admin-password"
    with session_scope() as session:
        if has_users(session):
            return f"(first admin: user admin, password in {path})" if path.exists() else ""
        password = generate_password()
        create_user(session, "admin", password, "admin", display_name="管理员")
    path.write_text(password + "\n")
    path.chmod(0o600)
    return f"(log in as admin / {password}; also kept in {path})"


def run() -> int:
    if not MODEL.exists():
        print(f"No trained model at {MODEL}; run `make model` (or `make run`, which trains it).")
        return 1
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    ports = settings.Ports.from_env()
    upgrade()
    first_admin = ensure_first_admin()
    token = settings.rasa_token()
    endpoints_file = write_endpoints(
        settings.var_dir() / "endpoints.yml",
        action_url=f"http://127.0.0.1:{ports.actions}/webhook",
        tracker_url=settings.tracker_store_url(),
    )
    credentials_file = write_credentials(settings.var_dir() / "credentials.yml")
    processes = [subprocess.Popen(cmd, cwd=PROJECT_ROOT, start_new_session=True)
                 for cmd in commands(ports, endpoints_file, credentials_file, token)]

    def stop(*_args) -> None:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
    try:
        ready = wait_for(f"http://127.0.0.1:{ports.rasa}/", 180) and wait_for(f"http://127.0.0.1:{ports.actions}/health", 60)
        print(
            "\n民生 Minsheng is running:\n"
            f"  resident chat  http://localhost:{ports.web}/\n"
            f"  health         http://localhost:{ports.web}/healthz\n"
            f"  Rasa server    http://localhost:{ports.rasa}/  (REST: POST /webhooks/rest/webhook; "
            f"HTTP API token in {settings.var_dir() / 'rasa-token'} unless MINSHENG_RASA_TOKEN is set)\n"
            f"  action server  http://localhost:{ports.actions}/health\n"
            + f"  staff console  http://localhost:{ports.web}/staff/  {first_admin}\n"
            + ("" if ready else "  (some part did not answer in time; see its log above)\n")
            + "Press Ctrl-C to stop everything.\n",
            flush=True,
        )
        while all(p.poll() is None for p in processes):
            time.sleep(1)
        print("A process stopped; stopping the others.", flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    finally:
        stop()
