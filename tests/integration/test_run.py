"""`minsheng run` (what `make run` starts): all three processes on the embedded defaults, the chat
channel answering over socket.io, and Ctrl-C stopping everything it started."""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import socketio

from tests.integration.conftest import ROOT, free_port

pytestmark = pytest.mark.integration


def get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def port_open(port):
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def chat_over_socketio(port, message):
    """What the chat page does: session_request, then user_uttered, then wait for bot_uttered."""
    client = socketio.Client()
    answers = queue.Queue()
    client.on("bot_uttered", answers.put)
    client.connect(f"http://127.0.0.1:{port}", transports=["polling"], socketio_path="/socket.io")
    try:
        session = f"browser-{time.time()}"
        client.emit("session_request", {"session_id": session})
        client.emit("user_uttered", {"message": message, "session_id": session})
        return answers.get(timeout=60)
    finally:
        client.disconnect()


def test_minsheng_run_starts_everything_and_stops_it(trained_model, tmp_path):
    ports = {"MINSHENG_RASA_PORT": free_port(), "MINSHENG_ACTIONS_PORT": free_port(), "MINSHENG_WEB_PORT": free_port()}
    env = {**os.environ, **{k: str(v) for k, v in ports.items()}, "MINSHENG_VAR_DIR": str(tmp_path)}
    for key in ("MINSHENG_DATABASE_URL", "MINSHENG_TRACKER_URL", "MINSHENG_LOCK_STORE_URL"):
        env.pop(key, None)  # the embedded defaults
    launcher = subprocess.Popen([str(Path(sys.executable).with_name("minsheng")), "run"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = launcher.stdout.readline()
            if not line:
                break
            seen.append(line)
            if "Press Ctrl-C" in line:
                break
        output = "".join(seen)
        assert "is running" in output, output[-3000:]
        assert f"http://localhost:{ports['MINSHENG_WEB_PORT']}/" in output
        assert "some part did not answer" not in output

        status, page = get(f"http://127.0.0.1:{ports['MINSHENG_WEB_PORT']}/")
        assert status == 200 and "民生小助手" in page and f'data-rasa-port="{ports["MINSHENG_RASA_PORT"]}"' in page
        assert json.loads(get(f"http://127.0.0.1:{ports['MINSHENG_WEB_PORT']}/healthz")[1])["status"] == "ok"
        assert json.loads(get(f"http://127.0.0.1:{ports['MINSHENG_ACTIONS_PORT']}/health")[1])["status"] == "ok"
        assert (tmp_path / "minsheng.db").exists() and (tmp_path / "rasa-token").exists()

        reply = chat_over_socketio(ports["MINSHENG_RASA_PORT"], "你好")
        assert "民生小助手" in reply["text"]
    finally:
        launcher.send_signal(signal.SIGINT)
        try:
            launcher.wait(timeout=60)
        except subprocess.TimeoutExpired:
            launcher.kill()
            raise
    for port in ports.values():
        assert not port_open(port), f"port {port} still open after Ctrl-C"
