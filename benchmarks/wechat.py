"""Messages through the WeChat channel, against the REST channel of the same Rasa process, in one run.

    make benchmark-wechat       # needs the PostgreSQL server on 127.0.0.1:5432 and Redis

Starts the action server, the Rasa server (WeChat channel on, safe mode, its API played by the test
simulator) and the web app on a scratch PostgreSQL database. N residents each send the same short
conversation, closed loop (each waits for the answer before writing again): first over REST, then
over WeChat, where a message is timed from WeChat's POST to the last customer-service message of its
answer. Prints messages/s, latency p50/p95, how long the webhook took to say `success`, and errors.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import List

from benchmarks.delivery import percentile
from tests.support.scratch import free_port, scratch_database

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "bot" / "models" / "minsheng.tar.gz"
TURNS = ["你好", "小区路灯坏了好几天，晚上很黑", "算了，先不报了"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="conversations per resident")
    args = parser.parse_args(argv)
    with scratch_database("minsheng_bench_wechat") as url:
        return measure(url, args)


def run_residents(count: int, conversation) -> tuple:
    latencies: List[float] = []
    errors: List[str] = []
    lock = threading.Lock()

    def resident(index: int) -> None:
        try:
            for took in conversation(index):
                with lock:
                    latencies.append(took)
        except Exception as error:  # counted, not fatal
            with lock:
                errors.append(repr(error)[:200])

    started = time.perf_counter()
    threads = [threading.Thread(target=resident, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - started


def measure(url: str, args) -> int:
    os.environ["MINSHENG_DATABASE_URL"] = url
    os.environ.setdefault("MINSHENG_LOCK_STORE_URL", "redis://127.0.0.1:6379/14")
    from bot.store.migrate import upgrade
    from tests.integration.conftest import Bot
    from tests.support.stack import Stack
    from tests.support.wechat import AES_KEY, APPID, SECRET, TOKEN, Follower, WeChatApi

    upgrade(url)
    api = WeChatApi()
    stack = Stack(
        Path(tempfile.mkdtemp(prefix="minsheng-bench-")),
        url,
        MODEL,
        {"rasa": free_port(), "actions": free_port(), "web": free_port()},
        extra_env={
            "MINSHENG_WECHAT_TOKEN": TOKEN,
            "MINSHENG_WECHAT_AES_KEY": AES_KEY,
            "MINSHENG_WECHAT_APPID": APPID,
            "MINSHENG_WECHAT_SECRET": SECRET,
            "MINSHENG_WECHAT_API_BASE": api.url,
        },
    )
    acks: List[float] = []
    with stack.running():
        bot = Bot(stack.rasa_url)

        def over_rest(index: int):
            for _ in range(args.rounds):
                sender = f"bench-rest-{uuid.uuid4().hex[:10]}"
                for text in TURNS:
                    started = time.perf_counter()
                    assert bot.say(sender, text), "no answer"
                    yield time.perf_counter() - started

        def over_wechat(index: int):
            for _ in range(args.rounds):
                resident = Follower(
                    f"{stack.rasa_url}/webhooks/wechat/webhook", api, "o" + uuid.uuid4().hex[:27], safe_mode=True
                )
                for text in TURNS:
                    before = len(api.texts(resident.openid))
                    started = time.perf_counter()
                    status, body = resident.post(resident.xml("text", Content=text))
                    acks.append(time.perf_counter() - started)
                    assert (status, body) == (200, "success"), (status, body)
                    resident.answers_after(before, expect=expected[text])
                    yield api.sent_at[resident.openid][-1] - started  # the last message of the answer

        # how many WeChat messages each turn's answer makes (a text splits at blank lines; buttons: one menu)
        expected = {}
        for text in TURNS:
            answer = bot.say("bench-warm-up", text)
            expected[text] = sum(
                1 if m.get("buttons") else len([p for p in m.get("text", "").split("\n\n") if p.strip()])
                for m in answer
            )
        for name, conversation in (("REST", over_rest), ("WeChat", over_wechat)):
            latencies, errors, seconds = run_residents(args.residents, conversation)
            print(
                f"{name:7s} {args.residents} residents: {len(latencies) / seconds:5.1f} messages/s, "
                f"p50 {statistics_ms(latencies, 0.5)} ms, p95 {statistics_ms(latencies, 0.95)} ms, "
                f"errors {len(errors)}"
            )
        print(
            f"WeChat webhook answered `success` in p50 {statistics_ms(acks, 0.5)} ms, "
            f"p95 {statistics_ms(acks, 0.95)} ms"
        )
        print(f"access_token fetched {api.token_fetches} time(s)")
    api.close()
    return 0


def statistics_ms(values: List[float], share: float) -> str:
    return f"{percentile(values, share) * 1000:.0f}" if values else "-"


if __name__ == "__main__":
    raise SystemExit(main())
