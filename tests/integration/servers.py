"""Servers a fault test owns and may stop at will, without disturbing the machine's own: a private
PostgreSQL cluster, a private Redis, and a TCP proxy in front of the action server that can lose
the action server's answer after the work is done and tells which actions Rasa called."""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from tests.support.scratch import free_port

_NEXT_ACTION = re.compile(rb'"next_action": ?"([a-z_]+)"')


def _wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


class PrivatePostgres:
    """A PostgreSQL cluster of its own (Debian's binaries, run as the postgres user), trust auth."""

    def __init__(self) -> None:
        self.bin = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="minsheng-pg-"))
        account = pwd.getpwnam("postgres")
        os.chown(self.root, account.pw_uid, account.pw_gid)
        self.data = self.root / "data"
        self._as_postgres(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(
            ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *command],
            check=True,
            capture_output=True,
            cwd=self.root,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "start",
        )
        _wait_for_port(self.port)

    def stop(self) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        _wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()


class ActionProxy:
    """Forwards Rasa's calls to the action server. With `lose_answer_to` naming an action, a call of
    that action reaches the action server, which does the work and answers; the proxy then drops the
    connection: to Rasa, the action server died after doing the work."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.lose_answer_to: str | None = None
        self.calls_lost = 0
        self.calls: list[str] = []  # the actions Rasa asked for, in order
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/webhook"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self.server.accept()
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=120)
        except OSError:
            client.close()  # the action server is down: as if Rasa had reached it directly
            return
        request = bytearray()

        def pump_requests() -> None:
            named = False
            try:
                while data := client.recv(65536):
                    if data.startswith(b"POST "):  # the next request on a kept connection
                        request.clear()
                        named = False
                    if len(request) < 65536:
                        request.extend(data)
                    if not named and (called := _NEXT_ACTION.search(request)):
                        self.calls.append(called.group(1).decode())
                        named = True
                    upstream.sendall(data)
            except OSError:
                pass

        threading.Thread(target=pump_requests, daemon=True).start()
        try:
            while data := upstream.recv(65536):
                wanted = self.lose_answer_to
                if wanted and any(f'"next_action"{gap}"{wanted}"'.encode() in request for gap in (": ", ":")):
                    self.calls_lost += 1
                    break  # the work is done; its answer never arrives
                client.sendall(data)
        except OSError:
            pass
        finally:
            client.close()
            upstream.close()
