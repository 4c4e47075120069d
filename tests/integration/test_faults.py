"""Each process failing at the worst moment of a resident's report, on PostgreSQL and a Redis lock
store of the test's own (so they can be stopped): while the fault lasts the resident gets an honest
answer, nothing said before is lost, and once it is over the report goes through with exactly one
ticket."""

from __future__ import annotations

import threading
import time
import urllib.error
import uuid

import pytest
import sqlalchemy as sa

from bot.channels import BUSY
from bot.store.db import session_scope
from bot.store.migrate import upgrade
from bot.store.schema import Ticket
from tests.integration.conftest import Bot
from tests.integration.servers import ActionProxy, PrivatePostgres, PrivateRedis
from tests.support.scratch import free_port
from tests.support.stack import Stack

pytestmark = pytest.mark.integration
BUSY_START = BUSY[:8]  # "系统暂时有点忙，"


@pytest.fixture(scope="module")
def postgres():
    server = PrivatePostgres()
    server.start()
    yield server
    server.destroy()


@pytest.fixture(scope="module")
def redis_server():
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def faulty(postgres, redis_server, trained_model, tmp_path_factory):
    """The three processes on the private servers; Rasa reaches the action server through a proxy
    that can lose an answer."""
    upgrade(postgres.url)
    ports = {"rasa": free_port(), "actions": free_port(), "web": free_port()}
    proxy = ActionProxy(ports["actions"])
    stack = Stack(
        tmp_path_factory.mktemp("fault-var"),
        postgres.url,
        trained_model,
        ports,
        actions_url=proxy.url,
        extra_env={"MINSHENG_LOCK_STORE_URL": redis_server.url, "MINSHENG_ACTION_TIMEOUT": "10"},
    )
    with stack.running():
        yield stack, proxy, Bot(stack.rasa_url)


def tickets_of(url: str, sender: str) -> list:
    with session_scope(url) as db:
        return [t.number for t in db.query(Ticket).filter(Ticket.conversation_id == sender)]


def new_sender() -> str:
    return f"fault-{uuid.uuid4().hex[:10]}"


def to_the_confirmation(bot: Bot, sender: str) -> None:
    for line in ("建设路的路灯坏了好几天了", "建设路18号门口", "没有", "不留"):
        answer = bot.texts(sender, line)
    assert "请确认" in answer, answer


def test_each_answer_in_the_report_is_checked_and_the_next_question_asked_in_one_action_call(faulty):
    """The form's validator asks the next question itself: one call to the action server per
    answer, not one to check it and another to ask (a round trip less per turn for Rasa)."""
    _stack, proxy, bot = faulty
    sender = new_sender()
    turns = [
        # where within the road just named: a question made of the report so far
        ("人民路上的路灯坏了好几天了", "在人民路的什么位置", ["action_start_report", "validate_report_form"]),
        ("88号门口", "补充", ["validate_report_form"]),
        ("没有", "电话", ["validate_report_form"]),
        ("不留", "请确认", ["validate_report_form"]),  # the summary, made of everything said
        ("确认", "工单编号", ["validate_report_form", "action_submit_report"]),
    ]
    for line, expected, calls in turns:
        before = len(proxy.calls)
        answer = bot.texts(sender, line)
        assert expected in answer, (line, answer)
        assert proxy.calls[before:] == calls, line


def test_action_server_dies_after_filing_the_ticket(faulty, postgres):
    stack, proxy, bot = faulty
    sender = new_sender()
    to_the_confirmation(bot, sender)
    proxy.lose_answer_to = "action_submit_report"  # the ticket is written, the answer never comes back
    try:
        answer = bot.texts(sender, "确认")
    finally:
        proxy.lose_answer_to = None
    assert answer.startswith(BUSY_START) and "工单编号" not in answer
    filed = tickets_of(postgres.url, sender)
    assert len(filed) == 1 and proxy.calls_lost == 1
    stack.kill("actions")
    assert bot.texts(sender, "确认").startswith(BUSY_START)  # still down: still honest
    stack.start("actions")
    answer = bot.texts(sender, "确认")
    assert f"工单编号：{filed[0]}" in answer and "不会重复提交" in answer
    assert tickets_of(postgres.url, sender) == filed


def test_action_server_dies_while_writing_the_ticket(faulty, postgres):
    stack, _proxy, bot = faulty
    sender = new_sender()
    to_the_confirmation(bot, sender)
    engine = sa.create_engine(postgres.url, future=True)
    answers = []
    with engine.connect() as holder:
        holder.execute(sa.text("BEGIN"))
        holder.execute(sa.text("LOCK TABLE tickets IN EXCLUSIVE MODE"))  # the insert must wait
        confirming = threading.Thread(target=lambda: answers.append(bot.texts(sender, "确认")))
        confirming.start()
        waiting = sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        deadline = time.monotonic() + 30
        with engine.connect() as watcher:
            while watcher.execute(waiting).scalar_one() == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
        stack.kill("actions")  # in the middle of the transaction
        holder.execute(sa.text("ROLLBACK"))
    confirming.join(timeout=60)
    engine.dispose()
    assert answers and answers[0].startswith(BUSY_START)
    assert tickets_of(postgres.url, sender) == []
    stack.start("actions")
    answer = bot.texts(sender, "确认")
    assert "已受理" in answer
    filed = tickets_of(postgres.url, sender)
    assert len(filed) == 1 and filed[0] in answer


def test_postgres_restarted_mid_form(faulty, postgres):
    stack, _proxy, bot = faulty
    sender = new_sender()
    assert "哪里" in bot.texts(sender, "这几天路灯一直不亮")
    postgres.stop()
    try:
        assert bot.texts(sender, "建设路18号门口").startswith(BUSY_START)
    finally:
        postgres.start()
    assert "补充" in bot.texts(sender, "建设路18号门口")  # where it was, nothing lost
    bot.texts(sender, "没有")
    summary = bot.texts(sender, "不留")
    assert "建设路18号门口" in summary and "路灯一直不亮" in summary
    assert "已受理" in bot.texts(sender, "确认")
    assert len(tickets_of(postgres.url, sender)) == 1


def test_lock_store_stopped_mid_form(faulty, postgres, redis_server):
    stack, _proxy, bot = faulty
    sender = new_sender()
    assert "哪里" in bot.texts(sender, "垃圾三天没人收了")
    redis_server.stop()
    try:
        assert bot.texts(sender, "幸福小区南门").startswith(BUSY_START)
    finally:
        redis_server.start()
    assert "补充" in bot.texts(sender, "幸福小区南门")
    bot.texts(sender, "没有")
    bot.texts(sender, "不留")
    assert "已受理" in bot.texts(sender, "确认")
    assert len(tickets_of(postgres.url, sender)) == 1


def test_rasa_killed_mid_form(faulty, postgres):
    stack, _proxy, bot = faulty
    sender = new_sender()
    assert "哪里" in bot.texts(sender, "井盖不见了，很危险")
    stack.kill("rasa")
    with pytest.raises(urllib.error.URLError):  # the resident's client knows it is not through
        bot.texts(sender, "人民路和建设路路口")
    stack.start("rasa")
    assert "补充" in bot.texts(sender, "人民路和建设路路口")
    bot.texts(sender, "没有")
    bot.texts(sender, "不留")
    assert "已受理" in bot.texts(sender, "确认")
    assert len(tickets_of(postgres.url, sender)) == 1


def test_web_app_down_residents_still_report(faulty, postgres):
    stack, _proxy, bot = faulty
    stack.stop("web")
    try:
        sender = new_sender()
        to_the_confirmation(bot, sender)
        assert "已受理" in bot.texts(sender, "确认")
        assert len(tickets_of(postgres.url, sender)) == 1
    finally:
        stack.start("web")
