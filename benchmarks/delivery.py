"""Updates to residents at a burst: N residents on the callback channel, each ticket dispatched at
once, timed from the store write to the message reaching the receiver.

    make benchmark-delivery       # needs the PostgreSQL server on 127.0.0.1:5432 and Redis

Starts the action server, the Rasa server and the web app (its scheduler ticking every second)
on a scratch PostgreSQL database, opens N conversations over the callback channel, writes N
dispatches, and prints the latency median / p95 / max, the throughput, and each process's memory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tests.support.scratch import free_port, scratch_database

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "bot" / "models" / "minsheng.tar.gz"


# The scheduler of a stack whose delivery is measured: ticking every second, claims long enough that
# no message is taken over while it is being sent.
BURST_ENV = {"MINSHENG_SCHEDULER_INTERVAL": "1", "MINSHENG_OUTBOX_CLAIM_SECONDS": "60"}


def percentile(values, share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--one-at-a-time", type=int, default=20, help="then this many single updates, each awaited")
    args = parser.parse_args(argv)

    with scratch_database("minsheng_bench") as url:
        return measure(url, args)


def measure(url: str, args) -> int:
    os.environ["MINSHENG_DATABASE_URL"] = url
    os.environ.setdefault("MINSHENG_LOCK_STORE_URL", "redis://127.0.0.1:6379/14")
    from bot.store.migrate import upgrade
    from tests.support.stack import Stack

    upgrade(url)
    stack = Stack(
        Path(tempfile.mkdtemp(prefix="minsheng-bench-")),
        url,
        MODEL,
        {"rasa": free_port(), "actions": free_port(), "web": free_port()},
        extra_env=BURST_ENV,
    )
    try:
        started = time.monotonic()
        stack.start()
        print(f"processes up in {time.monotonic() - started:.1f} s", flush=True)
        figures = burst(stack, args.residents, args.one_at_a_time)
        print("memory (RSS, MB): " + ", ".join(f"{n} {stack.rss_mb(n):.0f}" for n in ("rasa", "actions", "web")))
        return 0 if figures["complete"] else 1
    finally:
        stack.stop()


def burst(stack, count: int, one_at_a_time: int = 0, label: str = "bench") -> dict:
    """`count` residents on the callback channel, one ticket each, all dispatched at once: prints and
    returns how fast the updates reached them (the stack's scheduler ticking every second), then
    `one_at_a_time` single replies, each awaited."""
    from bot import taxonomy
    from bot.staff import accounts, workflow
    from bot.store.db import session_scope
    from bot.store.tickets import NewReport, create_ticket, find_by_number

    residents = [f"{label}-{i:04d}-{uuid.uuid4().hex[:6]}" for i in range(count)]
    for sender in residents:
        stack.resident_says(sender, "你好")
    with session_scope() as db:
        staff = accounts.create_user(
            db, f"{label}-dispatcher-{uuid.uuid4().hex[:6]}", "long-enough-password", "dispatcher"
        )
        numbers = {}
        for sender in residents:
            ticket, _ = create_ticket(db, NewReport(f"{sender}:1", sender, "路灯坏了", "roads"), taxonomy.load())
            numbers[sender] = ticket.number
    written = {}
    burst_started = time.monotonic()
    for sender in residents:
        with session_scope() as db:
            workflow.dispatch(db, db.merge(staff), find_by_number(db, numbers[sender]), "transport")
        written[sender] = time.monotonic()
    writing = time.monotonic() - burst_started
    deadline = time.monotonic() + 600
    latencies = {}
    while len(latencies) < len(residents) and time.monotonic() < deadline:
        for sender in residents:
            if sender in latencies:
                continue
            for text, at in zip(stack.receiver.texts(sender), stack.receiver.arrivals[sender]):
                if "已派给" in text:
                    latencies[sender] = at - written[sender]
        time.sleep(0.2)
    drained = max(written[s] + latencies[s] for s in latencies) - burst_started if latencies else float("nan")
    values = [v * 1000 for v in latencies.values()]
    twice = sum(1 for s in residents if sum("已派给" in t for t in stack.receiver.texts(s)) > 1)
    print(f"residents: {len(residents)}; updates received: {len(latencies)}; received twice: {twice}")
    print(f"writing {len(residents)} dispatches took {writing:.1f} s")
    rate = len(values) / drained if values else 0.0
    if values:
        print(
            f"store write → resident, ms: median {statistics.median(values):.0f}, "
            f"p95 {percentile(values, 0.95):.0f}, max {max(values):.0f}"
        )
        print(f"all delivered {drained:.1f} s after the first write: {rate:.1f} updates/s", flush=True)
    single = []
    for i in range(one_at_a_time):
        sender = residents[i]
        with session_scope() as db:
            workflow.reply(db, db.merge(staff), find_by_number(db, numbers[sender]), f"第{i}条答复")
        wrote = time.monotonic()
        while not any(f"第{i}条答复" in t for t in stack.receiver.texts(sender)) and time.monotonic() - wrote < 60:
            time.sleep(0.02)
        arrived = [
            at for t, at in zip(stack.receiver.texts(sender), stack.receiver.arrivals[sender]) if f"第{i}条答复" in t
        ]
        if arrived:
            single.append((arrived[0] - wrote) * 1000)
    if single:
        print(
            f"one update at a time ({len(single)}), store write → resident, ms: "
            f"median {statistics.median(single):.0f}, p95 {percentile(single, 0.95):.0f}, max {max(single):.0f} "
            f"(scheduler ticks every {stack.env['MINSHENG_SCHEDULER_INTERVAL']} s)"
        )
    complete = len(latencies) == len(residents) and not twice and len(single) == one_at_a_time
    return {"rate": rate, "complete": complete, "received": len(latencies)}


if __name__ == "__main__":
    sys.exit(main())
