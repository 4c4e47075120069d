"""Residents' questions (咨询) through the real Rasa server and action server, answered from the
knowledge base in the PostgreSQL store: helpful and not, passed on as an enquiry that staff answer
through the reply path, in the middle of a report, in Traditional, and an entry published while
everything runs."""

from __future__ import annotations

import re
import uuid

import pytest

from bot import taxonomy
from bot.staff import accounts, workflow
from bot.store import knowledge
from bot.store.db import session_scope
from bot.store.schema import KnowledgeEntry, KnowledgeQuestion, Ticket, User
from bot.store.tickets import find_by_number
from bot.textnorm import detect_script

pytestmark = pytest.mark.integration
NUMBER = re.compile(r"MS-\d{8}-\d{4}")
HELPFUL = "这个回答对您有帮助吗"


@pytest.fixture(scope="module", autouse=True)
def sample_base(stack):
    """The shipped sample entries in the running stack's store (the tests' stores start empty)."""
    with session_scope() as session:
        drafts, _ = knowledge.drafts_from_file(knowledge_sample())
        knowledge.import_drafts(session, drafts, taxonomy.load(), knowledge.SAMPLE_ACTOR, sample=True)


def knowledge_sample():
    from bot.knowledge import SAMPLE_FILE

    return SAMPLE_FILE


def questions_of(sender):
    with session_scope() as session:
        return [
            (q.outcome, q.text, q.ticket_id) for q in session.query(KnowledgeQuestion).filter_by(conversation_id=sender)
        ]


def test_a_question_is_answered_and_it_helped(bot, sender):
    reply = bot.texts(sender, "想问一下垃圾每天几点可以扔")
    assert "7:00" in reply and HELPFUL in reply
    assert "这个问题我还答不上来" not in reply
    assert "太好了" in bot.texts(sender, "/affirm")  # the 有帮助 button
    [(outcome, text, _)] = questions_of(sender)
    assert (outcome, text) == ("helpful", "想问一下垃圾每天几点可以扔")
    with session_scope() as session:
        assert not session.query(Ticket).filter_by(conversation_id=sender).count()


def test_not_helpful_becomes_an_enquiry_that_staff_answer_through_the_reply_path(stack):
    sender = f"kb-{uuid.uuid4().hex[:10]}"
    reply = "\n".join(stack.resident_says(sender, "请问居住证要带什么去办"))
    assert "身份证" in reply and HELPFUL in reply
    offer = "\n".join(stack.resident_says(sender, "没帮助"))
    assert "公安分局" in offer and "转给" in offer
    assert "电话" in "\n".join(stack.resident_says(sender, "/affirm"))  # the 好的，转给工作人员 button
    filed = "\n".join(stack.resident_says(sender, "13912345678"))
    number = NUMBER.search(filed).group(0)
    assert "咨询编号" in filed and "公安分局" in filed
    with session_scope() as session:
        ticket = find_by_number(session, number)
        assert (ticket.kind, ticket.lead_department_id, ticket.phone) == ("enquiry", "police_fire", "13912345678")
        assert ticket.description == "请问居住证要带什么去办"
        staff = session.query(User).filter_by(username="kb-dispatcher").one_or_none() or accounts.create_user(
            session, "kb-dispatcher", "long-enough-password", "dispatcher"
        )
        workflow.reply(session, staff, ticket, "居住证在户籍所在地以外居住半年以上可以申请，带身份证和租房合同即可。")
    [(outcome, _, ticket_id)] = questions_of(sender)
    assert outcome == "not_helpful" and ticket_id is not None
    assert "租房合同即可" in stack.receiver.wait_for(sender, "租房合同即可")


def test_an_unsure_question_is_offered_to_confirm_and_yes_answers_it(bot, sender):
    offer = bot.texts(sender, "請問打零工的能不能自己交社保")
    assert "您是想問“沒有單位怎麼交養老保險？”嗎" in offer and HELPFUL not in offer
    answer = bot.texts(sender, "/affirm")  # the 是的 button
    assert detect_script(answer) == "traditional" and "靈活就業" in answer and "這個回答對您有幫助嗎" in answer
    assert "太好了" in bot.texts(sender, "有幫助")
    [(outcome, text, ticket_id)] = questions_of(sender)
    assert (outcome, text, ticket_id) == ("helpful", "請問打零工的能不能自己交社保", None)


def test_no_to_the_offered_entry_passes_the_question_on(bot, sender):
    assert "您是想问“没有单位怎么交养老保险？”吗" in bot.texts(sender, "请问打零工的能不能自己交社保")
    offer = bot.texts(sender, "不是")
    assert "这个问题我还答不上来" in offer and "转给" in offer
    assert "电话" in bot.texts(sender, "好的，转给工作人员")
    filed = bot.texts(sender, "不留")
    assert "咨询编号" in filed, filed
    [(outcome, text, ticket_id)] = questions_of(sender)
    assert (outcome, text) == ("unanswered", "请问打零工的能不能自己交社保") and ticket_id is not None


def test_a_question_in_the_middle_of_a_report_is_answered_and_the_report_goes_on(bot, sender):
    assert "在哪里" in bot.texts(sender, "我们楼下的路灯坏了半个月，晚上黑乎乎的")
    answer = bot.texts(sender, "对了，物业费可以在手机上交吗")
    assert "物业" in answer and HELPFUL not in answer
    assert "在哪里" in answer  # the form asks its question again
    assert "补充" in bot.texts(sender, "育才路25号 阳光小区东门")
    bot.texts(sender, "没有")
    bot.texts(sender, "不留")
    done = bot.texts(sender, "确认")
    assert NUMBER.search(done)
    with session_scope() as session:
        [ticket] = session.query(Ticket).filter_by(conversation_id=sender).all()
        assert ticket.kind == "report" and ticket.location == "育才路25号 阳光小区东门"


def test_a_traditional_question_is_answered_in_traditional(bot, sender):
    reply = bot.texts(sender, "請問養狗要怎麼辦登記")
    assert detect_script(reply) == "traditional" and "犬隻" in reply
    assert "有幫助" in reply


def test_an_unanswerable_question_is_recorded_and_offered_to_staff(bot, sender):
    reply = bot.texts(sender, "请问结婚登记要预约吗")
    assert "这个问题我还答不上来" in reply and "转给" in reply
    assert "不转了" in bot.texts(sender, "/deny")
    [(outcome, text, ticket_id)] = questions_of(sender)
    assert (outcome, text, ticket_id) == ("unanswered", "请问结婚登记要预约吗", None)


def test_a_yes_typed_in_words_passes_an_unanswerable_question_on(bot, sender):
    """Typing instead of pressing 好的，转给工作人员 (DIET alone read it as a report starting)."""
    reply = bot.texts(sender, "請問結婚登記在哪裡辦")
    assert "這個問題我還答不上來" in reply and "轉給" in reply
    asked = bot.texts(sender, "好，麻煩幫我轉給工作人員")
    assert "電話" in asked and "在哪" not in asked  # the enquiry's phone question, not a report form
    filed = bot.texts(sender, "13912345678")
    assert "咨詢編號" in filed or "諮詢編號" in filed, filed
    with session_scope() as session:
        [ticket] = session.query(Ticket).filter_by(conversation_id=sender).all()
        assert (ticket.kind, ticket.description) == ("enquiry", "請問結婚登記在哪裡辦")


def test_an_entry_published_while_running_answers_the_next_question(bot, sender):
    question = "社区长者食堂几点开饭"
    assert "这个问题我还答不上来" in bot.texts(sender, question)
    bot.texts(sender, "/deny")
    with session_scope() as session:
        entry = knowledge.create(
            session,
            knowledge.EntryDraft(
                question="社区长者食堂什么时候开饭？",
                answer="长者食堂每天11:00到13:00供应午餐，60岁以上老人凭身份证就餐有优惠。",
                phrasings=["老年食堂几点吃饭", "长者饭堂营业时间"],
                category_id="public_services",
            ),
            taxonomy.load(),
            "admin:admin",
        )
        knowledge.set_published(session, entry, True, "admin:admin")
    reply = bot.texts(sender, question)
    assert "11:00到13:00" in reply and HELPFUL in reply
    with session_scope() as session:
        session.query(KnowledgeEntry).filter_by(question="社区长者食堂什么时候开饭？").one().published = False
