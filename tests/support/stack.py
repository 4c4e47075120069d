"""The product's three processes side by side, for integration tests and benchmarks — action
server, Rasa server (rest, socket.io and callback channels) and the web app with its scheduler —
with a local receiver standing in for the messaging system on the other end of Rasa's callback
channel, and a member of staff using the console's pages."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Iterator, List

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "integration-token"


class CallbackReceiver:
    """Collects what Rasa's callback channel posts, per recipient; can be told to refuse."""

    def __init__(self) -> None:
        self.messages: Dict[str, List[dict]] = defaultdict(list)
        self.arrivals: Dict[str, List[float]] = defaultdict(list)  # time.monotonic() of each message
        self.refusing = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if receiver.refusing:
                    self.send_response(503)
                else:
                    receiver.messages[body.get("recipient_id", "")].append(body)
                    receiver.arrivals[body.get("recipient_id", "")].append(time.monotonic())
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def texts(self, recipient: str) -> List[str]:
        return [m.get("text", "") for m in self.messages[recipient]]

    def wait_for(self, recipient: str, needle: str, seconds: float = 60) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for text in self.texts(recipient):
                if needle in text:
                    return text
            time.sleep(0.5)
        raise TimeoutError(f"{recipient} never received {needle!r}; got {self.texts(recipient)}")


def free_range(count: int) -> int:
    """The first of `count` consecutive free ports."""
    import random
    import socket

    for _ in range(200):
        base = random.randrange(20000, 60000 - count, 2)
        with contextlib.ExitStack() as held:
            try:
                for port in range(base, base + count):
                    s = held.enter_context(socket.socket())
                    s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return base
    raise RuntimeError("no free range of ports")


def stop_process(process: subprocess.Popen) -> None:
    """SIGTERM, and SIGKILL if it has not stopped within 20 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def minsheng_run(env: Dict[str, str], seconds: float) -> Iterator[tuple]:
    """`minsheng run` as an operator starts it, with `env`, until its banner says it is running (or
    `seconds` pass, or it exits); yields the launcher and the lines it has printed so far and will
    print (all read, to the end: a pipe left full would be a test artefact). Stopped with Ctrl-C
    (SIGINT) at the end; one that has not stopped a minute later is killed and the test fails."""
    launcher = subprocess.Popen(
        [str(Path(sys.executable).with_name("minsheng")), "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: List[str] = []
    threading.Thread(target=lambda: seen.extend(iter(launcher.stdout.readline, "")), daemon=True).start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and launcher.poll() is None and not any("Press Ctrl-C" in s for s in seen):
        time.sleep(0.5)
    try:
        yield launcher, seen
    finally:
        launcher.send_signal(signal.SIGINT)
        try:
            launcher.wait(timeout=60)
        except subprocess.TimeoutExpired:
            launcher.kill()
            raise


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def post_json(url: str, body, timeout: float = 90, headers: Dict[str, str] | None = None) -> bytes:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


class Stack:
    """The product's processes as `minsheng serve` runs them, configured by the environment; the
    action server may be reached through another address (`actions_url`, e.g. a proxy in a test).
    With `replicas` > 1: that many Rasa processes ("rasa-1", …) and action servers behind HAProxy
    ("balancer", bot/balancer.py), which listens on the Rasa and action ports, as `minsheng run`
    starts them."""

    def __init__(
        self,
        var: Path,
        database_url: str,
        model: Path,
        ports: Dict[str, int],
        actions_url: str = "",
        extra_env: Dict[str, str] | None = None,
        replicas: int = 1,
    ) -> None:
        self.var = var
        self.ports = ports
        self.receiver = CallbackReceiver()
        self.env = {
            **os.environ,
            "MINSHENG_DATABASE_URL": database_url,
            "MINSHENG_TRACKER_URL": database_url,
            "MINSHENG_VAR_DIR": str(var),
            "MINSHENG_LOCK_STORE_URL": "redis://127.0.0.1:6379/15",
            "MINSHENG_RASA_PORT": str(ports["rasa"]),
            "MINSHENG_ACTIONS_PORT": str(ports["actions"]),
            "MINSHENG_WEB_PORT": str(ports["web"]),
            "MINSHENG_ACTIONS_URL": actions_url or f"http://127.0.0.1:{ports['actions']}/webhook",
            "MINSHENG_CALLBACK_URL": self.receiver.url,
            "MINSHENG_RASA_URL": f"http://127.0.0.1:{ports['rasa']}",
            "MINSHENG_RASA_TOKEN": TOKEN,
            "MINSHENG_SCHEDULER_INTERVAL": "1",
            "MINSHENG_OUTBOX_CLAIM_SECONDS": "5",
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            # As behind one load balancer: Rasa takes the client's address from X-Forwarded-For.
            "SANIC_PROXIES_COUNT": "1",
            # These stacks' tests file the same problems for many residents: each is filed. The
            # question "the same problem?" is tested on a stack of its own (test_duplicate_reports.py).
            "MINSHENG_DUPLICATE_QUESTION": "off",
            **(extra_env or {}),
        }
        assert model.exists(), model
        minsheng = str(Path(sys.executable).with_name("minsheng"))
        self.commands = {part: [minsheng, "serve", part] for part in ("actions", "rasa", "web")}
        self.health = {
            "actions": lambda: get_json(f"http://127.0.0.1:{ports['actions']}/health")["status"] == "ok",
            "rasa": lambda: get_json(f"http://127.0.0.1:{ports['rasa']}/status?token={TOKEN}").get("model_file"),
            "web": lambda: get_json(f"http://127.0.0.1:{ports['web']}/healthz")["status"] == "ok",
        }
        self.replicas = replicas
        if replicas > 1:
            self._replicate(replicas, minsheng)
        self.processes: Dict[str, subprocess.Popen] = {}
        self.rasa_url = f"http://127.0.0.1:{ports['rasa']}"
        self.web_url = f"http://127.0.0.1:{ports['web']}"

    def _replicate(self, replicas: int, minsheng: str) -> None:
        from bot import balancer
        from bot.settings import Settings

        self.env["MINSHENG_RASA_REPLICAS"] = str(replicas)
        self.env["MINSHENG_REPLICA_BASE_PORT"] = str(free_range(2 * replicas))
        config = Settings.from_env(self.env)
        web = self.commands.pop("web")
        del self.commands["actions"], self.commands["rasa"]
        health = self.health
        self.health = {"web": health["web"]}
        for part, ports in (("actions", config.replicas.actions_ports()), ("rasa", config.replicas.rasa_ports())):
            for i, port in enumerate(ports, 1):
                name = f"{part}-{i}"
                self.commands[name] = [minsheng, "serve", part, "--host", "127.0.0.1", "--port", str(port)]
                if part == "actions":
                    self.health[name] = lambda port=port: get_json(f"http://127.0.0.1:{port}/health")["status"] == "ok"
                else:
                    self.health[name] = lambda port=port: get_json(f"http://127.0.0.1:{port}/status?token={TOKEN}").get(
                        "model_file"
                    )
        self.commands["balancer"] = balancer.command(balancer.write(config))
        self.health["balancer"] = health["rasa"]
        self.commands["web"] = web

    # ---------------------------------------------------------------- processes
    @contextlib.contextmanager
    def running(self) -> Iterator["Stack"]:
        """Started for the block and stopped after it; their logs are printed if they do not come up."""
        try:
            self.start()
            yield self
        except Exception:
            for name in self.commands:
                print(f"---- {name} log ----\n" + self.log(name))
            raise
        finally:
            self.stop()

    def start(self, *names: str) -> None:
        names = names or tuple(self.commands)
        for name in names:
            if name not in self.processes or self.processes[name].poll() is not None:
                log = open(self.var / f"{name}.log", "a")
                self.processes[name] = subprocess.Popen(
                    self.commands[name], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
                )
        for name in names:
            self._wait(name, 240 * self.replicas)

    def _wait(self, name: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited with {self.processes[name].returncode}:\n{self.log(name)}")
            try:
                if self.health[name]():
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{name} did not come up:\n{self.log(name)}")

    def stop(self, *names: str) -> None:
        for name in names or tuple(self.processes):
            process = self.processes.get(name)
            if process is not None:
                stop_process(process)

    def kill(self, name: str) -> None:
        """SIGKILL: no clean-up, no chance to finish what it was doing."""
        self.processes[name].kill()
        self.processes[name].wait()

    def pause(self, name: str) -> None:
        self.processes[name].send_signal(signal.SIGSTOP)

    def resume(self, name: str) -> None:
        self.processes[name].send_signal(signal.SIGCONT)

    def rss_mb(self, name: str) -> float:
        """Resident memory of a running process, in MB."""
        status = Path(f"/proc/{self.processes[name].pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) / 1024

    def log(self, name: str) -> str:
        path = self.var / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def add_web(self, name: str, port: int) -> None:
        """Another web-app process on the same store (as behind a load balancer)."""
        self.commands[name] = [str(Path(sys.executable).with_name("minsheng")), "serve", "web", "--port", str(port)]
        self.health[name] = lambda: get_json(f"http://127.0.0.1:{port}/healthz")["status"] == "ok"

    # ---------------------------------------------------------------- people
    def resident_says(self, sender: str, message: str) -> List[str]:
        """A message over the callback channel; returns what the receiver got in answer."""
        before = len(self.receiver.messages[sender])
        post_json(f"{self.rasa_url}/webhooks/callback/webhook", {"sender": sender, "message": message})
        return [m.get("text", "") for m in self.receiver.messages[sender][before:]]

    def staff(self, username: str, password: str) -> "StaffBrowser":
        return StaffBrowser(self.web_url, username, password)


class StaffBrowser:
    """A member of staff using the console's pages (login, CSRF tokens, forms) over HTTP."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.post("/staff/login", {"username": username, "password": password}, token_from="/staff/login")

    def get(self, path: str) -> str:
        with self.opener.open(self.base_url + path, timeout=30) as response:
            return response.read().decode()

    def post(self, path: str, fields: dict, token_from: str) -> str:
        token = re.search(r'name="csrf_token" value="([^"]+)"', self.get(token_from)).group(1)
        data = urllib.parse.urlencode({**fields, "csrf_token": token}).encode()
        with self.opener.open(self.base_url + path, data=data, timeout=30) as response:
            return response.read().decode()

    def act(self, number: str, action: str, **fields) -> str:
        return self.post(f"/staff/tickets/{number}/{action}", fields, token_from=f"/staff/tickets/{number}")
