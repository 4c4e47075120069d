"""Answering residents' questions from the knowledge base: the sample content, retrieval, the
index following the store, and the chat's question actions against a real store."""

from __future__ import annotations

import re

import yaml

from benchmarks.knowledge import DEV_SET, EVAL_SET
from bot import knowledge, taxonomy
from bot.actions import backend
from bot.actions.questions import ActionAnswerQuestion, ActionFileEnquiry, ActionQuestionFeedback
from bot.classifier.training_data import all_examples
from bot.cli import main as cli
from bot.knowledge import Answerer, Index
from bot.store import knowledge as store
from bot.store.db import session_scope
from bot.store.migrate import upgrade
from bot.store.schema import KnowledgeEntry, KnowledgeQuestion, Ticket
from bot.textnorm import detect_script, normalize
from tests.test_actions import make_tracker, responses, run, slot_events

SAMPLE = knowledge.file_entries()


def test_the_sample_covers_the_issues_topics_each_marked_as_sample():
    raw = yaml.safe_load(knowledge.SAMPLE_FILE.read_text(encoding="utf-8"))
    assert raw["sample"] is True and len(raw["entries"]) >= 40
    assert all(item["sample"] is True and item["published"] is True for item in raw["entries"])
    tax = taxonomy.load()
    for entry in SAMPLE:
        assert 3 <= len(entry.phrasings) <= 15, entry.question
        assert entry.department_id in tax.departments and entry.category_id in tax.categories, entry.question
        assert not re.search(r"[^\x00-\x7f] [^\x00-\x7f]", entry.answer), entry.answer  # folded lines joined
    text = " ".join(e.question + e.answer for e in SAMPLE)
    for topic in ("物业费", "垃圾分类", "停水", "停电", "停气", "居住证", "社保", "养老", "低保", "电梯", "检验",
                  "施工", "噪声", "犬只登记", "老旧小区改造", "工单", "进度", "满意度"):  # fmt: skip
        assert topic in text, topic


def test_the_evaluation_and_development_sets_are_written_apart():
    data = yaml.safe_load(EVAL_SET.read_text(encoding="utf-8"))
    development = yaml.safe_load(DEV_SET.read_text(encoding="utf-8"))
    dev = [a["q"] for a in development["answerable"]] + development["unanswerable"]
    known = {normalize(t) for e in SAMPLE for t in e.texts} | {normalize(t) for t in all_examples()}
    questions = [a["q"] for a in data["answerable"]] + data["unanswerable"] + data["reports"]
    assert not [q for q in questions + dev if normalize(q) in known]
    assert not {normalize(q) for q in questions} & {normalize(q) for q in dev}
    assert len(data["answerable"]) >= 150 and len(data["unanswerable"]) >= 50 and len(data["reports"]) >= 50
    assert {a["entry"] for a in data["answerable"] + development["answerable"]} <= {e.question for e in SAMPLE}
    assert sum(detect_script(a["q"]) == "traditional" for a in data["answerable"]) >= 40


def test_a_question_in_either_script_gets_the_same_entry():
    index = Index(SAMPLE)
    simplified, _ = index.best("办居住证要带哪些材料")
    traditional, _ = index.best("辦居住證要帶哪些材料")
    assert simplified is not None and traditional is not None
    assert simplified.entry.question == traditional.entry.question == "办理居住证需要什么材料？"


def test_nonsense_and_questions_the_base_cannot_answer_get_no_answer():
    index = Index(SAMPLE)
    for text in ("asdfghjkl", "今天股票会涨吗", "哈哈哈哈", "火星上有没有水"):
        assert index.best(text)[0] is None, text
    assert Index([]).best("物业费怎么交")[0] is None


def test_a_question_about_something_else_that_shares_a_word_with_an_entry_is_passed_on():
    index = Index(SAMPLE)
    for text in ("水费在哪交", "公积金怎么交", "护照在哪办"):  # 物业费怎么交, 居住证在哪办 are in the base
        answer, candidate = index.best(text)
        assert answer is None and candidate is not None, text


def test_particles_and_ways_of_asking_do_not_change_the_answer():
    index = Index(SAMPLE)
    for text in ("物业费怎么交呀", "物業費要怎麼繳啊", "请问一下物业费在哪儿交"):
        answer, _ = index.best(text)
        assert answer is not None and answer.entry.question == "物业费怎么交？", text
    for text in ("居住证在哪办", "居住證要去哪裡辦呢"):
        answer, _ = index.best(text)
        assert answer is not None and answer.entry.question == "居住证在哪里办，多久能拿到？", text


def _draft(question="电动车充电桩在哪里？", published=True):
    return store.EntryDraft(
        question=question,
        answer="小区东门停车棚有充电桩，扫码付费。",
        phrasings=["哪里可以给电瓶车充电", "充电桩在什么地方"],
        category_id="safety",
        published=published,
    )


def test_the_index_follows_what_is_published(sqlite_url):
    answerer = Answerer()
    tax = taxonomy.load()
    with session_scope() as session:
        assert answerer.best(session, "小区充电桩在哪里")[0] is None
        entry = store.create(session, _draft(published=False), tax, "admin:admin")
    with session_scope() as session:
        assert answerer.best(session, "小区充电桩在哪里")[0] is None  # a draft answers nobody
        store.set_published(session, session.get(KnowledgeEntry, entry.id), True, "admin:admin")
    with session_scope() as session:
        found, _ = answerer.best(session, "小区充电桩在哪里")
        assert found is not None and found.entry.id == entry.id
        store.set_published(session, session.get(KnowledgeEntry, entry.id), False, "admin:admin")
    with session_scope() as session:
        assert answerer.best(session, "小区充电桩在哪里")[0] is None


def test_the_sample_is_loaded_once_into_a_base_that_never_had_an_entry(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    monkeypatch.setenv("MINSHENG_DATABASE_URL", url)
    monkeypatch.setenv("MINSHENG_KNOWLEDGE_SAMPLE", "on")
    upgrade(url)
    with session_scope(url) as session:
        assert session.query(KnowledgeEntry).filter_by(sample=True, published=True).count() == len(SAMPLE)
        first = session.query(KnowledgeEntry).order_by(KnowledgeEntry.id).first()
        store.set_published(session, first, False, "admin:admin")
    upgrade(url)  # again: nothing added, nothing republished
    with session_scope(url) as session:
        assert session.query(KnowledgeEntry).count() == len(SAMPLE)
        assert session.query(KnowledgeEntry).filter_by(published=False).count() == 1


def test_a_district_switches_the_sample_off_and_imports_its_own_file(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    monkeypatch.setenv("MINSHENG_DATABASE_URL", url)
    monkeypatch.setenv("MINSHENG_KNOWLEDGE_SAMPLE", "off")
    upgrade(url)
    own = tmp_path / "ours.yml"
    own.write_text(
        yaml.safe_dump(
            {
                "entries": [
                    {
                        "question": "社区食堂几点开饭？",
                        "phrasings": ["食堂什么时候开门", "老年食堂营业时间"],
                        "answer": "社区长者食堂每天 11:00—13:00 供应午餐。",
                        "category": "public_services",
                    }
                ]
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    assert cli(["knowledge", "import", str(own)]) == 0
    assert "1 added" in capsys.readouterr().out
    assert cli(["knowledge", "import", str(own)]) == 0
    assert "0 added" in capsys.readouterr().out
    broken = tmp_path / "broken.yml"
    broken.write_text("entries:\n  - question: 没有答案\n", encoding="utf-8")
    assert cli(["knowledge", "import", str(broken)]) == 2
    with session_scope(url) as session:
        [entry] = session.query(KnowledgeEntry).all()
        assert entry.published and not entry.sample and entry.department_id == "public_services"


# ---------------------------------------------------------------- the chat's actions


def _load_sample():
    with session_scope() as session:
        store.load_sample(session, taxonomy.load())
    backend._answerer = Answerer()


def _asked(text, **kwargs):
    return make_tracker(text=text, intent="ask_question", **kwargs)


async def test_a_traditional_question_is_answered_in_traditional_then_asked_if_it_helped(sqlite_url):
    _load_sample()
    dispatcher, events = await run(ActionAnswerQuestion(), _asked("請問養狗要怎麼登記"))
    answer = dispatcher.messages[0]["text"]
    assert detect_script(answer) == "traditional" and "犬隻登記" in answer
    assert responses(dispatcher)[1:] == ["utter_ask_question_helpful"]
    slots = slot_events(events)
    assert slots["question_step"] == "answered" and slots["question_department"] == "police_fire"
    helpful = make_tracker(slots=slots, text="有幫助", intent="affirm")
    dispatcher, events = await run(ActionQuestionFeedback(), helpful)
    assert responses(dispatcher) == ["utter_question_glad"]
    with session_scope() as session:
        [asked] = session.query(KnowledgeQuestion).all()
        assert (asked.outcome, asked.text, asked.script) == ("helpful", "請問養狗要怎麼登記", "traditional")


async def test_not_helpful_files_an_enquiry_for_the_entrys_department(sqlite_url):
    _load_sample()
    _, events = await run(ActionAnswerQuestion(), _asked("居住证办下来要几天"))
    slots = slot_events(events)
    dispatcher, events = await run(ActionQuestionFeedback(), make_tracker(slots=slots, text="没帮助", intent="deny"))
    assert responses(dispatcher) == ["utter_question_sorry", "utter_offer_enquiry"]
    slots.update(slot_events(events))
    assert slots["question_step"] == "offered"
    _, events = await run(ActionQuestionFeedback(), make_tracker(slots=slots, text="好的", intent="affirm"))
    assert {"event": "followup", "name": "enquiry_form"} in [
        {"event": e["event"], "name": e.get("name")} for e in events
    ]
    slots["enquiry_phone"] = "13812345678"
    dispatcher, _ = await run(ActionFileEnquiry(), make_tracker(slots=slots, text="13812345678", intent="inform"))
    assert responses(dispatcher) == ["utter_enquiry_filed"]
    with session_scope() as session:
        [ticket] = session.query(Ticket).all()
        assert (ticket.kind, ticket.lead_department_id, ticket.phone) == ("enquiry", "police_fire", "13812345678")
        assert ticket.description == "居住证办下来要几天"
        [asked] = session.query(KnowledgeQuestion).all()
        assert asked.outcome == "not_helpful" and asked.ticket_id == ticket.id


async def test_an_unanswerable_question_is_recorded_and_offered_to_the_classified_department(sqlite_url):
    _load_sample()
    tracker = _asked("公积金贷款能贷多少", category={"name": "social_services", "confidence": 0.8})
    dispatcher, events = await run(ActionAnswerQuestion(), tracker)
    assert responses(dispatcher) == ["utter_question_cannot_answer", "utter_offer_enquiry"]
    assert dispatcher.messages[1]["department_name"] == "人社局 / 民政局"
    slots = slot_events(events)
    assert slots["question_step"] == "offered" and slots["question_department"] == "social"
    with session_scope() as session:
        [asked] = session.query(KnowledgeQuestion).all()
        assert asked.outcome == "unanswered" and asked.entry_id is None
    dispatcher, _ = await run(ActionQuestionFeedback(), make_tracker(slots=slots, text="不用了", intent="deny"))
    assert responses(dispatcher) == ["utter_enquiry_not_filed"]


async def test_a_question_in_the_middle_of_a_report_is_answered_without_follow_up_questions(sqlite_url):
    _load_sample()
    tracker = _asked("物业费能在手机上交吗", active_loop="report_form", slots={"requested_slot": "location"})
    dispatcher, events = await run(ActionAnswerQuestion(), tracker)
    assert "物业" in dispatcher.messages[0]["text"] and len(dispatcher.messages) == 1
    assert events == []


def test_the_verdict_answers_above_the_threshold_asks_below_it_and_passes_on_below_both(monkeypatch):
    monkeypatch.setenv("MINSHENG_KNOWLEDGE_THRESHOLD", "0.6")
    monkeypatch.setenv("MINSHENG_KNOWLEDGE_SUGGEST_THRESHOLD", "0.3")
    assert [knowledge.verdict(c) for c in (0.6, 0.59, 0.3, 0.29)] == ["answer", "suggest", "suggest", None]
    monkeypatch.setenv("MINSHENG_KNOWLEDGE_SUGGEST_THRESHOLD", "0.6")  # no suggestions at all
    assert [knowledge.verdict(c) for c in (0.6, 0.59)] == ["answer", None]


# A question the sample answers, but worded so that the decision is not sure enough to answer it:
# its best entry is offered to confirm (between the shipped thresholds, 0.140 ≤ confidence < 0.284).
UNSURE = "辭職在家保險斷了咋整"


def test_an_unsure_question_sits_between_the_shipped_thresholds():
    found, verdict = Index(SAMPLE).reply(UNSURE)
    assert found is not None and found.entry.question == "没有单位怎么交养老保险？"
    assert verdict == knowledge.SUGGEST


async def test_an_unsure_question_asks_if_the_entry_is_meant_and_yes_gives_its_answer(sqlite_url):
    _load_sample()
    dispatcher, events = await run(ActionAnswerQuestion(), _asked(UNSURE))
    assert responses(dispatcher) == ["utter_question_suggest"]
    assert dispatcher.messages[0]["entry_question"] == "没有单位怎么交养老保险？"
    slots = slot_events(events)
    assert slots["question_step"] == "suggested" and slots["question_text"] == UNSURE
    with session_scope() as session:
        assert session.query(KnowledgeQuestion).count() == 0  # nothing to keep until they say
    said = make_tracker(slots=slots, text="對，就是這個", intent="affirm")
    dispatcher, events = await run(ActionQuestionFeedback(), said)
    answer = dispatcher.messages[0]["text"]
    assert detect_script(answer) == "traditional" and "養老保險" in answer
    assert responses(dispatcher)[1:] == ["utter_ask_question_helpful"]
    slots.update(slot_events(events))
    assert slots["question_step"] == "answered" and slots["question_department"] is not None
    dispatcher, _ = await run(ActionQuestionFeedback(), make_tracker(slots=slots, text="有幫助", intent="affirm"))
    assert responses(dispatcher) == ["utter_question_glad"]
    with session_scope() as session:
        [asked] = session.query(KnowledgeQuestion).all()
        entry = session.get(KnowledgeEntry, asked.entry_id)
        assert (asked.outcome, asked.text, entry.question) == ("helpful", UNSURE, "没有单位怎么交养老保险？")


async def test_no_to_the_suggested_entry_is_kept_for_staff_and_offers_an_enquiry(sqlite_url):
    _load_sample()
    _, events = await run(ActionAnswerQuestion(), _asked(UNSURE))
    slots = slot_events(events)
    dispatcher, events = await run(ActionQuestionFeedback(), make_tracker(slots=slots, text="不是", intent="deny"))
    assert responses(dispatcher) == ["utter_question_cannot_answer", "utter_offer_enquiry"]
    slots.update(slot_events(events))
    assert slots["question_step"] == "offered" and slots["question_record"] is not None
    with session_scope() as session:
        [asked] = session.query(KnowledgeQuestion).all()
        assert (asked.outcome, asked.text, asked.entry_id) == ("unanswered", UNSURE, None)
    _, events = await run(ActionQuestionFeedback(), make_tracker(slots=slots, text="好的", intent="affirm"))
    assert {"event": "followup", "name": "enquiry_form"} in [
        {"event": e["event"], "name": e.get("name")} for e in events
    ]


async def test_yes_to_an_entry_unpublished_meanwhile_is_passed_on_not_answered(sqlite_url):
    _load_sample()
    _, events = await run(ActionAnswerQuestion(), _asked(UNSURE))
    slots = slot_events(events)
    with session_scope() as session:
        entry = session.get(KnowledgeEntry, int(slots["question_entry"]))
        store.set_published(session, entry, False, "admin:admin")
    dispatcher, _ = await run(ActionQuestionFeedback(), make_tracker(slots=slots, text="是的", intent="affirm"))
    assert responses(dispatcher) == ["utter_question_cannot_answer", "utter_offer_enquiry"]


async def test_an_unsure_question_in_the_middle_of_a_report_is_left_for_later(sqlite_url):
    _load_sample()
    tracker = _asked(UNSURE, active_loop="report_form", slots={"requested_slot": "location"})
    dispatcher, events = await run(ActionAnswerQuestion(), tracker)
    assert responses(dispatcher) == ["utter_question_later"] and events == []
