"""The launcher of `minsheng run` as a supervisor, with stand-in children: it restarts one that
crashes, gives up on one that keeps crashing, keeps each log bounded, and stops everything on
Ctrl-C even when nobody reads its terminal."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from bot import launcher

F_SETPIPE_SZ = 1031

SUPERVISE = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from bot.launcher import Console, Supervisor
    commands, log_dir, backoff = json.loads(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
    supervisor = Supervisor(commands, log_dir, Console(sys.stdout), backoff=backoff)
    supervisor.start()
    sys.exit(supervisor.run())
""")


def child(code: str, pid_file: Path) -> list:
    """A stand-in process that notes its pid, then runs `code`."""
    return [
        sys.executable,
        "-c",
        f"import os, sys, time\nopen({str(pid_file)!r}, 'a').write(f'{{os.getpid()}}\\n')\n{code}",
    ]


def supervise(tmp_path, commands, backoff=1.0, **popen):
    import json

    return subprocess.Popen(
        [sys.executable, "-c", SUPERVISE, json.dumps(commands), str(tmp_path), str(backoff)],
        cwd=launcher.settings.PROJECT_ROOT,
        **popen,
    )


def pids(path: Path):
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_until(condition, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_ctrl_c_stops_everything_even_when_nobody_reads_the_terminal(tmp_path):
    """The launcher's stdout is a pipe nobody reads (4 KB): a chatty child fills it at once."""
    noisy = child("while True:\n    sys.stdout.write('x' * 300 + '\\n'); sys.stdout.flush()", tmp_path / "noisy.pid")
    quiet = child("time.sleep(600)", tmp_path / "quiet.pid")
    process = supervise(tmp_path, {"noisy": noisy, "quiet": quiet}, stdout=subprocess.PIPE)
    fcntl.fcntl(process.stdout.fileno(), F_SETPIPE_SZ, 4096)
    try:
        assert wait_until(lambda: pids(tmp_path / "noisy.pid") and pids(tmp_path / "quiet.pid"))
        time.sleep(3)  # the pipe is full long before this
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
    for pid in pids(tmp_path / "noisy.pid") + pids(tmp_path / "quiet.pid"):
        assert wait_until(lambda pid=pid: not alive(pid), 5), f"child {pid} still running"
    logs = [p for p in tmp_path.iterdir() if p.name.startswith("noisy.log")]
    assert sum(p.stat().st_size for p in logs) <= (launcher.LOG_BACKUPS + 1) * launcher.LOG_BYTES + 1000
    assert (tmp_path / "noisy.log").stat().st_size > 0


def test_a_crashed_child_is_started_again_and_one_that_keeps_crashing_stops_everything(tmp_path):
    steady = child("time.sleep(600)", tmp_path / "steady.pid")
    crashing = child("sys.exit(3)", tmp_path / "crashing.pid")
    process = supervise(
        tmp_path, {"steady": steady, "crashing": crashing}, backoff=0.1, stdout=subprocess.PIPE, text=True
    )
    try:
        output, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 1
    assert len(pids(tmp_path / "crashing.pid")) == launcher.RESTARTS_ALLOWED + 1
    assert "crashing stopped (exit code 3); starting it again" in output and "Stopping everything" in output
    assert len(pids(tmp_path / "steady.pid")) == 1 and not alive(pids(tmp_path / "steady.pid")[0])


def test_a_killed_child_comes_back(tmp_path):
    worker = child("time.sleep(600)", tmp_path / "worker.pid")
    process = supervise(tmp_path, {"worker": worker}, backoff=0.1, stdout=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: len(pids(tmp_path / "worker.pid")) == 1)
        os.kill(pids(tmp_path / "worker.pid")[0], signal.SIGKILL)
        assert wait_until(lambda: len(pids(tmp_path / "worker.pid")) == 2)
        assert alive(pids(tmp_path / "worker.pid")[1])
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
    assert not alive(pids(tmp_path / "worker.pid")[1])
