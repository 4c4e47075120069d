"""Staff console at scale: 100,000 generated tickets in PostgreSQL, the queue, the dashboard and the
hot spots timed over HTTP against the real web app, and the duplicate lookup a report makes at
intake (bot/store/duplicates.py, as the action server calls it) timed in-process.

    make benchmark-console        # needs the PostgreSQL server on 127.0.0.1:5432

Creates a scratch database, fills it, starts `python -m bot.web` on a free port, signs in as a
dispatcher and as department staff, requests each page REPEAT times and prints median and p95.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.cookiejar
import os
import random
import re
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import sqlalchemy as sa

from tests.support.scratch import free_port, scratch_database

ROOT = Path(__file__).resolve().parents[1]
WORDS = [
    "路灯坏了",
    "垃圾没人收",
    "井盖丢了",
    "楼道瓷砖掉了",
    "广场舞太吵",
    "停水两天",
    "物业不管",
    "树枝挡路",
    "消防通道被堵",
    "违建",
    "养老金没到账",
    "入学报名难",
    "电梯故障",
    "油烟扰民",
    "暖气不热",
]


def fill(url: str, count: int) -> None:
    from bot import places, taxonomy
    from bot.staff.accounts import create_user
    from bot.store.db import session_scope
    from bot.store.migrate import upgrade
    from bot.store.workdays import ResponseClock, local_today

    upgrade(url)
    tax = taxonomy.load()
    categories = list(tax.categories.values())
    engine = sa.create_engine(url, future=True, executemany_mode="values_plus_batch")
    rng = random.Random(7)
    start = dt.datetime(2026, 1, 1)
    statuses = ["submitted", "dispatched", "in_progress", "resolved", "closed", "returned", "reopened", "rejected"]
    rows, per_day = [], {}
    open_states = {"submitted", "dispatched", "in_progress", "returned", "reopened"}
    today = local_today()  # the overdue check's day
    where = places.load().resolve("幸福小区")  # one compound: the worst case for narrowing by place
    clock = ResponseClock(start.date(), (start + dt.timedelta(days=331)).date())  # as filing sets it
    for i in range(count):
        created = start + dt.timedelta(minutes=rng.randrange(0, 330 * 24 * 60))
        day = created.strftime("%Y%m%d")
        per_day[day] = per_day.get(day, 0) + 1
        category = rng.choice(categories)
        urgency = rng.choices(["normal", "hazard", "emergency"], [90, 8, 2])[0]
        rows.append(
            {
                "number": f"MS-{day}-{per_day[day]:04d}",
                "submission_key": f"bench-{i}",
                "conversation_id": f"bench-{i % 5000}",
                "channel": "rest",
                "description": f"{rng.choice(WORDS)}，{rng.choice(WORDS)}，第{i}号测试数据",
                "category_id": category.id,
                "category_confidence": round(rng.random(), 3),
                "urgency": urgency,
                "location": f"幸福小区{rng.randrange(1, 40)}栋",
                "street": where.street,
                "community": where.community,
                "phone": f"139{rng.randrange(10**8):08d}",
                "status": rng.choice(statuses),
                "lead_department_id": category.department_id,
                "deadline": (created + dt.timedelta(days=rng.randrange(1, 20))).date(),
                "flagged": urgency == "emergency",
                "response_due": clock.due(created, urgency),
                "created_at": created,
                "updated_at": created,
            }
        )
        # As in a store in service, the scheduled overdue check has already noted the open tickets
        # past their deadline (else the web app's scheduler would spend the run writing 60,000
        # history lines, 500 every 5 s, beside the pages measured).
        row = rows[-1]
        row["overdue_noted_at"] = created if row["status"] in open_states and row["deadline"] < today else None
    tickets = sa.Table("tickets", sa.MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        for chunk in range(0, len(rows), 5000):
            connection.execute(tickets.insert(), rows[chunk : chunk + 5000])
    # As autovacuum leaves a table in service (the visibility map set, statistics fresh): a store
    # filled over months is not one bulk insert a moment ago.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE tickets"))
    engine.dispose()
    with session_scope(url) as db:
        create_user(db, "bench-dispatcher", "bench-password", "dispatcher")
        create_user(db, "bench-roads", "bench-password", "department", "transport")


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + urllib.parse.quote(path, safe="/?&=:-"), timeout=30) as response:
            return response.read().decode()

    def login(self, username: str) -> None:
        token = re.search(r'name="csrf_token" value="([^"]+)"', self.get("/staff/login")).group(1)
        data = urllib.parse.urlencode(
            {"username": username, "password": "bench-password", "csrf_token": token, "next": "/staff/"}
        ).encode()
        self.opener.open(self.base + "/staff/login", data=data, timeout=30).read()

    def time(self, path: str, repeat: int) -> list:
        self.get(path)  # warm
        seconds = []
        for _ in range(repeat):
            start = time.perf_counter()
            self.get(path)
            seconds.append((time.perf_counter() - start) * 1000)
        return sorted(seconds)


def intake(url: str, count: int) -> None:
    """The duplicate lookup of `count` new reports (each different, so nothing is cached), each in
    its own transaction as the action server makes it, among the 100,000 tickets."""
    from bot.store import duplicates
    from bot.store.db import session_scope

    duplicates.warm_up()  # as the action server does when it starts
    rng = random.Random(11)
    categories = ["roads", "sanitation", "building", "utilities", "noise_pollution", "safety"]
    seconds, found = [], 0
    for i in range(count):
        now = dt.datetime(2026, 1, 10) + dt.timedelta(minutes=rng.randrange(0, 300 * 24 * 60))
        words = f"{rng.choice(WORDS)}，{rng.choice(WORDS)}，新反映{i}"
        probe = duplicates.Probe.of_report(words, rng.choice(categories), f"幸福小区{rng.randrange(1, 40)}栋门口")
        start = time.perf_counter()
        with session_scope(url) as session:
            found += bool(duplicates.candidates(session, probe, now=now))
        seconds.append((time.perf_counter() - start) * 1000)
    seconds.sort()
    p95 = seconds[max(0, int(round(0.95 * len(seconds))) - 1)]
    label = f"duplicate lookup at intake ({count} new reports, {found} with a match)"
    print(f"{'action':<11} {label:<58} {statistics.median(seconds):>8.1f} {p95:>8.1f}")


def hotspots_anew(url: str, count: int) -> None:
    """The hot spots of a month worked out anew, as after any change to the store (the pages keep
    them until the next one), in-process."""
    from bot.staff import hotspots
    from bot.staff.statistics import Period
    from bot.store.db import session_scope

    seconds = []
    for i in range(count + 1):
        hotspots.forget()
        start = time.perf_counter()
        with session_scope(url) as session:
            hotspots.find(session, Period.month(2026, 6 + i % 2))
        seconds.append((time.perf_counter() - start) * 1000)
    seconds = sorted(seconds[1:])
    p95 = seconds[max(0, int(round(0.95 * len(seconds))) - 1)]
    label = "hot spots of a month worked out anew (after a change)"
    print(f"{'action':<11} {label:<58} {statistics.median(seconds):>8.1f} {p95:>8.1f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args(argv)

    with scratch_database("minsheng_bench") as url:
        return measure(url, args)


def measure(url: str, args) -> int:
    server = None
    try:
        started = time.perf_counter()
        fill(url, args.tickets)
        print(f"{args.tickets} tickets generated in PostgreSQL in {time.perf_counter() - started:.0f} s")
        port = free_port()
        env = {**os.environ, "MINSHENG_DATABASE_URL": url, "MINSHENG_VAR_DIR": str(ROOT / "var" / "bench")}
        server = subprocess.Popen(
            [sys.executable, "-m", "bot.web", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(60):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).read()
                break
            except OSError:
                time.sleep(0.5)
        dispatcher, department = Browser(base), Browser(base)
        dispatcher.login("bench-dispatcher")
        department.login("bench-roads")
        pages = [
            ("dispatcher", dispatcher, "/staff/"),
            ("dispatcher", dispatcher, "/staff/?status=in_progress&category=roads&urgency=hazard"),
            ("dispatcher", dispatcher, "/staff/?overdue=1&sort=deadline"),
            ("dispatcher", dispatcher, "/staff/?q=井盖&from=2026-06-01&to=2026-08-31"),
            ("dispatcher", dispatcher, "/staff/?page=200"),
            ("department", department, "/staff/?status=dispatched"),
            ("dispatcher", dispatcher, "/staff/dashboard?period=2026-06"),
            ("dispatcher", dispatcher, "/staff/dashboard?period=2026-06-2&by=category"),
            ("dispatcher", dispatcher, "/staff/inspection?period=2026-06-1"),
            ("dispatcher", dispatcher, "/staff/bulletin?period=2026-06"),
            ("dispatcher", dispatcher, "/staff/hotspots?period=2026-06"),
            ("dispatcher", dispatcher, "/staff/hotspots?period=2026-06-2"),
            ("dispatcher", dispatcher, "/staff/hotspots/section?period=2026-07"),
        ]
        print(f"{'who':<11} {'page':<58} {'median':>8} {'p95':>8}  (ms, {args.repeat} requests each)")
        for who, browser, path in pages:
            ms = browser.time(path, args.repeat)
            p95 = ms[max(0, int(round(0.95 * len(ms))) - 1)]
            print(f"{who:<11} {path:<58} {statistics.median(ms):>8.1f} {p95:>8.1f}")
        intake(url, args.repeat * 4)
        hotspots_anew(url, args.repeat)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
