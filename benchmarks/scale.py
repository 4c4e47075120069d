"""Two Rasa processes against one: the same closed-loop chat load and the same burst of updates on
Minsheng's stack with one Rasa process, then with two (and two action servers) behind HAProxy, in
one run on one machine.

    make benchmark-scale          # needs the PostgreSQL server on 127.0.0.1:5432, Redis and haproxy
    .venv/bin/python -m benchmarks.scale --levels 20,50 --seconds 40 --updates 200

Each configuration gets a scratch PostgreSQL database (tickets and trackers) and the Redis lock store,
and is started as `minsheng run` starts it (tests/support/stack.py `replicas`). The chat load is
benchmarks/chat.py's: residents filing a report and asking for its status, Simplified and
Traditional, each waiting for the answer before sending the next message. The burst is
benchmarks/delivery.py's: N residents on the callback channel, one ticket each, all dispatched at
once, timed until every update has reached its resident. Prints each level, then the ratios
two/one and the issue's targets (≥ 1.5× throughput, ≥ 30 updates/s with two)."""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Dict

from benchmarks.chat import MINSHENG_SCRIPTS, Bot, Level, drive, print_level
from benchmarks.delivery import BURST_ENV, MODEL, burst
from tests.support.scratch import free_port, scratch_database


def run(replicas: int, levels, seconds: float, updates: int) -> Dict[str, object]:
    from bot.store.migrate import upgrade
    from tests.support.stack import Stack

    with scratch_database(f"minsheng_bench_scale{replicas}") as url:
        os.environ["MINSHENG_DATABASE_URL"] = url
        upgrade(url)
        stack = Stack(
            Path(tempfile.mkdtemp(prefix=f"minsheng-bench-scale{replicas}-")),
            url,
            MODEL,
            {"rasa": free_port(), "actions": free_port(), "web": free_port()},
            extra_env=BURST_ENV,
            replicas=replicas,
        )
        try:
            started = time.monotonic()
            stack.start()
            print(f"\n{replicas} Rasa process(es) up in {time.monotonic() - started:.0f} s", flush=True)
            pids = {name: p.pid for name, p in stack.processes.items() if name.startswith(("rasa", "actions"))}
            bot = Bot(f"{replicas}×rasa", f"{stack.rasa_url}/webhooks/rest/webhook", pids, MINSHENG_SCRIPTS)
            asyncio.run(drive(bot, 2 * replicas, 8))  # warm-up: what Rasa loads on first use, in each process
            results: Dict[str, object] = {}
            for residents in levels:
                level = asyncio.run(drive(bot, residents, seconds))
                print_level(bot, level)
                results[f"chat{residents}"] = level
            if updates:
                results["burst"] = burst(stack, updates, label=f"scale{replicas}")
            return results
        finally:
            stack.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="20,50", help="numbers of concurrent residents")
    parser.add_argument("--seconds", type=float, default=40, help="per level and configuration")
    parser.add_argument("--updates", type=int, default=200, help="residents in the burst of updates (0: none)")
    args = parser.parse_args(argv)
    os.environ.setdefault("MINSHENG_LOCK_STORE_URL", "redis://127.0.0.1:6379/14")
    levels = [int(n) for n in args.levels.split(",") if n.strip()]
    load = os.getloadavg()
    print(f"{os.cpu_count()} cores; load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    one = run(1, levels, args.seconds, args.updates)
    two = run(2, levels, args.seconds, args.updates)
    print("\ntwo Rasa processes / one (messages/s: > 1 is more; latency: < 1 is faster)")
    for residents in levels:
        a, b = one[f"chat{residents}"], two[f"chat{residents}"]
        assert isinstance(a, Level) and isinstance(b, Level)
        if a.latencies and b.latencies:
            print(
                f"{residents:3d} residents: messages/s {b.rate / a.rate:.2f}×, p50 {b.ms(0.5) / a.ms(0.5):.2f}×, "
                f"p95 {b.ms(0.95) / a.ms(0.95):.2f}×"
            )
    if args.updates:
        rate1, rate2 = one["burst"]["rate"], two["burst"]["rate"]  # type: ignore[index]
        print(f"burst of {args.updates} updates: {rate1:.1f} → {rate2:.1f} updates/s (target ≥ 30 with two)")
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
