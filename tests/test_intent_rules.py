"""A refusal is a refusal, and a described problem is a report, whatever DIET made of them."""

import pytest

from bot.classifier.intent_signals import corrected_intent


@pytest.mark.parametrize(
    "text, diet, expected",
    [
        # refusals that mention something reportable
        ("不报了，物业说明天来修", "report_problem", "stop"),
        ("我不投诉了，垃圾已经有人收走了", "report_problem", "stop"),
        ("先不提交吧，我问问楼上邻居", "inform", "stop"),
        ("別報了，我自己去找社區", "report_problem", "stop"),
        ("算了，灯又亮了", "report_problem", "stop"),
        # problems DIET read as something else
        ("和平街上的井盖翘起来了", "inform", "report_problem"),
        ("你好，楼顶水箱一直在漏", "greet", "report_problem"),
        ("怎么楼下一股烧焦的糊味", "check_status", "report_problem"),
        ("我想投诉，隔壁工地半夜还在敲", "start_report", "report_problem"),
        ("路燈一閃一閃的", "nlu_fallback", "report_problem"),
        ("小区垃圾桶满得往外溢", "out_of_scope", "report_problem"),
        ("小区停水两天了", "stop", "report_problem"),  # no word of refusal in it
        # a short problem said with a not, which DIET took for a no
        ("电梯不动了", "deny", "report_problem"),
        ("不出水", "deny", "report_problem"),
        ("暖气不热", "deny", "report_problem"),
        # a problem read as a question: nothing in it asks how, where, when or what it takes
        ("怎么楼下一股烧焦的糊味", "ask_question", "report_problem"),
        ("樓道的燈怎麼又壞了", "ask_question", "report_problem"),
        # questions that name a problem stay questions
        ("停水的通知在哪里能看到", "ask_question", None),
        ("晚上施工最晚可以到几点", "ask_question", None),
        ("垃圾分類要怎麼投放，有什麼規定", "ask_question", None),
        ("电梯坏了多久能修好，有规定吗", "ask_question", None),
        # ... also when only the question's form says so: a yes/no ending, which, when, how many, who
        ("小区里的路灯晚上几点关", "ask_question", None),
        ("旧沙发算大件垃圾吗", "ask_question", None),
        ("楼道堆杂物会被罚款嘛", "ask_question", None),
        ("噪音超过多少分贝算扰民", "ask_question", None),
        ("外墙渗水的维修归谁负责", "ask_question", None),
        ("停電一般是哪個部門通知", "ask_question", None),
        ("工地晚上十点后施工合法吗", "ask_question", None),
        ("门禁卡丢了怎么补办", "ask_question", None),
        # ... but complaining with 怎么, 为什么 or "有人管吗" is a report
        ("为什么我们楼的路灯老是不亮", "ask_question", "report_problem"),
        ("楼下垃圾堆了一个星期有人管吗", "ask_question", "report_problem"),
        # readings that stand
        ("我上周反映的漏水处理得怎么样了", "check_status", None),
        ("查一下工单进度，楼道灯那个", "check_status", None),
        ("我要投诉", "start_report", None),
        ("没有了", "deny", None),
        ("不用了", "deny", None),
        ("没有，还是不亮", "deny", None),  # a no said first stays a no
        ("不是，我说的是路灯不亮", "deny", None),
        ("没有了，就是灯不亮", "deny", None),
        ("就在5栋楼下", "inform", None),
        ("谢谢你们", "thank", None),
        ("我报了好几次都没人管", "report_problem", None),
        ("/affirm", "affirm", None),
    ],
)
def test_corrected_intent(text, diet, expected):
    assert corrected_intent(text, diet) == expected


def test_an_unclear_message_that_names_a_place_or_a_phone_is_an_answer():
    assert corrected_intent("不對，是8棟", "nlu_fallback", ["location"]) == "inform"
    assert corrected_intent("打这个 13912345678", "nlu_fallback", ["phone"]) == "inform"
    assert corrected_intent("？？？", "nlu_fallback", []) is None
    # a bare yes, no or hello of DIET's that names a place is a correction or an answer too
    assert corrected_intent("不對，是8棟", "deny", ["location"]) == "inform"
    assert corrected_intent("红星小区", "affirm", ["location"]) == "inform"
    assert corrected_intent("红星小区", "greet", ["location"]) == "inform"
    assert corrected_intent("你好", "greet", []) is None
    assert corrected_intent("不对，不是这个", "deny", []) is None  # DIET's reading stands


def test_a_place_said_as_where_something_is_is_an_answer_not_a_question():
    """Asked where, "小区里" read by DIET as a question got "这个问题我还答不上来" instead of the form."""
    for text in ["小区里", "就在楼下那边", "社區門口", "学校对面"]:
        assert corrected_intent(text, "ask_question") == "inform", text
    for text in ["小区里能养狗吗", "物业费在哪里交", "小区里的垃圾几点收", "哪个部门管小区里", "居住证材料"]:
        assert corrected_intent(text, "ask_question") is None, text


def test_a_yes_in_words_to_passing_a_question_on_is_a_yes():
    # the offer's button typed out, and what residents type instead of pressing it
    for text, diet in [
        ("好的，转给工作人员", "rate"),
        ("好，麻煩幫我轉給工作人員", "start_report"),
        ("那就转给工作人员吧", "inform"),
        ("可以，转过去吧", "nlu_fallback"),
        ("嗯嗯，麻烦转一下", "start_report"),
        ("行，转人工", "start_report"),
    ]:
        assert corrected_intent(text, diet) == "affirm", text
    assert corrected_intent("好的，转给工作人员", "affirm") is None  # DIET's reading stands
    # asking how, a problem, or no yes at all: not a yes
    for text, diet in [
        ("好，怎么转人工", "ask_question"),
        ("好，转给工作人员吗？", "start_report"),
        ("好的，路灯坏了帮我转给相关部门", "report_problem"),
        ("那个转角的路灯不亮", "report_problem"),
        ("要转户口", "ask_question"),
        ("帮我转人工", "start_report"),
        ("麻烦转告物业一下", "start_report"),
    ]:
        assert corrected_intent(text, diet) != "affirm", text
