"""Chat against a stock Rasa bot: one Minsheng Rasa process and a stock `rasa init` bot, the same
Rasa, the same machine, the same load, in one run.

    make benchmark-chat           # needs the PostgreSQL server on 127.0.0.1:5432 and Redis
    .venv/bin/python -m benchmarks.chat --seconds 30 --levels 1,20 --messages 10000

Trains a stock `rasa init --no-prompt` bot once with the project's own Rasa (kept under
~/.cache/minsheng/, one per Rasa version) and starts it (`rasa run --enable-api`, in-memory tracker
store, no action server: its stories need none). Starts Minsheng's three processes as `minsheng serve`
runs them, on a scratch PostgreSQL database (tickets and trackers) with the Redis lock store. Both are
driven by the same closed-loop load tool over the REST channel: each simulated resident sends a
message, waits for the answer, then sends the next, and starts a new conversation after the last.
Minsheng residents file a report and ask for its status, alternately in Simplified and Traditional
characters; stock residents follow the stock bot's own stories (greet, mood, goodbye). The levels
are run alternately (stock, then Minsheng, at each number of residents), so both see the same
machine. For each level: p50/p95/p99 latency, messages/s, errors (transport errors, "busy" answers,
answers that leave the script), and each process's CPU seconds and resident memory; then the ratios
Minsheng/stock. `--messages N` goes on until each Rasa process has answered N messages and prints
its memory then.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import aiohttp

from benchmarks.delivery import percentile
from tests.support.scratch import free_port, scratch_database
from tests.support.stack import stop_process

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "bot" / "models" / "minsheng.tar.gz"
BIN = Path(sys.executable).parent
BUSY = ("系统暂时有点忙", "系統暫時有點忙")

# (message, a piece of the expected answer): a conversation that leaves its script counts as an error.
Script = Sequence[Tuple[str, str]]
MINSHENG_SCRIPTS: List[Script] = [
    [
        ("你好", "民生小助手"),
        ("小区门口的路灯坏了好几天，晚上黑漆漆的", "在哪里"),
        ("育才路25号 阳光小区东门", "补充"),
        ("晚上老人出门不方便", "电话"),
        ("我的电话是 139 8888 7777", "确认"),
        ("确认", "MS-"),
        ("我的问题处理得怎么样了", "MS-"),
    ],
    [
        ("我們社區的垃圾已經一個禮拜沒人來收了", "環境衛生"),
        ("和平社區3棟後面", ""),
        ("沒有", ""),
        ("不留", "確認"),
        ("確認", "工單編號"),
        ("我的問題處理得怎麼樣了", "MS-"),
    ],
]
STOCK_SCRIPTS: List[Script] = [
    [("hello", "Hey! How are you?"), ("great", "Great, carry on!"), ("bye", "Bye")],
    [
        ("hi", "Hey! How are you?"),
        ("I am sad", "cheer you up"),
        ("yes", "Great, carry on!"),
        ("goodbye", "Bye"),
    ],
    [
        ("hey there", "Hey! How are you?"),
        ("very sad", "cheer you up"),
        ("no", "Bye"),
    ],
]


# ---------------------------------------------------------------------- processes and their costs


def descendants(pid: int) -> List[int]:
    found = [pid]
    for tid in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (tid / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            found.extend(descendants(int(child)))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process and its children still running, in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for each in descendants(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def rss_mb(pid: int) -> float:
    total = 0
    for each in descendants(pid):
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")), 0)
    return total / 1024


@dataclass
class Bot:
    """A chat server under test: its REST webhook, its processes (name → pid) and its scripts."""

    name: str
    webhook: str
    pids: Dict[str, int]
    scripts: List[Script]
    answered: int = 0


@dataclass
class Level:
    residents: int
    latencies: List[float] = field(default_factory=list)
    errors: Dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    cpu: Dict[str, float] = field(default_factory=dict)
    rss: Dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def ms(self, share: float) -> float:
        return percentile(self.latencies, share) * 1000 if self.latencies else float("nan")

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


# ---------------------------------------------------------------------- the closed-loop load tool


async def drive(bot: Bot, residents: int, seconds: float, until_answered: Optional[int] = None) -> Level:
    """`residents` simulated residents for `seconds` (or until the bot has answered `until_answered`
    messages in all): each sends, waits for the answer, sends the next."""
    level = Level(residents)
    deadline = time.monotonic() + seconds

    def going_on() -> bool:
        if until_answered is not None:
            return bot.answered < until_answered
        return time.monotonic() < deadline

    async def resident(index: int, session: aiohttp.ClientSession) -> None:
        round_ = 0
        while going_on():
            script = bot.scripts[(index + round_) % len(bot.scripts)]
            round_ += 1
            sender = f"bench-{bot.name}-{index}-{uuid.uuid4().hex[:8]}"
            for text, expected in script:
                if not going_on():
                    return
                started = time.perf_counter()
                try:
                    async with session.post(bot.webhook, json={"sender": sender, "message": text}) as response:
                        body = await response.json(content_type=None) if response.status == 200 else None
                        status = response.status
                except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                    level.error(type(error).__name__)
                    break
                took = time.perf_counter() - started
                bot.answered += 1
                if status != 200 or not isinstance(body, list):
                    level.error(f"HTTP {status}")
                    break
                answer = "\n".join(str(m.get("text", "")) for m in body)
                level.latencies.append(took)
                if any(busy in answer for busy in BUSY):
                    level.error("busy")
                    break
                if expected not in answer:
                    level.error("off script")
                    break

    before = {name: cpu_seconds(pid) for name, pid in bot.pids.items()}
    started = time.monotonic()
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as session:
        await asyncio.gather(*(resident(i, session) for i in range(residents)))
    level.seconds = time.monotonic() - started
    level.cpu = {name: cpu_seconds(pid) - before[name] for name, pid in bot.pids.items()}
    level.rss = {name: rss_mb(pid) for name, pid in bot.pids.items()}
    return level


# ---------------------------------------------------------------------- the stock bot


def rasa_version() -> str:
    out = subprocess.run([str(BIN / "rasa"), "--version"], capture_output=True, text=True, check=True).stdout
    return next(line.split()[-1] for line in out.splitlines() if line.startswith("Rasa Version"))


def stock_project(version: str) -> Path:
    """A stock `rasa init --no-prompt` project with its trained model, made once per Rasa version."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "minsheng" / f"stock-rasa-{version}"
    if list((cache / "models").glob("*.tar.gz")):
        return cache
    print(f"training a stock `rasa init` bot with Rasa {version} (once) in {cache} …", flush=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="stock-rasa-", dir=cache.parent))
    with open(cache.parent / f"stock-rasa-{version}-training.log", "w") as log:
        subprocess.run(
            [str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(scratch)],
            cwd=scratch,
            env=_quiet_env(),
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    shutil.rmtree(cache, ignore_errors=True)
    scratch.rename(cache)
    return cache


def _quiet_env() -> Dict[str, str]:
    return {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}


def start_stock(project: Path, log: Path) -> Tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [
            str(BIN / "rasa"),
            "run",
            "--enable-api",
            "--model",
            "models",
            "--interface",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=project,
        env=_quiet_env(),
        stdout=open(log, "a"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the stock bot exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            import urllib.request

            with urllib.request.urlopen(f"{url}/status", timeout=5) as response:
                if b"model_file" in response.read():
                    return process, url
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the stock bot did not come up:\n{log.read_text()[-3000:]}")


# ---------------------------------------------------------------------- the report


def print_level(bot: Bot, level: Level) -> None:
    errors = sum(level.errors.values())
    detail = f" ({', '.join(f'{k} {v}' for k, v in sorted(level.errors.items()))})" if errors else ""
    costs = ", ".join(f"{name} {level.cpu[name]:.1f} s / {level.rss[name]:.0f} MB" for name in bot.pids)
    print(
        f"{bot.name:8s} {level.residents:3d} residents: {len(level.latencies):6d} messages in {level.seconds:5.1f} s "
        f"= {level.rate:6.1f}/s; p50 {level.ms(0.5):6.0f} p95 {level.ms(0.95):6.0f} p99 {level.ms(0.99):6.0f} ms; "
        f"errors {errors}{detail}; CPU / RSS: {costs}",
        flush=True,
    )


def print_ratios(results: Dict[int, Dict[str, Level]]) -> None:
    print("\nMinsheng / stock (latency: > 1 is slower; messages/s: < 1 is fewer)")
    print(f"{'residents':>9s} {'p50':>6s} {'p95':>6s} {'p99':>6s} {'msg/s':>6s}")
    for residents, pair in results.items():
        ours, stock = pair.get("minsheng"), pair.get("stock")
        if not ours or not stock or not ours.latencies or not stock.latencies:
            continue
        print(
            f"{residents:9d} {ours.ms(0.5) / stock.ms(0.5):6.2f} {ours.ms(0.95) / stock.ms(0.95):6.2f} "
            f"{ours.ms(0.99) / stock.ms(0.99):6.2f} {ours.rate / stock.rate:6.2f}"
        )
    targets = []
    if 20 in results and {"minsheng", "stock"} <= results[20].keys():
        ratio = results[20]["minsheng"].rate / results[20]["stock"].rate
        targets.append(f"20 residents throughput {ratio:.2f}× stock (target ≥ 1.0)")
    if 1 in results and {"minsheng", "stock"} <= results[1].keys():
        ratio = results[1]["minsheng"].ms(0.5) / results[1]["stock"].ms(0.5)
        targets.append(f"1-resident p50 {ratio:.2f}× stock (target ≤ 1.5)")
    if targets:
        print("targets: " + "; ".join(targets))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,5,20,50", help="numbers of concurrent residents")
    parser.add_argument("--seconds", type=float, default=40, help="per level and bot")
    parser.add_argument(
        "--messages", type=int, default=0, help="then go on (20 residents) until each Rasa has answered this many"
    )
    parser.add_argument("--only", choices=("both", "minsheng", "stock"), default="both")
    args = parser.parse_args(argv)
    with scratch_database("minsheng_bench_chat") as url:
        return measure(url, args)


def measure(url: str, args) -> int:
    os.environ["MINSHENG_DATABASE_URL"] = url
    os.environ.setdefault("MINSHENG_LOCK_STORE_URL", "redis://127.0.0.1:6379/14")
    from bot.store.migrate import upgrade
    from tests.support.stack import Stack

    levels = [int(n) for n in args.levels.split(",") if n.strip()]
    version = rasa_version()
    var = Path(tempfile.mkdtemp(prefix="minsheng-bench-chat-"))
    bots: List[Bot] = []
    stoppers: List[Callable[[], None]] = []
    try:
        if args.only in ("both", "stock"):
            process, stock_url = start_stock(stock_project(version), var / "stock.log")
            stoppers.append(lambda: stop_process(process))
            bots.append(Bot("stock", f"{stock_url}/webhooks/rest/webhook", {"rasa": process.pid}, STOCK_SCRIPTS))
        if args.only in ("both", "minsheng"):
            upgrade(url)
            stack = Stack(
                var,
                url,
                MODEL,
                {"rasa": free_port(), "actions": free_port(), "web": free_port()},
                extra_env={"MINSHENG_SCHEDULER_INTERVAL": "5"},
            )
            stoppers.append(stack.stop)
            stack.start()
            pids = {name: stack.processes[name].pid for name in ("rasa", "actions", "web")}
            bots.append(Bot("minsheng", f"{stack.rasa_url}/webhooks/rest/webhook", pids, MINSHENG_SCRIPTS))
        load = os.getloadavg()
        print(
            f"Rasa {version}; {os.cpu_count()} cores; load average before: "
            f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {args.seconds:.0f} s per level and bot",
            flush=True,
        )
        for bot in bots:  # warm-up: the first messages load what Rasa loads lazily
            asyncio.run(drive(bot, 2, 5))
            bot.answered = 0
        results: Dict[int, Dict[str, Level]] = {}
        client_cpu = time.process_time()
        for residents in levels:
            for bot in bots:
                level = asyncio.run(drive(bot, residents, args.seconds))
                results.setdefault(residents, {})[bot.name] = level
                print_level(bot, level)
        print(f"load tool CPU: {time.process_time() - client_cpu:.1f} s")
        print_ratios(results)
        if args.messages:
            for bot in bots:
                started = time.monotonic()
                asyncio.run(drive(bot, 20, float("inf"), until_answered=args.messages))
                print(
                    f"{bot.name}: Rasa RSS after {bot.answered} messages: {rss_mb(bot.pids['rasa']):.0f} MB "
                    f"(the last {time.monotonic() - started:.0f} s at 20 residents)",
                    flush=True,
                )
        load = os.getloadavg()
        print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        return 0
    finally:
        for stop in reversed(stoppers):
            stop()


if __name__ == "__main__":
    raise SystemExit(main())
