"""The staff console under concurrency: 50 staff working the 100,000-ticket PostgreSQL store at once,
while residents chat with the same stack.

    make benchmark-console-load   # needs the PostgreSQL server on 127.0.0.1:5432 and Redis

Fills a scratch database as `make benchmark-console` does (100,000 tickets, VACUUM ANALYZE), adds
the staff (three in four dispatchers, the rest department staff of six departments, each signed in
with their own session), and starts the product's three processes on it as `minsheng serve` runs
them (tests/support/stack.py), with the Redis lock store. Then three phases of the same length:

1. residents alone: the chat benchmark's closed-loop residents (benchmarks/chat.py: a report and
   its status, Simplified and Traditional, each waiting for the answer before the next message);
2. staff alone: each member of staff opens a page, waits for it, reads it for a while (`--think`,
   seconds, drawn uniformly around the mean given), and opens the next — the queue (unfiltered,
   filtered, searched, a later page), a ticket of their own queue, the dashboard (dispatchers:
   department staff have none), an export of a week's tickets, in the proportions of PAGES;
3. both at once.

Prints p50/p95/p99 of each phase and page kind, the processes' CPU, and the issue's targets: the
console's p95 < 300 ms under 50 staff, and the chat's p95 with the staff working at most 20 % above
its p95 without them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import aiohttp
import sqlalchemy as sa

from benchmarks.chat import MINSHENG_SCRIPTS, Bot, Level, cpu_seconds, drive, print_level
from benchmarks.console import fill
from benchmarks.delivery import percentile
from tests.support.scratch import free_port, scratch_database

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "bot" / "models" / "minsheng.tar.gz"
PASSWORD = "bench-password"
DEPARTMENTS = ["transport", "sanitation", "housing_property", "utilities", "environment", "enforcement"]
WORDS = ["井盖", "路灯", "垃圾", "噪音", "电梯", "停水", "违建", "油烟"]
STATUSES = ["submitted", "dispatched", "in_progress", "resolved", "returned", "reopened"]

# (kind, weight): what a member of staff opens next.
PAGES: Sequence[Tuple[str, int]] = (
    ("queue", 20),
    ("queue filtered", 20),
    ("queue search", 10),
    ("queue later page", 5),
    ("ticket", 30),
    ("dashboard", 10),
    ("export", 5),
)


@dataclass
class Staff:
    username: str
    department: str  # "" for a dispatcher
    numbers: List[str]  # tickets this member of staff may open


@dataclass
class Console:
    latencies: Dict[str, List[float]] = field(default_factory=dict)
    errors: Dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def all(self) -> List[float]:
        return [ms for values in self.latencies.values() for ms in values]


def add_staff(url: str, count: int) -> List[Staff]:
    """`count` members of staff, each able to open a sample of the tickets their queue shows."""
    from bot.staff.accounts import create_user
    from bot.store.db import session_scope

    engine = sa.create_engine(url, future=True)
    with engine.connect() as connection:
        every = [n for (n,) in connection.execute(sa.text("SELECT number FROM tickets ORDER BY random() LIMIT 3000"))]
        own = {
            d: [
                n
                for (n,) in connection.execute(
                    sa.text("SELECT number FROM tickets WHERE lead_department_id = :d ORDER BY random() LIMIT 500"),
                    {"d": d},
                )
            ]
            for d in DEPARTMENTS
        }
    engine.dispose()
    staff: List[Staff] = []
    with session_scope(url) as db:
        for i in range(count):
            if i % 4 == 3:
                department = DEPARTMENTS[(i // 4) % len(DEPARTMENTS)]
                create_user(db, f"bench-staff-{i:02d}", PASSWORD, "department", department)
                staff.append(Staff(f"bench-staff-{i:02d}", department, own[department] or every))
            else:
                create_user(db, f"bench-staff-{i:02d}", PASSWORD, "dispatcher")
                staff.append(Staff(f"bench-staff-{i:02d}", "", every))
    return staff


def next_path(rng: random.Random, member: Staff) -> Tuple[str, str]:
    pages = [(k, w) for k, w in PAGES if not (member.department and k == "dashboard")]  # not theirs to see
    kind = rng.choices([k for k, _ in pages], [w for _, w in pages])[0]
    month = rng.randrange(2, 11)
    if kind == "queue":
        return kind, "/staff/"
    if kind == "queue filtered":
        status = rng.choice(STATUSES)
        extra = rng.choice(["", "&urgency=hazard", "&overdue=1&sort=deadline", "&sort=deadline"])
        return kind, f"/staff/?status={status}{extra}"
    if kind == "queue search":
        return kind, f"/staff/?q={rng.choice(WORDS)}&from=2026-{month:02d}-01&to=2026-{month:02d}-28"
    if kind == "queue later page":
        return kind, f"/staff/?page={rng.randrange(2, 40)}"
    if kind == "ticket":
        return kind, f"/staff/tickets/{rng.choice(member.numbers)}"
    if kind == "dashboard":
        return kind, f"/staff/dashboard?period=2026-{month:02d}" + rng.choice(["", "&by=category"])
    day = rng.randrange(1, 22)
    return kind, f"/staff/export.csv?from=2026-{month:02d}-{day:02d}&to=2026-{month:02d}-{day + 6:02d}"


async def sign_in(session: aiohttp.ClientSession, base: str, username: str) -> None:
    async with session.get(f"{base}/staff/login") as response:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await response.text()).group(1)
    form = {"username": username, "password": PASSWORD, "csrf_token": token, "next": "/staff/"}
    async with session.post(f"{base}/staff/login", data=form) as response:
        page = await response.text()
        if response.status != 200 or "退出" not in page:
            raise RuntimeError(f"{username} could not sign in: {response.status} {page[:300]}")


class Desks:
    """The staff's signed-in sessions, one each, kept for every phase (signing in is not timed)."""

    def __init__(self, base: str, staff: List[Staff]) -> None:
        self.base, self.staff = base, staff
        self.sessions: List[aiohttp.ClientSession] = []

    async def sign_in(self) -> None:
        timeout = aiohttp.ClientTimeout(total=120)
        self.sessions = [
            aiohttp.ClientSession(timeout=timeout, cookie_jar=aiohttp.CookieJar(unsafe=True)) for _ in self.staff
        ]
        await asyncio.gather(*(sign_in(s, self.base, m.username) for s, m in zip(self.sessions, self.staff)))

    async def close(self) -> None:
        for session in self.sessions:
            await session.close()

    async def work(self, seconds: float, think: float, seed: int) -> Console:
        """Every member of staff at once for `seconds`: a page, `think` seconds on it, the next."""
        console = Console()
        deadline = time.monotonic() + seconds

        async def member(index: int) -> None:
            rng = random.Random(seed * 1000 + index)
            await asyncio.sleep(rng.uniform(0, think))  # not all at the same moment
            while time.monotonic() < deadline:
                kind, path = next_path(rng, self.staff[index])
                started = time.perf_counter()
                try:
                    async with self.sessions[index].get(self.base + path, allow_redirects=False) as response:
                        await response.read()
                        status = response.status
                except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                    console.errors[type(error).__name__] = console.errors.get(type(error).__name__, 0) + 1
                    continue
                took = (time.perf_counter() - started) * 1000
                if status != 200:
                    console.errors[f"{kind} HTTP {status}"] = console.errors.get(f"{kind} HTTP {status}", 0) + 1
                else:
                    console.latencies.setdefault(kind, []).append(took)
                await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))

        started = time.monotonic()
        await asyncio.gather(*(member(i) for i in range(len(self.staff))))
        console.seconds = time.monotonic() - started
        return console


def print_console(label: str, console: Console) -> None:
    def line(name: str, values: List[float]) -> str:
        if not values:
            return f"  {name:<18} no answer"
        return (
            f"  {name:<18} {len(values):6d} pages; p50 {percentile(values, 0.5):6.0f} "
            f"p95 {percentile(values, 0.95):6.0f} p99 {percentile(values, 0.99):6.0f} ms"
        )

    every = console.all()
    errors = sum(console.errors.values())
    detail = f" ({', '.join(f'{k} {v}' for k, v in sorted(console.errors.items()))})" if errors else ""
    print(
        f"{label}: {len(every)} pages in {console.seconds:.1f} s = {len(every) / console.seconds:.1f}/s; "
        f"errors {errors}{detail}"
    )
    print(line("all pages", every))
    for kind, _ in PAGES:
        print(line(kind, console.latencies.get(kind, [])))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--staff", type=int, default=50)
    parser.add_argument("--residents", type=int, default=5, help="concurrent residents chatting")
    parser.add_argument("--think", type=float, default=2.0, help="mean seconds a member of staff reads a page")
    parser.add_argument("--seconds", type=float, default=60, help="per phase")
    args = parser.parse_args(argv)
    os.environ.setdefault("MINSHENG_LOCK_STORE_URL", "redis://127.0.0.1:6379/14")
    with scratch_database("minsheng_bench_load") as url:
        return measure(url, args)


def measure(url: str, args) -> int:
    from tests.support.stack import Stack

    started = time.perf_counter()
    os.environ["MINSHENG_DATABASE_URL"] = url
    fill(url, args.tickets)
    staff = add_staff(url, args.staff)
    print(f"{args.tickets} tickets and {len(staff)} staff in PostgreSQL in {time.perf_counter() - started:.0f} s")
    stack = Stack(
        Path(tempfile.mkdtemp(prefix="minsheng-bench-load-")),
        url,
        MODEL,
        {"rasa": free_port(), "actions": free_port(), "web": free_port()},
        extra_env={"MINSHENG_SCHEDULER_INTERVAL": "5"},
    )
    try:
        stack.start()
        pids = {name: stack.processes[name].pid for name in ("rasa", "actions", "web")}
        bot = Bot("chat", f"{stack.rasa_url}/webhooks/rest/webhook", pids, MINSHENG_SCRIPTS)
        pids = {**pids, "postgres": postmaster(url)}  # CPU only: its shared memory would count once per backend
        load = os.getloadavg()
        print(
            f"{os.cpu_count()} cores; load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
            f"{args.residents} residents, {len(staff)} staff (think {args.think:.1f} s), "
            f"{args.seconds:.0f} s per phase",
            flush=True,
        )
        asyncio.run(phases(bot, Desks(stack.web_url, staff), pids, args))
        load = os.getloadavg()
        print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        return 0
    finally:
        stack.stop()


def postmaster(url: str) -> int:
    """The PostgreSQL server's main process (its backends, the pages' queries, are its children)."""
    engine = sa.create_engine(url, future=True)
    with engine.connect() as connection:  # read while the backend is there
        backend = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        parent = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
    engine.dispose()
    return parent


def reaped(pid: int) -> float:
    """CPU seconds of the process's children that have ended (PostgreSQL's backends come and go)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # cutime, cstime


async def phases(bot: Bot, desks: Desks, pids: Dict[str, int], args) -> None:
    def costs() -> Dict[str, float]:
        found = {name: cpu_seconds(pid) + (reaped(pid) if name == "postgres" else 0) for name, pid in pids.items()}
        return {**found, "load tool": time.process_time()}  # on the same machine: it takes CPU too

    def print_costs(before: Dict[str, float], seconds: float) -> None:
        after = costs()
        print("  CPU (cores busy): " + ", ".join(f"{n} {(after[n] - before[n]) / seconds:.2f}" for n in after))

    try:
        await desks.sign_in()
        await drive(bot, 2, 5)  # warm-up: what Rasa loads lazily, and the web app's first pages
        await desks.work(5, 0.2, seed=1)

        before = costs()
        alone = await drive(bot, args.residents, args.seconds)
        print("\n1. residents alone")
        print_level(bot, alone)
        print_costs(before, alone.seconds)

        before = costs()
        console_alone = await desks.work(args.seconds, args.think, seed=5)
        print("\n2. staff alone")
        print_console("console", console_alone)
        print_costs(before, console_alone.seconds)

        before = costs()
        chat, console = await asyncio.gather(
            drive(bot, args.residents, args.seconds), desks.work(args.seconds, args.think, seed=9)
        )
        print("\n3. both at once")
        print_level(bot, chat)
        print_console("console", console)
        print_costs(before, max(chat.seconds, console.seconds))
        report(alone, console_alone, chat, console)
    finally:
        await desks.close()


def report(alone: Level, console_alone: Console, chat: Level, console: Console) -> None:
    print("\ntargets")
    if console.all():
        p95, quiet = percentile(console.all(), 0.95), percentile(console_alone.all(), 0.95)
        print(f"  console p95 with residents chatting: {p95:.0f} ms (alone {quiet:.0f} ms; target < 300)")
    if alone.latencies and chat.latencies:
        rise = chat.ms(0.95) / alone.ms(0.95) - 1
        print(
            f"  chat p95 {alone.ms(0.95):.0f} → {chat.ms(0.95):.0f} ms with the staff working: {rise * 100:+.0f} % "
            f"(target ≤ +20 %); messages/s {alone.rate:.1f} → {chat.rate:.1f}"
        )


if __name__ == "__main__":
    sys.exit(main())
