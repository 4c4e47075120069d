"""`minsheng run`: migrates the store, then starts the action server, the Rasa server and the web app
(`minsheng serve …` each), prints where they are, restarts one that crashes, and stops all of them
on Ctrl-C.

Each process writes to its own bounded log file under var/log/ and, as far as the terminal keeps
up, to the console. Nothing the launcher does waits on its own standard output: a terminal (or a
pipe) nobody reads can neither stall a child nor keep Ctrl-C from stopping everything."""

from __future__ import annotations

import logging
import logging.handlers
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import IO, Callable, Dict, List, Optional

from bot import balancer, settings
from bot.serve import MODEL, PARTS
from bot.settings import LOOPBACK, Settings
from bot.store.migrate import upgrade

LOG_BYTES = 5 * 1024 * 1024  # per file; two older files are kept
LOG_BACKUPS = 2
CONSOLE_LINES = 2000  # lines waiting for a slow terminal before the console drops some
STOP_SECONDS = 15
RESTARTS_ALLOWED = 5  # within RESTART_WINDOW; more, and everything stops
RESTART_WINDOW = 120.0


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def commands(config: Optional[Settings] = None) -> Dict[str, List[str]]:
    """The processes to start: one of each part, or — MINSHENG_RASA_REPLICAS > 1 — that many action
    servers and Rasa processes on loopback behind HAProxy (bot/balancer.py), and the web app."""
    if config is None or config.replicas.count == 1:
        return {part: [_bin("minsheng"), "serve", part] for part in PARTS}
    replicas = config.replicas
    result: Dict[str, List[str]] = {}
    for part, ports in (("actions", replicas.actions_ports()), ("rasa", replicas.rasa_ports())):
        for i, port in enumerate(ports, 1):
            result[f"{part}-{i}"] = [_bin("minsheng"), "serve", part, "--host", LOOPBACK, "--port", str(port)]
    result["balancer"] = balancer.command(balancer.write(config))
    result["web"] = [_bin("minsheng"), "serve", "web"]
    return result


class Console:
    """Lines for the terminal, written by a thread of their own; when the terminal does not keep up
    (nobody reads the pipe), lines are dropped rather than anyone waiting."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.lines: "queue.Queue[str]" = queue.Queue(maxsize=CONSOLE_LINES)
        self.dropped = 0
        threading.Thread(target=self._write, name="console", daemon=True).start()

    def say(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            try:
                self.lines.put_nowait(line)
            except queue.Full:
                self.dropped += 1

    def _write(self) -> None:
        while True:
            line = self.lines.get()
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass

    def drain(self, seconds: float = 2.0) -> None:
        """Gives the terminal a moment to take what is left (never longer)."""
        deadline = time.monotonic() + seconds
        while not self.lines.empty() and time.monotonic() < deadline:
            time.sleep(0.05)


def _log_file(path: Path) -> logging.Logger:
    logger = logging.getLogger(f"minsheng.launcher.{path.stem}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    if not logger.handlers:
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    return logger


class Child:
    def __init__(
        self, name: str, command: List[str], log_dir: Path, console: Console, env: Optional[Dict[str, str]] = None
    ) -> None:
        self.name, self.command, self.console, self.env = name, command, console, env
        self.log_path = log_dir / f"{name}.log"
        self.log = _log_file(self.log_path)
        self.process: Optional[subprocess.Popen] = None
        self.started: List[float] = []

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=settings.PROJECT_ROOT,
        )
        self.started.append(time.monotonic())
        threading.Thread(
            target=self._copy_output, args=(self.process,), name=f"{self.name}-output", daemon=True
        ).start()

    def _copy_output(self, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        for raw in iter(process.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            self.log.info(line)
            self.console.say(f"[{self.name}] {line}")

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        if self.running():
            try:
                os.killpg(self.process.pid, signum)  # type: ignore[union-attr]
            except ProcessLookupError:
                pass

    def crashed_too_often(self) -> bool:
        now = time.monotonic()
        return len([t for t in self.started if now - t < RESTART_WINDOW]) > RESTARTS_ALLOWED


class Supervisor:
    """Starts children, restarts one that stops by itself (waiting longer each time), stops all."""

    def __init__(
        self,
        commands: Dict[str, List[str]],
        log_dir: Path,
        console: Console,
        env: Optional[Dict[str, str]] = None,
        backoff: float = 1.0,
    ) -> None:
        self.console = console
        self.backoff = backoff
        self.children = [Child(name, command, log_dir, console, env) for name, command in commands.items()]
        self.stopping = threading.Event()

    def start(self) -> None:
        for child in self.children:
            child.start()

    def watch_once(self) -> bool:
        """Restarts what stopped; False when a child keeps crashing and everything should stop."""
        for child in self.children:
            if child.running() or self.stopping.is_set():
                continue
            code = child.process.returncode if child.process else None
            if child.crashed_too_often():
                self.console.say(
                    f"{child.name} stopped (exit code {code}) {RESTARTS_ALLOWED} times in "
                    f"{int(RESTART_WINDOW)} s; see {child.log_path}. Stopping everything."
                )
                return False
            delay = min(self.backoff * 2 ** (len(child.started) - 1), 30)
            self.console.say(f"{child.name} stopped (exit code {code}); starting it again in {delay:g} s.")
            if self.stopping.wait(delay):
                return True
            child.start()
        return True

    def stop(self) -> None:
        """SIGTERM to every child's process group, SIGKILL to what is left after STOP_SECONDS. A second
        Ctrl-C meanwhile does not interrupt the stopping."""
        self.stopping.set()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for child in self.children:
            child.signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.signal(signal.SIGKILL)
                child.process.wait()

    def run(self, until: Callable[[], bool] = lambda: False) -> int:
        """Watches the children until Ctrl-C or SIGTERM (0) or one keeps crashing (1)."""
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):  # also when started in the background (SIGINT ignored)
                signal.signal(signum, _interrupt)
        try:
            while not until():
                if not self.watch_once():
                    return 1
                time.sleep(0.5)
            return 0
        except KeyboardInterrupt:
            self.console.say("Stopping…")
            return 0
        finally:
            self.stop()


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


def balanced(url: str, replicas: int, seconds: float) -> bool:
    """Whether the balancer at url has sent requests to each of its replicas (it marks a process up
    only after a health check that comes up to a second after the process answers)."""
    deadline, seen = time.monotonic() + seconds, set()
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                seen.add(response.headers.get(balancer.HEADER))
        except OSError:
            pass
        if len(seen - {None}) >= replicas:
            return True
        time.sleep(0.2)
    return False


def ensure_first_admin(config: Settings) -> str:
    """On an empty store, an `admin` account with a password kept in var/admin-password."""
    from bot.staff.accounts import create_user, generate_password, has_users
    from bot.store.db import session_scope

    path = config.first_admin_password_file()
    with session_scope(config.database_url) as session:
        if has_users(session):
            return f"(first admin: user admin, password in {path})" if path.exists() else ""
        password = generate_password()
        create_user(session, settings.FIRST_ADMIN, password, "admin", display_name="管理员")
    path.write_text(password + "\n")
    path.chmod(0o600)
    return f"(log in as admin / {password}; also kept in {path} until you change it)"


def banner(config: Settings, first_admin: str, ready: bool) -> str:
    ports, var = config.ports, config.var_dir
    replicas = config.replicas.count
    behind = f"  ({replicas} Rasa processes and action servers behind HAProxy)\n" if replicas > 1 else ""
    return (
        "\n民生 Minsheng is running:\n" + behind + f"  resident chat  http://localhost:{ports.web}/\n"
        f"  health         http://localhost:{ports.web}/healthz\n"
        f"  Rasa server    http://localhost:{ports.rasa}/  (REST: POST /webhooks/rest/webhook; "
        f"HTTP API token in {var / 'rasa-token'} unless MINSHENG_RASA_TOKEN is set)\n"
        f"  action server  http://localhost:{ports.actions}/health  (answers Rasa only)\n"
        f"  staff console  http://localhost:{ports.web}/staff/  {first_admin}\n"
        f"  logs           {config.log_dir()}/\n"
        + ("" if ready else "  (some part did not answer in time; see its log)\n")
        + "Press Ctrl-C to stop everything.\n"
    )


def _interrupt(*_args) -> None:
    raise KeyboardInterrupt


def run() -> int:
    console = Console(sys.stdout)
    if not MODEL.exists():
        print(f"No trained model at {MODEL}; run `make model` (or `make run`, which trains it).")
        return 1
    config = settings.prepare_process()
    ports = config.ports
    if config.replicas.count > 1 and balancer.missing():
        print(balancer.missing())
        return 1
    upgrade(config.database_url)
    first_admin = ensure_first_admin(config)
    config.rasa_token(), config.actions_secret(), config.secret_key()  # made once, before the children read them
    supervisor = Supervisor(commands(config), config.log_dir(), console)
    try:
        supervisor.start()
    except BaseException:
        supervisor.stop()
        raise

    def show_banner() -> None:
        # Rasa processes loading their models at once share the cores: each takes longer.
        replicas = config.replicas
        ready = wait_for(f"http://127.0.0.1:{ports.rasa}/", 180 * replicas.count) and wait_for(
            f"http://127.0.0.1:{ports.actions}/health", 60
        )
        if replicas.count > 1:
            ready = (
                ready
                and all(wait_for(f"http://127.0.0.1:{port}/", 180) for port in replicas.rasa_ports())
                and all(wait_for(f"http://127.0.0.1:{port}/health", 60) for port in replicas.actions_ports())
                and balanced(f"http://127.0.0.1:{ports.rasa}/", replicas.count, 30)
            )
        if not supervisor.stopping.is_set():
            console.say(banner(config, first_admin, ready))

    threading.Thread(target=show_banner, name="banner", daemon=True).start()
    code = supervisor.run()
    console.drain()
    return code
