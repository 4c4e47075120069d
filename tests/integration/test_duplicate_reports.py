"""The same problem reported by a second resident, with every process real and the duplicate
question on: the resident is told it is being handled, follows the ticket, and gets its updates
and its survey through the deliverer; one who says it is different files their own; a ticket
merged by staff brings its resident along."""

from __future__ import annotations

import re
import uuid

import pytest

from bot import taxonomy
from bot.staff import accounts
from bot.store import followers, states
from bot.store.db import session_scope
from bot.store.schema import Ticket, User
from bot.store.tickets import NewReport, create_ticket, find_by_number
from tests.support.scratch import free_port, scratch_database
from tests.support.stack import Stack

pytestmark = pytest.mark.integration
NUMBER = re.compile(r"MS-\d{8}-\d{4}")
PASSWORD = "long-enough-password"


@pytest.fixture(scope="module")
def dupes(trained_model, tmp_path_factory):
    """A stack of its own: its store holds only these tests' tickets, and the question is on."""
    from bot.store.migrate import upgrade

    with scratch_database("minsheng_duplicates") as url:
        upgrade(url)
        with session_scope(url) as db:
            accounts.create_user(db, "dup-dispatcher", PASSWORD, "dispatcher")
        var = tmp_path_factory.mktemp("dupes-var")
        ports = {"rasa": free_port(), "actions": free_port(), "web": free_port()}
        stack = Stack(var, url, trained_model, ports, extra_env={"MINSHENG_DUPLICATE_QUESTION": "on"})
        with stack.running() as running:
            running.database_url = url
            yield running


@pytest.fixture(scope="module")
def dispatcher(dupes):
    return dupes.staff("dup-dispatcher", PASSWORD)


def new_sender() -> str:
    return f"dup-{uuid.uuid4().hex[:10]}"


def report(stack, sender: str, description: str, location: str, nothing="没有", confirm="确认") -> str:
    """A report up to its confirmation; returns what the assistant answered to the confirmation."""
    stack.resident_says(sender, description)
    stack.resident_says(sender, location)
    stack.resident_says(sender, nothing)
    stack.resident_says(sender, "不留")
    return "\n".join(stack.resident_says(sender, confirm))


def tickets_of(stack, sender: str):
    with session_scope(stack.database_url) as db:
        return [t.number for t in db.query(Ticket).filter_by(conversation_id=sender)]


def test_a_second_resident_follows_the_ticket_and_gets_its_updates_and_survey(dupes, dispatcher):
    first, second = new_sender(), new_sender()
    filed = report(dupes, first, "小区门口的路灯坏了好几天了，晚上黑漆漆的", "锦绣江南4栋门口")
    number = NUMBER.search(filed).group(0)

    asked = report(dupes, second, "楼下那盏路灯坏了好几天，晚上出门看不见路", "锦绣江南小区4栋")
    assert "已经有人反映过了" in asked and number in asked and "正在办理" in asked
    buttons = [b["title"] for m in dupes.receiver.messages[second] for b in m.get("buttons", [])]
    assert buttons[-2:] == ["是同一个问题", "不一样，我要单独反映"]

    unclear = "\n".join(dupes.resident_says(second, "啊？你说什么"))  # neither: asked again, nothing filed
    assert "没太明白" in unclear and number in unclear
    followed = "\n".join(dupes.resident_says(second, "是同一个问题"))
    assert f"您已关注 {number}" in followed
    assert tickets_of(dupes, second) == []
    status = "\n".join(dupes.resident_says(second, "我反映的问题处理得怎么样了"))
    assert number in status

    dispatcher.act(number, "dispatch", lead="transport")
    dupes.receiver.wait_for(second, "已派给交通运输局办理")
    page = dispatcher.get(f"/staff/tickets/{number}/duplicates")
    assert "关注居民（1 位）" in page and "楼下那盏路灯坏了好几天" in page
    dispatcher.act(number, "start")
    dispatcher.act(number, "resolve", note="已更换路灯灯泡")
    assert "已更换路灯灯泡" in dupes.receiver.wait_for(second, "已更换路灯灯泡")
    survey = dupes.receiver.wait_for(second, "满意吗")
    assert number in survey
    dupes.receiver.wait_for(first, "满意吗")  # the ticket's own resident is asked too

    noted = "\n".join(dupes.resident_says(second, "不满意，晚上还是黑的"))  # the comment comes with it
    assert "意见已经记下并报给了督办人员" in noted
    with session_scope(dupes.database_url) as db:
        ticket = find_by_number(db, number)
        assert ticket.status == states.RESOLVED and ticket.flagged  # only its own resident reopens or closes
        assert [v.rating for v in followers.verdicts_of(db, ticket.id)] == [2]
    answered = "\n".join(dupes.resident_says(first, "非常满意"))
    assert "意见或建议" in answered
    dupes.resident_says(first, "没有了")
    with session_scope(dupes.database_url) as db:
        assert find_by_number(db, number).status == states.CLOSED


def test_a_resident_who_says_it_is_different_files_their_own_in_traditional(dupes):
    first, second = new_sender(), new_sender()
    number = NUMBER.search(report(dupes, first, "楼道里有人给电动车充电，电线从窗户吊下来", "育才小区6栋")).group(0)
    asked = report(dupes, second, "樓道裡有人給電瓶車充電，很危險", "育才小區6棟", nothing="沒有", confirm="確認")
    assert "已經有人反映過了" in asked and number in asked
    buttons = [b["title"] for m in dupes.receiver.messages[second] for b in m.get("buttons", [])]
    assert "不一樣，我要單獨反映" in buttons
    filed = "\n".join(dupes.resident_says(second, "不一樣，我要單獨反映"))
    own = NUMBER.search(filed)
    assert own is not None and own.group(0) != number
    assert tickets_of(dupes, second) == [own.group(0)]


def test_a_merged_tickets_resident_gets_the_originals_updates_and_survey(dupes, dispatcher):
    first, second = new_sender(), new_sender()
    number = NUMBER.search(report(dupes, first, "小区停水两天了，一直没有通知什么时候来水", "红星小区")).group(0)
    dupes.resident_says(second, "你好")  # a conversation over the callback channel
    with session_scope(dupes.database_url) as db:
        merged, _ = create_ticket(
            db,
            NewReport(f"{second}:1", second, "停水两天了，问物业也说不清楚", "utilities", location="红星小区"),
            taxonomy.load(),
        )
        merged_number = merged.number
    page = dispatcher.get(f"/staff/tickets/{merged_number}/duplicates")
    assert number in page and "把本单并入" in page
    dispatcher.act(merged_number, "merge", into=number)
    assert number in dupes.receiver.wait_for(second, "合并办理")
    for action, fields in (("dispatch", {"lead": "utilities"}), ("start", {}), ("resolve", {"note": "管道已抢修"})):
        dispatcher.act(number, action, **fields)
    for resident in (first, second):
        dupes.receiver.wait_for(resident, "管道已抢修")
        assert number in dupes.receiver.wait_for(resident, "满意吗")
    with session_scope(dupes.database_url) as db:
        assert db.query(User).filter_by(username="dup-dispatcher").count() == 1
        original = find_by_number(db, number)
        assert [f.conversation_id for f in followers.of_ticket(db, original.id)] == [second]
        assert find_by_number(db, merged_number).status == states.DUPLICATE
