"""Starts a real action server and a real Rasa server (the model `make test` trained), with
tickets and trackers in PostgreSQL and Rasa's lock store in Redis."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from bot.endpoints import write_endpoints
from bot.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "integration-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, seconds: float, what: str, processes) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[:3]} exited with {process.returncode} while waiting for {what}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError(f"{what} did not come up in {seconds}s")


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


class Bot:
    """A resident talking to the Rasa server over the REST channel."""

    def __init__(self, base_url: str):
        self.base_url = base_url

    def say(self, sender: str, message: str):
        request = urllib.request.Request(
            f"{self.base_url}/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": message}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)

    def texts(self, sender: str, message: str) -> str:
        return "\n".join(m.get("text", "") for m in self.say(sender, message))

    def tracker(self, sender: str):
        return get_json(f"{self.base_url}/conversations/{sender}/tracker?token={TOKEN}")


@pytest.fixture(scope="session")
def running_bot(postgres_server_url, trained_model, tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    rasa_port, action_port = free_port(), free_port()
    env = {
        **os.environ,
        "MINSHENG_DATABASE_URL": postgres_server_url,
        "MINSHENG_VAR_DIR": str(var),
        "MINSHENG_LOCK_STORE_URL": "redis://127.0.0.1:6379/15",
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    os.environ["MINSHENG_DATABASE_URL"] = postgres_server_url
    upgrade(postgres_server_url)
    os.environ["MINSHENG_LOCK_STORE_URL"] = env["MINSHENG_LOCK_STORE_URL"]
    endpoints = write_endpoints(var / "endpoints.yml", f"http://127.0.0.1:{action_port}/webhook", postgres_server_url)
    rasa = str(Path(sys.executable).with_name("rasa"))
    logs = {name: open(var / f"{name}.log", "w") for name in ("actions", "rasa")}
    processes = [
        subprocess.Popen([rasa, "run", "actions", "--actions", "bot.actions", "--port", str(action_port)],
                         cwd=ROOT, env=env, stdout=logs["actions"], stderr=subprocess.STDOUT),
        subprocess.Popen([rasa, "run", "--model", str(trained_model), "--endpoints", str(endpoints),
                          "--credentials", str(ROOT / "credentials.yml"), "--port", str(rasa_port),
                          "--enable-api", "--auth-token", TOKEN],
                         cwd=ROOT, env=env, stdout=logs["rasa"], stderr=subprocess.STDOUT),
    ]
    try:
        wait_until(lambda: get_json(f"http://127.0.0.1:{action_port}/health")["status"] == "ok", 120, "action server", processes)
        wait_until(lambda: get_json(f"http://127.0.0.1:{rasa_port}/status?token={TOKEN}").get("model_file"), 240,
                   "Rasa server", processes)
        yield Bot(f"http://127.0.0.1:{rasa_port}")
    except Exception:
        for name in logs:
            logs[name].flush()
            print(f"---- {name} log ----\n" + (var / f"{name}.log").read_text()[-5000:])
        raise
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs.values():
            log.close()


@pytest.fixture
def bot(running_bot):
    return running_bot


@pytest.fixture
def sender():
    return f"resident-{uuid.uuid4().hex[:12]}"
