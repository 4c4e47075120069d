"""Actions against a real ticket store, with trackers built as the Rasa server sends them."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.report import ActionStartReport, ActionSubmitReport
from bot.actions.status import ActionCheckStatus, ActionVerifyStatus
from bot.actions.validation import ValidateReportForm, ValidateStatusForm, match_category
from bot.store.db import session_scope
from bot.store.schema import Ticket

DOMAIN = {"slots": {}, "forms": {}}


def make_tracker(
    sender="resident-1",
    slots=None,
    text="",
    intent="report_problem",
    entities=(),
    events=None,
    active_loop=None,
    **parse,
):
    latest = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": list(entities), **parse}
    events = events if events is not None else [{"event": "user", "text": text, "parse_data": latest}]
    return Tracker(
        sender, slots or {}, latest, events, False, None, {"name": active_loop} if active_loop else {}, "action_listen"
    )


def slot_events(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def responses(dispatcher):
    return [m.get("response") for m in dispatcher.messages]


def ranking(*pairs):
    return [{"name": n, "confidence": c} for n, c in pairs]


async def run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, DOMAIN)
    return dispatcher, events


REPORT_FORM = {"required_slots": ["category", "location", "detail", "phone", "confirmed"]}


async def asked(tracker):
    """The report form's validator run as the Rasa server runs it when the form comes back to it:
    what it asks and the slot it asks for."""
    dispatcher = CollectingDispatcher()
    events = await ValidateReportForm().run(dispatcher, tracker, {"slots": {}, "forms": {"report_form": REPORT_FORM}})
    return dispatcher, events


async def test_start_report_takes_what_the_first_message_gives(sqlite_url):
    tracker = make_tracker(
        text="3栋2单元楼道瓷砖掉了，我电话13812345678",
        entities=[{"entity": "location", "value": "3栋2单元"}, {"entity": "phone", "value": "13812345678"}],
        category_ranking=ranking(("building", 0.9), ("roads", 0.03)),
        urgency={"name": "hazard", "confidence": 1.0},
    )
    dispatcher, events = await run(ActionStartReport(), tracker)
    slots = slot_events(events)
    assert slots["category"] == "building" and slots["urgency"] == "hazard"
    # "3栋2单元" without the compound is not yet a place: kept, and the compound is asked
    assert slots["location"] is None and slots["location_hint"] == "3栋2单元"
    assert slots["phone"] == "13812345678"
    assert slots["report_id"]
    assert responses(dispatcher) == ["utter_category_understood", "utter_category_hazard"]


@pytest.mark.parametrize(
    "text, kind, advice",
    [
        ("厨房一股煤气味，好像在漏", "gas", "utter_emergency_gas"),
        ("对面楼三楼着火了，冒黑烟", "fire", "utter_emergency_fire"),
        ("电梯卡在5楼，里面有人出不来", "lift", "utter_emergency_lift"),
        ("楼梯口有个老人晕倒了", "injury", "utter_emergency_injury"),
        ("楼下有人拿刀追着人跑", "crime", "utter_emergency_crime"),
        ("这里好像很危险", None, "utter_emergency"),
    ],
)
async def test_emergency_advice_for_the_emergency_at_hand_comes_first(sqlite_url, text, kind, advice):
    from bot.classifier.urgency_rules import emergency_kind

    assert emergency_kind(text) == kind
    tracker = make_tracker(
        text=text,
        category_ranking=ranking(("utilities", 0.8), ("safety", 0.1)),
        urgency={"name": "emergency", "confidence": 1.0, "kind": kind},
    )
    dispatcher, _ = await run(ActionStartReport(), tracker)
    assert responses(dispatcher)[0] == advice


async def test_the_gas_company_line_is_told_when_configured(sqlite_url, monkeypatch):
    tracker = make_tracker(
        text="闻到天然气味", urgency={"name": "emergency", "confidence": 1.0, "kind": "gas"}, category_ranking=[]
    )
    dispatcher, _ = await run(ActionStartReport(), tracker)
    assert "燃气表或缴费单" in dispatcher.messages[0]["gas_line"]
    monkeypatch.setenv("MINSHENG_GAS_EMERGENCY_LINE", "0826-96777")
    dispatcher, _ = await run(ActionStartReport(), tracker)
    assert dispatcher.messages[0]["gas_line"] == "燃气公司抢修电话 0826-96777"


async def test_unsure_category_is_asked_among_the_top_few(sqlite_url):
    tracker = make_tracker(
        text="这边一到晚上就乱糟糟的",
        category_ranking=ranking(("safety", 0.35), ("noise_pollution", 0.3), ("other", 0.1)),
    )
    dispatcher, events = await run(ActionStartReport(), tracker)
    slots = slot_events(events)
    assert slots["category"] is None
    assert slots["category_candidates"] == ["safety", "noise_pollution", "other"]
    assert "utter_category_understood" not in responses(dispatcher)
    dispatcher, _ = await asked(make_tracker(slots=slots))
    titles = [b["title"] for b in dispatcher.messages[0]["buttons"]]
    assert titles == ["治安与消防", "噪声与污染", "其他"]


async def test_category_buttons_in_traditional_for_a_traditional_writer(sqlite_url):
    slots = {"problem_description": "這邊晚上很亂", "category_candidates": ["safety"]}
    tracker = make_tracker(text="這邊晚上很亂", slots=slots)
    dispatcher, _ = await asked(tracker)
    # one candidate is no choice: the commonest categories are offered with it
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == [
        "治安與消防",
        "房屋與公共設施",
        "物業服務",
        "環境衛生",
        "其他",
    ]


def test_category_chosen_by_position_or_name():
    offered = ["safety", "noise_pollution", "illegal_construction"]
    assert match_category("2", offered) == "noise_pollution"
    assert match_category("第一个", offered) == "safety"
    assert match_category("環境衛生", offered) == "sanitation"
    assert match_category("noise_pollution", offered) == "noise_pollution"
    assert match_category("不知道", offered) is None


def validate(slot, value, tracker):
    dispatcher = CollectingDispatcher()
    result = getattr(ValidateReportForm(), f"validate_{slot}")(value, dispatcher, tracker, DOMAIN)
    return result, responses(dispatcher)


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("１３８ １２３４ ５６７８", "13812345678"),
        ("我的手机是138-1234-5678", "13812345678"),
        ("0826 2345678", "0826-2345678"),
    ],
)
def test_phone_numbers_as_people_type_them(typed, stored):
    result, said = validate("phone", typed, make_tracker(intent="inform"))
    assert result == {"phone": stored} and said == []


@pytest.mark.parametrize("typed", ["12345", "不知道", "😀", "'; DROP TABLE tickets; --"])
def test_a_bad_phone_is_refused_with_a_clear_answer(typed):
    result, said = validate("phone", typed, make_tracker(intent="inform"))
    assert result == {"phone": None} and said == ["utter_phone_invalid"]


async def test_a_phone_answer_is_checked_and_the_report_shown_for_confirmation_in_one_call():
    before = {
        "problem_description": "小区门口的路灯坏了",
        "category": "roads",
        "location": "育才路25号阳光小区东门",
        "detail": "晚上老人出门不方便",
        "requested_slot": "phone",
    }
    said_phone = {"event": "slot", "name": "phone", "value": "我的电话是 139 8888 7777"}
    tracker = make_tracker(
        text="我的电话是 139 8888 7777",
        intent="inform",
        slots={**before, "phone": "我的电话是 139 8888 7777"},
        events=[{"event": "user", "text": "我的电话是 139 8888 7777"}, said_phone],
        active_loop="report_form",
    )
    dispatcher, events = await asked(tracker)
    assert slot_events(events) == {"phone": "13988887777", "requested_slot": "confirmed"}
    [summary] = dispatcher.messages
    assert summary["response"] == "utter_report_summary" and summary["phone"] == "139****7777"
    assert summary["location"] == "育才路25号阳光小区东门" and summary["department_name"]

    # A number that is not one: said so, and the same question again, not the summary.
    bad = make_tracker(
        text="不知道",
        intent="inform",
        slots={**before, "phone": "不知道"},
        events=[{"event": "user", "text": "不知道"}, {**said_phone, "value": "不知道"}],
        active_loop="report_form",
    )
    dispatcher, events = await asked(bad)
    assert slot_events(events) == {"phone": None, "requested_slot": "phone"}
    assert responses(dispatcher) == ["utter_phone_invalid"]  # utter_ask_phone is the Rasa server's own


def test_anonymous_is_allowed():
    result, said = validate("phone", "anonymous", make_tracker(intent="deny"))
    assert result == {"phone": "anonymous"} and said == ["utter_phone_anonymous"]


def test_a_correction_changes_only_the_part_named():
    events = [
        {"event": "slot", "name": "location", "value": "幸福小区3栋2单元"},
        {"event": "user", "text": "不对，是4栋"},
        {"event": "slot", "name": "location", "value": "4栋"},
    ]
    tracker = make_tracker(
        text="不对，是4栋", intent="inform", events=events, slots={"requested_slot": "confirmed", "location": "4栋"}
    )
    result, said = validate("location", "4栋", tracker)
    assert result["location"] == "幸福小区4栋2单元"
    assert said == ["utter_location_updated"]


def test_a_place_given_unasked_is_kept_whole():
    events = [
        {"event": "slot", "name": "location", "value": "人民路"},
        {"event": "user", "text": "人民路88号门口"},
    ]
    tracker = make_tracker(
        text="人民路88号门口",
        intent="inform",
        events=events,
        entities=[{"entity": "location", "value": "人民路88号"}],
        slots={"requested_slot": "detail", "location": "人民路88号"},
    )
    assert validate("location", "人民路88号", tracker)[0]["location"] == "人民路88号门口"
    assert validate("detail", "人民路88号门口", tracker)[0] == {"detail": None}


@pytest.mark.parametrize("value", ["😀😀", "。。", "a"])
def test_a_location_with_nothing_in_it_is_asked_again(value):
    result, said = validate("location", value, make_tracker(slots={"requested_slot": "location"}))
    assert result == {"location": None} and said == ["utter_location_too_vague"]


def test_an_address_answered_to_the_detail_question_is_not_a_detail():
    tracker = make_tracker(
        text="幸福小区3栋2单元", intent="inform", entities=[{"entity": "location", "value": "幸福小区3栋2单元"}]
    )
    assert validate("detail", "幸福小区3栋2单元", tracker)[0] == {"detail": None}
    assert validate("detail", "已经一个星期了", make_tracker(intent="inform"))[0] == {"detail": "已经一个星期了"}


def test_a_photo_is_taken_only_from_our_uploads():
    good = "/photos/" + "a" * 32 + ".jpg"
    assert validate("detail", good, make_tracker(intent="inform")) == ({"detail": "见照片"}, ["utter_photo_received"])
    result, said = validate("detail", '/inform{"photo_url": "http://elsewhere/x.jpg"}', make_tracker(intent="inform"))
    assert result == {"detail": None, "photo_url": None} and said == ["utter_photo_refused"]


async def test_a_photo_from_elsewhere_is_not_stored(sqlite_url):
    slots = {**confirmed_slots(), "photo_url": "http://elsewhere/x.jpg"}
    await run(ActionSubmitReport(), make_tracker(slots=slots))
    with session_scope(sqlite_url) as session:
        assert session.query(Ticket).one().photo_url is None


def confirmed_slots(report_id="r1", phone="13812345678"):
    return {
        "report_id": report_id,
        "problem_description": "3栋2单元楼道瓷砖掉了，电话13812345678",
        "category": "building",
        "category_confidence": 0.9,
        "urgency": "hazard",
        "location": "幸福小区3栋2单元",
        "detail": "无",
        "phone": phone,
        "confirmed": True,
    }


async def test_submit_creates_one_ticket_even_when_retried(sqlite_url):
    tracker = make_tracker(slots=confirmed_slots(), intent="affirm", text="确认")
    first, events = await run(ActionSubmitReport(), tracker)
    again, _ = await run(ActionSubmitReport(), tracker)
    assert responses(first) == ["utter_ticket_created"]
    assert responses(again) == ["utter_ticket_already_created"]
    assert first.messages[0]["ticket_number"] == again.messages[0]["ticket_number"]
    assert slot_events(events)["report_id"] is None  # the next report starts afresh
    with session_scope(sqlite_url) as session:
        rows = session.query(Ticket).all()
        assert len(rows) == 1
        ticket = rows[0]
        assert (ticket.category_id, ticket.urgency, ticket.location, ticket.phone, ticket.detail) == (
            "building",
            "hazard",
            "幸福小区3栋2单元",
            "13812345678",
            None,
        )
        assert ticket.conversation_id == "resident-1" and ticket.status == "submitted"


async def test_the_photo_goes_with_the_ticket(sqlite_url):
    photo = "/photos/" + "b" * 32 + ".png"
    slots = {**confirmed_slots(), "detail": "见照片", "photo_url": photo}
    await run(ActionSubmitReport(), make_tracker(slots=slots))
    with session_scope(sqlite_url) as session:
        ticket = session.query(Ticket).one()
        assert (ticket.photo_url, ticket.detail) == (photo, None)


async def test_nothing_is_filed_without_confirmation(sqlite_url):
    slots = {**confirmed_slots(), "confirmed": None}
    dispatcher, events = await run(ActionSubmitReport(), make_tracker(slots=slots))
    assert events == [] and dispatcher.messages == []
    with session_scope(sqlite_url) as session:
        assert session.query(Ticket).count() == 0


async def file_ticket(sender, phone="13812345678", report_id="r1"):
    dispatcher, _ = await run(
        ActionSubmitReport(), make_tracker(sender=sender, slots=confirmed_slots(report_id, phone))
    )
    return dispatcher.messages[0]["ticket_number"]


async def test_a_report_like_an_open_ticket_of_someone_else_is_asked_about_before_filing(sqlite_url):
    first = await file_ticket("alice")
    dispatcher, events = await run(
        ActionSubmitReport(), make_tracker(sender="bob", slots=confirmed_slots("r2", "13912345678"))
    )
    assert dispatcher.messages == []  # the question is the form's
    assert {"event": "slot", "name": "duplicate_of", "value": first} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in events
    ]
    assert any(e.get("event") == "followup" and e.get("name") == "duplicate_form" for e in events)
    with session_scope(sqlite_url) as session:
        assert session.query(Ticket).count() == 1
    same = {**confirmed_slots("r2", "13912345678"), "duplicate_of": first, "duplicate_answer": "same"}
    dispatcher, _ = await run(ActionSubmitReport(), make_tracker(sender="bob", slots=same))
    assert dispatcher.messages[0]["response"] == "utter_duplicate_followed"
    different = {**confirmed_slots("r3", "13912345678"), "duplicate_of": first, "duplicate_answer": "different"}
    dispatcher, _ = await run(ActionSubmitReport(), make_tracker(sender="carol", slots=different))
    assert dispatcher.messages[0]["response"] == "utter_ticket_created"
    with session_scope(sqlite_url) as session:
        assert session.query(Ticket).count() == 2


async def test_status_lists_this_conversations_tickets_only(sqlite_url, monkeypatch):
    monkeypatch.setenv("MINSHENG_DUPLICATE_QUESTION", "off")  # two residents file the same report
    mine = await file_ticket("alice")
    theirs = await file_ticket("bob", report_id="r2")
    dispatcher, events = await run(
        ActionCheckStatus(), make_tracker(sender="alice", intent="check_status", text="我的问题处理得怎么样了")
    )
    listing = dispatcher.messages[0]["ticket_list"]
    assert mine in listing and theirs not in listing
    assert "13812345678" not in listing and "138****5678" in listing  # the phone in the words is masked
    assert slot_events(events)["status_ticket_number"] is None


async def test_another_conversations_ticket_needs_the_phone_digits(sqlite_url):
    number = await file_ticket("alice", phone="13812345678")
    typed = number.lower().replace("-", "")
    tracker = make_tracker(
        sender="bob",
        intent="check_status",
        text=f"查一下{typed}",
        entities=[{"entity": "ticket_number", "value": number}],
    )
    dispatcher, events = await run(ActionCheckStatus(), tracker)
    assert dispatcher.messages == []  # nothing about the ticket before the digits match
    assert slot_events(events)["status_ticket_number"] == number

    wrong = make_tracker(sender="bob", slots={"status_ticket_number": number, "status_phone_last4": "0000"})
    dispatcher, events = await run(ActionVerifyStatus(), wrong)
    assert responses(dispatcher) == ["utter_status_not_found"]

    right = make_tracker(sender="bob", slots={"status_ticket_number": number, "status_phone_last4": "5678"})
    dispatcher, _ = await run(ActionVerifyStatus(), right)
    assert responses(dispatcher) == ["utter_status_one"]
    assert number in dispatcher.messages[0]["ticket_list"]


async def test_unknown_and_foreign_tickets_get_the_same_answer(sqlite_url):
    number = await file_ticket("alice")
    answers = []
    for candidate in (number, "MS-20200101-9999"):
        tracker = make_tracker(
            sender="mallory", slots={"status_ticket_number": candidate, "status_phone_last4": "1111"}
        )
        dispatcher, _ = await run(ActionVerifyStatus(), tracker)
        answers.append(dispatcher.messages)
    assert answers[0] == answers[1]


async def test_anonymous_tickets_cannot_be_read_from_elsewhere(sqlite_url):
    number = await file_ticket("alice", phone="anonymous")
    tracker = make_tracker(sender="bob", slots={"status_ticket_number": number, "status_phone_last4": "5678"})
    dispatcher, _ = await run(ActionVerifyStatus(), tracker)
    assert responses(dispatcher) == ["utter_status_not_found"]


async def guess(number, digits, sender, source=None):
    tracker = make_tracker(
        sender=sender,
        slots={"status_ticket_number": number, "status_phone_last4": digits},
        metadata={"source": source} if source else None,
    )
    dispatcher, _ = await run(ActionVerifyStatus(), tracker)
    return responses(dispatcher)


async def test_guessing_a_ticket_is_counted_in_the_store_whatever_the_conversation(sqlite_url):
    """The attack: a fresh sender id (or /restart) for every guess. After five failures the ticket
    is locked, even for the right digits; an unknown number locks exactly the same way."""
    number = await file_ticket("alice", phone="13812345678")
    for target in (number, "MS-20200101-9999"):
        answers = [await guess(target, f"{i:04d}", sender=f"mallory-{target}-{i}") for i in range(5)]
        assert answers == [["utter_status_not_found"]] * 5
        assert await guess(target, "5678", sender=f"mallory-{target}-last") == ["utter_status_too_many_attempts"]
    asked = make_tracker(
        sender="mallory-new",
        intent="check_status",
        text=f"查一下{number}",
        entities=[{"entity": "ticket_number", "value": number}],
    )
    dispatcher, _ = await run(ActionCheckStatus(), asked)
    assert responses(dispatcher) == ["utter_status_too_many_attempts"]  # told before typing digits
    mine = make_tracker(
        sender="alice",
        intent="check_status",
        text=f"查一下{number}",
        entities=[{"entity": "ticket_number", "value": number}],
    )
    dispatcher, _ = await run(ActionCheckStatus(), mine)
    assert responses(dispatcher) == ["utter_status_one"]  # the resident's own conversation still sees it


async def test_one_source_guessing_many_tickets_is_stopped(sqlite_url, monkeypatch):
    monkeypatch.setenv("MINSHENG_DUPLICATE_QUESTION", "off")  # eleven residents file the same report
    numbers = [await file_ticket(f"r{i}", phone="13812345678") for i in range(11)]
    for i, number in enumerate(numbers[:10]):
        assert await guess(number, "0000", sender=f"m{i}", source="203.0.113.9") == ["utter_status_not_found"]
    assert await guess(numbers[10], "5678", sender="m10", source="203.0.113.9") == ["utter_status_too_many_attempts"]
    assert await guess(numbers[10], "5678", sender="r10-phone", source="198.51.100.7") == ["utter_status_one"]


async def test_malformed_ticket_number_gets_the_format_explained(sqlite_url):
    dispatcher, _ = await run(ActionCheckStatus(), make_tracker(intent="check_status", text="查一下 ms-2026-7"))
    assert responses(dispatcher) == ["utter_ticket_number_malformed"]


def test_last_four_digits_in_any_width():
    dispatcher = CollectingDispatcher()
    validator = ValidateStatusForm()
    assert validator.validate_status_phone_last4("尾号５６７８", dispatcher, make_tracker(), DOMAIN) == {
        "status_phone_last4": "5678"
    }
    assert validator.validate_status_phone_last4("不知道", dispatcher, make_tracker(), DOMAIN) == {
        "status_phone_last4": None
    }
    assert responses(dispatcher) == ["utter_status_last4_invalid"]


async def test_internal_notes_never_reach_the_resident(sqlite_url):
    """A department's internal note, a dispatch note and a return reason stay inside: the status
    answer and the updates show only what staff send the resident (replies, results, reasons)."""
    from bot.actions import backend
    from bot.staff import accounts, workflow
    from bot.store.tickets import find_by_number

    number = await file_ticket("alice")
    secrets = ["仅供内部：居民多次投诉，注意保密", "内部派单说明：先别回复", "退单：不归我们管，内部协调中"]
    with session_scope(sqlite_url) as db:
        staff = accounts.create_user(db, "disp", "long-enough-pw", "dispatcher")
        ticket = find_by_number(db, number)
        workflow.dispatch(db, staff, ticket, "housing", note=secrets[1])
        workflow.add_note(db, staff, ticket, secrets[0])
        workflow.return_ticket(db, staff, ticket, secrets[2])
        workflow.dispatch(db, staff, ticket, "housing")
        workflow.add_note(db, staff, ticket, secrets[0])

    def seen_by_alice():
        return CollectingDispatcher(), make_tracker(
            sender="alice", intent="check_status", text="我的问题处理得怎么样了"
        )

    dispatcher, tracker = seen_by_alice()
    await ActionCheckStatus().run(dispatcher, tracker, DOMAIN)
    answer = dispatcher.messages[0]["ticket_list"]
    updates = " ".join(u.note for u in await backend.updates_for("alice"))
    assert "已派单" in answer
    for secret in secrets:
        assert secret not in answer and secret not in updates

    with session_scope(sqlite_url) as db:
        ticket = find_by_number(db, number)
        workflow.reply(db, staff, ticket, "已联系物业，明天上门查看")
    dispatcher, tracker = seen_by_alice()
    await ActionCheckStatus().run(dispatcher, tracker, DOMAIN)
    assert "答复：已联系物业，明天上门查看" in dispatcher.messages[0]["ticket_list"]
    with session_scope(sqlite_url) as db:
        ticket = find_by_number(db, number)
        workflow.start(db, staff, ticket)
        workflow.add_note(db, staff, ticket, secrets[0])
        workflow.resolve(db, staff, ticket, "已更换楼道灯")
        workflow.add_note(db, staff, ticket, secrets[0])
    dispatcher, tracker = seen_by_alice()
    await ActionCheckStatus().run(dispatcher, tracker, DOMAIN)
    answer = dispatcher.messages[0]["ticket_list"]
    assert "已办结：已更换楼道灯" in answer and secrets[0] not in answer
    assert [u.note for u in await backend.updates_for("alice")][-1] == "已更换楼道灯"


# ---------------------------------------------------------------- where: vague, "don't know", within a place


def asked_where(text, intent="inform", **slots):
    return make_tracker(text=text, intent=intent, slots={"requested_slot": "location", **slots})


@pytest.mark.parametrize("answer", ["就在我家楼下", "這附近", "小区里面"])
def test_an_answer_that_only_points_gets_a_follow_up_and_the_form_goes_on(answer):
    result, said = validate("location", answer, asked_where(answer))
    assert result == {"location": None, "location_tries": 1} and said == ["utter_location_vague"]


@pytest.mark.parametrize("answer", ["说不上来", "記不清楚了", "不知道"])
def test_dont_know_gets_help_finding_words_for_the_place(answer):
    result, said = validate("location", answer, asked_where(answer, intent="deny"))
    assert result == {"location": None, "location_tries": 1} and said == ["utter_location_dont_know"]


def test_after_two_vague_answers_the_words_are_taken_as_said():
    result, said = validate("location", "就楼下", asked_where("就楼下", location_tries=2))
    assert result["location"] == "就楼下" and said == ["utter_location_taken_as_said"]


def test_a_named_answer_is_the_place_whole():
    result, said = validate("location", "锦绣江南4栋门口", asked_where("锦绣江南4栋门口", location_tries=1))
    assert result == {"location": "锦绣江南4栋门口", "location_hint": None, "location_tries": None} and said == []


def test_an_answer_within_the_place_already_named():
    tracker = asked_where("88号门口", location_hint="人民路")
    assert validate("location", "88号门口", tracker)[0]["location"] == "人民路88号门口"
    tracker = asked_where("不知道门牌号", intent="deny", location_hint="人民路")
    assert validate("location", "不知道门牌号", tracker)[0]["location"] == "人民路"


async def test_a_road_alone_is_asked_within():
    tracker = make_tracker(
        text="人民路上的路灯不亮",
        entities=[{"entity": "location", "value": "人民路"}],
        category_ranking=ranking(("roads", 0.9)),
    )
    dispatcher, events = await run(ActionStartReport(), tracker)
    slots = slot_events(events)
    assert slots["location"] is None and slots["location_hint"] == "人民路"
    dispatcher, _ = await asked(make_tracker(slots={**slots, "problem_description": "人民路上的路灯不亮"}))
    assert dispatcher.messages == [
        {**dispatcher.messages[0], "response": "utter_ask_location_within", "place": "人民路"}
    ]


async def test_a_photo_first_is_kept_for_the_report_that_follows():
    from bot.actions.report import ActionBareAnswer

    photo = "/photos/" + "b" * 32 + ".jpg"
    tracker = make_tracker(
        text=f'/inform{{"photo_url":"{photo}"}}', intent="inform", entities=[{"entity": "photo_url", "value": photo}]
    )
    dispatcher, events = await run(ActionBareAnswer(), tracker)
    assert responses(dispatcher) == ["utter_photo_first"] and slot_events(events)["photo_url"] == photo
    tracker = make_tracker(text="井盖被人偷了", slots={"photo_url": photo}, category_ranking=ranking(("roads", 0.9)))
    _, events = await run(ActionStartReport(), tracker)
    assert slot_events(events)["photo_url"] == photo


async def test_the_device_position_names_the_nearest_place():
    from bot.actions.report import ActionBareAnswer

    tracker = make_tracker(
        text='/share_location{"latitude":30.47055,"longitude":106.63605}',
        intent="share_location",
        entities=[{"entity": "latitude", "value": 30.47055}, {"entity": "longitude", "value": 106.63605}],
        slots={"latitude": 30.47055, "longitude": 106.63605},
    )
    dispatcher, events = await run(ActionBareAnswer(), tracker)
    assert responses(dispatcher) == ["utter_position_found", "utter_ask_problem_after_place"]
    assert dispatcher.messages[0]["place"] == "锦绣江南"
    assert slot_events(events)["location_hint"] == "锦绣江南"


def test_the_compound_of_a_building_already_named():
    tracker = asked_where("幸福小区", location_hint="3栋2单元")
    assert validate("location", "幸福小区", tracker)[0]["location"] == "幸福小区3栋2单元"
