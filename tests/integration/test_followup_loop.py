"""Closing the loop with every process real: staff resolve a ticket in the console, the web app's
deliverer pushes the survey through Rasa's HTTP API and the callback channel to a local receiver,
the resident answers, and the ticket is closed or reopened. Then the deliverer and every process
are killed or restarted at the awkward moments, and each message still arrives exactly once."""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid

import pytest

from bot import taxonomy
from bot.notify.rasa_api import RasaApi
from bot.staff import accounts, workflow
from bot.store import outbox, states, surveys
from bot.store.db import session_scope
from bot.store.schema import Notification, Survey, User
from bot.store.tickets import NewReport, create_ticket, find_by_number
from tests.support.stack import TOKEN

pytestmark = pytest.mark.integration
NUMBER = re.compile(r"MS-\d{8}-\d{4}")
PASSWORD = "long-enough-password"


def dispatcher_account(db) -> User:
    return db.query(User).filter_by(username="loop-dispatcher").one_or_none() or accounts.create_user(
        db, "loop-dispatcher", PASSWORD, "dispatcher"
    )


@pytest.fixture(scope="module")
def dispatcher(stack):
    with session_scope() as db:
        dispatcher_account(db)
    return stack.staff("loop-dispatcher", PASSWORD)


def new_sender() -> str:
    return f"loop-{uuid.uuid4().hex[:10]}"


def report_by_chat(stack, sender: str, description: str, location: str, nothing="没有", confirm="确认") -> str:
    stack.resident_says(sender, description)
    stack.resident_says(sender, location)
    stack.resident_says(sender, nothing)
    stack.resident_says(sender, "不留")
    done = "\n".join(stack.resident_says(sender, confirm))
    return NUMBER.search(done).group(0)


def ticket_of_chat(stack, sender: str) -> str:
    """A ticket of a resident who wrote once over the callback channel (created in the store)."""
    stack.resident_says(sender, "你好")
    with session_scope() as db:
        ticket, _ = create_ticket(db, NewReport(f"{sender}:1", sender, "小区路灯坏了", "roads"), taxonomy.load())
        return ticket.number


def work_in_store(number: str, *, resolve: bool = True) -> None:
    with session_scope() as db:
        staff = dispatcher_account(db)
        ticket = find_by_number(db, number)
        workflow.dispatch(db, staff, ticket, ticket.lead_department_id)
        workflow.start(db, staff, ticket)
        if resolve:
            workflow.resolve(db, staff, ticket, "已更换路灯灯泡")


def notification(number: str, kind: str) -> Notification:
    with session_scope() as db:
        ticket = find_by_number(db, number)
        return db.query(Notification).filter_by(ticket_id=ticket.id, kind=kind).one()


def wait_delivered(number: str, kind: str, seconds: float = 60) -> Notification:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = notification(number, kind)
        if message.status == outbox.DELIVERED:
            return message
        time.sleep(0.5)
    raise TimeoutError(f"{kind} of {number} still {message.status} ({message.last_error})")


def received(stack, sender: str, needle: str) -> int:
    return sum(needle in text for text in stack.receiver.texts(sender))


def ticket_state(number: str):
    with session_scope() as db:
        ticket = find_by_number(db, number)
        return ticket.status, ticket.flagged, [e.note or "" for e in ticket.events]


def test_resolved_in_the_console_dissatisfied_resident_reopens_it(stack, dispatcher):
    sender = new_sender()
    number = report_by_chat(stack, sender, "我家楼下的路灯坏了一个星期了，晚上特别黑", "育才路25号阳光小区3栋")
    dispatcher.act(number, "dispatch", lead="transport")
    stack.receiver.wait_for(sender, "已派给交通运输局办理")
    dispatcher.act(number, "start")
    page = dispatcher.act(number, "resolve", note="已更换路灯灯泡")
    assert "满意度评价" in page and "待评价" in page
    assert "已经办结" in stack.receiver.wait_for(sender, "已更换路灯灯泡")
    survey = stack.receiver.wait_for(sender, "满意吗")
    assert number in survey
    buttons = [b["title"] for m in stack.receiver.messages[sender] for b in m.get("buttons", [])]
    assert buttons[-5:] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]

    answer = "\n".join(stack.resident_says(sender, "不满意，根本没修好"))
    assert "重新交给交通运输局办理" in answer
    status, flagged, notes = ticket_state(number)
    assert status == states.REOPENED and flagged
    assert any("根本没修好" in note for note in notes)
    page = dispatcher.get(f"/staff/tickets/{number}")
    assert "督办关注" in page and "根本没修好" in page and "已送达" in page


def test_resolved_in_the_console_very_satisfied_resident_closes_it(stack, dispatcher):
    sender = new_sender()
    number = report_by_chat(stack, sender, "小区门口垃圾堆了三天没人清运，臭得不行", "幸福小区北门")
    for action, fields in (("dispatch", {"lead": "sanitation"}), ("start", {}), ("resolve", {"note": "已清运完毕"})):
        dispatcher.act(number, action, **fields)
    stack.receiver.wait_for(sender, "满意吗")
    assert any("意见或建议" in t for t in stack.resident_says(sender, "非常满意"))
    assert any("谢谢您的评价（非常满意）" in t for t in stack.resident_says(sender, "没有了"))
    status, flagged, notes = ticket_state(number)
    assert status == states.CLOSED and not flagged and "对话评价：非常满意" in notes[-1]


def test_traditional_resident_gets_the_survey_in_traditional_and_answers_freely(stack):
    sender = new_sender()
    number = report_by_chat(
        stack, sender, "我們大樓的電梯壞了三天，老人上下樓很不方便", "幸福社區5棟", nothing="沒有", confirm="確認"
    )
    work_in_store(number)
    survey = stack.receiver.wait_for(sender, "滿意嗎")
    assert number in survey
    # what staff wrote in Simplified reaches this resident in Traditional, converted by phrase
    assert any("已更換路燈燈泡" in t for t in stack.receiver.texts(sender))
    titles = [b["title"] for m in stack.receiver.messages[sender] for b in m.get("buttons", [])]
    assert "非常滿意" in titles
    assert any("意見" in t for t in stack.resident_says(sender, "還行吧"))
    thanks = "\n".join(stack.resident_says(sender, "沒有"))
    assert "謝謝您的評價（基本滿意）" in thanks
    assert ticket_state(number)[0] == states.CLOSED


def test_an_interrupted_survey_resumes(stack):
    sender = new_sender()
    number = ticket_of_chat(stack, sender)
    work_in_store(number)
    stack.receiver.wait_for(sender, "满意吗")
    interrupted = "\n".join(stack.resident_says(sender, "你都能帮我做什么？"))
    assert "反映问题" in interrupted and "满意吗" in interrupted  # answered, then asked again
    status = "\n".join(stack.resident_says(sender, "我的问题处理得怎么样了"))
    assert number in status and "满意吗" in status
    stack.resident_says(sender, "一般般吧，就是修得有点慢")  # level and comment in one answer
    assert ticket_state(number)[0] == states.CLOSED
    with session_scope() as db:
        survey = db.query(Survey).filter_by(ticket_id=find_by_number(db, number).id).one()
        assert (survey.rating, survey.comment) == (3, "一般般吧，就是修得有点慢")


def test_a_resident_may_decline_to_rate_and_the_survey_stays_open(stack):
    sender = new_sender()
    number = ticket_of_chat(stack, sender)
    work_in_store(number)
    stack.receiver.wait_for(sender, "满意吗")
    assert any("先不评价了" in t for t in stack.resident_says(sender, "算了，不想评"))
    assert any("民生小助手" in t for t in stack.resident_says(sender, "你好"))  # no survey question any more
    assert ticket_state(number)[0] == states.RESOLVED
    with session_scope() as db:
        assert surveys.open_survey_of(db, find_by_number(db, number).id) is not None  # the reminder will ask


def test_a_survey_arriving_mid_report_waits_until_the_report_is_filed(stack):
    sender = new_sender()
    number = ticket_of_chat(stack, sender)
    question = stack.resident_says(sender, "小区门口的路灯坏了好几天，晚上黑漆漆的")[-1]
    assert "在哪里" in question
    work_in_store(number)
    waits = stack.receiver.wait_for(sender, "等您说完眼前这件事")
    time.sleep(1)
    assert "满意吗" not in "\n".join(stack.receiver.texts(sender))
    assert stack.receiver.texts(sender)[-1] == question  # the report goes on where it was
    stack.resident_says(sender, "阳光小区2栋1单元")
    stack.resident_says(sender, "没有")
    stack.resident_says(sender, "不留")
    filed = "\n".join(stack.resident_says(sender, "确认"))
    assert "已受理" in filed and "满意吗" in filed and number in filed.split("已受理")[1]
    assert waits
    stack.resident_says(sender, "满意")
    stack.resident_says(sender, "没有")
    assert ticket_state(number)[0] == states.CLOSED


def test_a_rest_resident_sees_the_update_at_their_next_message(stack, bot):
    sender = new_sender()
    assert "民生小助手" in bot.texts(sender, "你好")
    with session_scope() as db:
        ticket, _ = create_ticket(db, NewReport(f"{sender}:1", sender, "路灯坏了", "roads"), taxonomy.load())
        number = ticket.number
    work_in_store(number, resolve=False)
    deadline = time.monotonic() + 30
    while notification(number, "dispatched").status != outbox.WAITING and time.monotonic() < deadline:
        time.sleep(0.5)
    assert notification(number, "dispatched").status == outbox.WAITING  # REST cannot push
    answer = bot.texts(sender, "谢谢")
    assert "不客气" in answer and f"{number} 已派给交通运输局办理" in answer
    assert notification(number, "dispatched").delivered_via == "next_message"
    assert number not in bot.texts(sender, "谢谢")  # shown once


def test_a_receiver_that_refuses_gets_the_update_again_later(stack):
    sender = new_sender()
    number = ticket_of_chat(stack, sender)
    stack.receiver.refusing = True
    try:
        work_in_store(number, resolve=False)
        deadline = time.monotonic() + 30
        while notification(number, "dispatched").attempts < 1 and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)
        message = notification(number, "dispatched")
        assert message.status == outbox.PENDING and "callback" in (message.last_error or "")
    finally:
        stack.receiver.refusing = False
    with session_scope() as db:  # no need to wait out the back-off in a test
        db.query(Notification).filter_by(id=message.id).update({"next_attempt_at": dt.datetime.utcnow()})
    wait_delivered(number, "dispatched")
    assert received(stack, sender, f"{number} 已派给") == 1


def test_deliverer_killed_between_the_write_and_the_send_delivers_once_after_restart(stack):
    sender = new_sender()
    number = ticket_of_chat(stack, sender)
    stack.pause("actions")  # Rasa takes the deliverer's push, then waits for the update action
    try:
        work_in_store(number)  # the write
        deadline = time.monotonic() + 30
        while notification(number, "dispatched").status != outbox.SENDING and time.monotonic() < deadline:
            time.sleep(0.2)
        assert notification(number, "dispatched").status == outbox.SENDING  # claimed, not sent
        stack.kill("web")
    finally:
        stack.resume("actions")
    stack.start("web")
    for kind in ("dispatched", "in_progress", "resolved"):
        wait_delivered(number, kind)
    time.sleep(8)  # longer than a claim: anything sent twice would have arrived by now
    assert received(stack, sender, f"{number} 已派给") == 1
    assert received(stack, sender, "已经办结") == 1


def test_deliverer_killed_after_the_send_before_marking_does_not_send_twice(stack):
    sender = new_sender()
    number = ticket_of_chat(stack, sender)
    stack.stop("web")
    try:
        work_in_store(number, resolve=False)
        with session_scope() as db:  # what a deliverer does before it dies: claim …
            claimed = [m.id for m in outbox.claim_due(db, holder_seconds=2) if m.conversation_id == sender]
        import asyncio

        for message_id in claimed:  # … and send, but never mark
            asyncio.run(RasaApi(stack.rasa_url, TOKEN).push_update(sender, message_id))
        assert received(stack, sender, f"{number} 已派给") == 1
    finally:
        stack.start("web")
    wait_delivered(number, "dispatched")
    wait_delivered(number, "in_progress")
    time.sleep(3)
    assert received(stack, sender, f"{number} 已派给") == 1
    assert received(stack, sender, "已经开始办理") == 1


def test_with_several_web_apps_one_runs_the_jobs_and_nothing_goes_out_twice(stack):
    from bot.store.schema import SchedulerLease
    from tests.support.scratch import free_port

    stack.add_web("web2", free_port())
    stack.add_web("web3", free_port())
    stack.start("web2", "web3")
    try:
        senders = [new_sender() for _ in range(4)]
        numbers = [ticket_of_chat(stack, sender) for sender in senders]
        for number in numbers:
            work_in_store(number)
        for sender, number in zip(senders, numbers):
            stack.receiver.wait_for(sender, "满意吗")
            wait_delivered(number, "resolved")
        time.sleep(3)
        for sender, number in zip(senders, numbers):
            assert received(stack, sender, f"{number} 已派给") == 1 and received(stack, sender, "满意吗") == 1
        with session_scope() as db:
            holders = {lease.holder for lease in db.query(SchedulerLease).all()}
        assert len(holders) == 1
        [holder] = holders
        [running] = [name for name, p in stack.processes.items() if p.pid == int(holder.split(":")[1])]
        stack.kill(running)  # the holder dies: another web app takes over once its lease lapses
        sender = new_sender()
        number = ticket_of_chat(stack, sender)
        work_in_store(number)
        stack.receiver.wait_for(sender, "满意吗", seconds=90)
    finally:
        stack.stop("web2", "web3")
        stack.start("web")


def test_a_due_survey_and_reminder_go_out_after_every_process_restarts(stack):
    fresh, old = new_sender(), new_sender()
    fresh_number, old_number = ticket_of_chat(stack, fresh), ticket_of_chat(stack, old)
    work_in_store(old_number)
    stack.receiver.wait_for(old, "满意吗")
    stack.stop()
    try:
        work_in_store(fresh_number)  # resolved while nothing runs: its survey is due
        with session_scope() as db:  # and the other survey has gone unanswered for three days
            survey = surveys.open_survey_of(db, find_by_number(db, old_number).id)
            survey.created_at -= dt.timedelta(days=3, minutes=1)
    finally:
        stack.start()
    assert fresh_number in stack.receiver.wait_for(fresh, "满意吗")
    assert old_number in stack.receiver.wait_for(old, "还没收到您的评价")
    assert received(stack, old, "满意吗") == 2  # the reminder asks again
    with session_scope() as db:
        assert surveys.open_survey_of(db, find_by_number(db, old_number).id).status == surveys.REMINDED
