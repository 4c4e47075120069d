"""`minsheng run` with two Rasa processes and two action servers behind Debian's HAProxy, sharing the
PostgreSQL store and tracker store and the Redis lock store: a resident's conversation goes on when
the Rasa process that answered them is killed in the middle of a report."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
import uuid

import pytest

from bot.store.db import session_scope
from bot.store.schema import Ticket
from tests.support.scratch import free_port, scratch_database
from tests.support.stack import free_range, minsheng_run

pytestmark = pytest.mark.integration
REPLICA = "X-Minsheng-Replica"
NUMBER = re.compile(r"MS-\d{8}-\d{4}")


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def pid_listening_on(port: int) -> int:
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True).stdout
    return int(re.search(r"pid=(\d+)", out).group(1))


@pytest.fixture(scope="module")
def replicated(trained_model, tmp_path_factory):
    var = tmp_path_factory.mktemp("replicas-var")
    ports = {"rasa": free_port(), "actions": free_port(), "web": free_port()}
    base = free_range(4)
    with scratch_database("minsheng_replicas") as url:
        env = {
            **os.environ,
            "MINSHENG_VAR_DIR": str(var),
            "MINSHENG_DATABASE_URL": url,
            "MINSHENG_TRACKER_URL": url,
            "MINSHENG_LOCK_STORE_URL": "redis://127.0.0.1:6379/14",
            "MINSHENG_RASA_REPLICAS": "2",
            "MINSHENG_REPLICA_BASE_PORT": str(base),
            "MINSHENG_RASA_PORT": str(ports["rasa"]),
            "MINSHENG_ACTIONS_PORT": str(ports["actions"]),
            "MINSHENG_WEB_PORT": str(ports["web"]),
            "MINSHENG_DUPLICATE_QUESTION": "off",
        }
        with minsheng_run(env, 420) as (_, seen):
            yield {"ports": ports, "base": base, "url": url, "output": seen}
        still_open = [p for p in [*ports.values(), *range(base, base + 4)] if not port_free(p)]
        assert not still_open, f"ports {still_open} still open after Ctrl-C"


def say(port: int, sender: str, text: str):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=90) as response:
        answer = "\n".join(m.get("text", "") for m in json.load(response))
        return answer, response.headers.get(REPLICA)


def test_two_replicas_come_up_behind_the_balancer_and_share_the_work(replicated):
    output = "".join(replicated["output"])
    assert "2 Rasa processes and action servers behind HAProxy" in output, output[-3000:]
    assert "some part did not answer" not in output, output[-3000:]
    port = replicated["ports"]["rasa"]
    answered_by = {say(port, f"greeter-{i}", "你好")[1] for i in range(6)}
    assert answered_by == {"rasa1", "rasa2"}


def test_a_killed_replica_mid_report_and_the_other_carries_on(replicated):
    port, base = replicated["ports"]["rasa"], replicated["base"]
    sender = f"resident-{uuid.uuid4().hex[:10]}"
    reply, _ = say(port, sender, "小区门口的路灯坏了好几天，晚上黑漆漆的")
    assert "在哪里" in reply
    reply, replica = say(port, sender, "育才路25号 阳光小区东门")
    assert "补充" in reply
    # The process that has just answered dies without any clean-up (the launcher will start it again,
    # which takes far longer than the resident's next message).
    killed = base + 2 * (int(replica[-1]) - 1)
    os.kill(pid_listening_on(killed), signal.SIGKILL)
    # The signal is sent at once, the process takes a moment to die: a message sent in that moment
    # reaches the dying process and is lost with it (the balancer cannot know whether it was handled).
    deadline = time.monotonic() + 30
    while not port_free(killed) and time.monotonic() < deadline:
        time.sleep(0.05)
    reply, other = say(port, sender, "晚上老人出门不方便")
    assert other != replica and "电话" in reply  # the form went on where it was
    reply, _ = say(port, sender, "我的电话是 139 8888 7777")
    assert "育才路25号 阳光小区东门" in reply and "确认" in reply
    done, _ = say(port, sender, "确认")
    number = NUMBER.search(done).group(0)
    with session_scope(replicated["url"]) as session:
        [ticket] = session.query(Ticket).filter_by(conversation_id=sender).all()
        assert ticket.number == number and ticket.detail == "晚上老人出门不方便"
        assert ticket.location == "育才路25号 阳光小区东门" and ticket.phone == "13988887777"
