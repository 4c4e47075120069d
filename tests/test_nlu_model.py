"""The trained model's parse: intent, entities, category and urgency with rankings, in both scripts."""

import asyncio
from pathlib import Path

import pytest

from bot.textnorm import to_traditional


@pytest.fixture(scope="module")
def parse(trained_model):
    from rasa.core.agent import Agent

    agent = Agent.load(str(trained_model))
    loop = asyncio.new_event_loop()
    yield lambda text: loop.run_until_complete(agent.parse_message(text))
    loop.close()


def test_parse_carries_category_and_urgency_with_rankings(parse):
    result = parse("幸福小区3栋2单元楼道瓷砖掉了，我电话13812345678")
    assert result["intent"]["name"] == "report_problem"
    assert result["category"]["name"] == "building" and 0 < result["category"]["confidence"] <= 1
    assert [r["name"] for r in result["category_ranking"]][0] == "building"
    assert len(result["category_ranking"]) > 1
    assert result["urgency"]["name"] == "hazard"
    assert {r["name"] for r in result["urgency_ranking"]} == {"emergency", "hazard", "normal"}
    entities = {(e["entity"], e["value"]) for e in result["entities"]}
    assert entities == {("location", "幸福小区3栋2单元楼道"), ("phone", "13812345678")}
    assert result["script"] == "simplified"


# one unseen message per category, as residents write them
MESSAGES = {
    "building": "二单元的电梯这礼拜停了三回",
    "property": "物业公司收了停车费也不管乱停车",
    "sanitation": "小区后门的垃圾堆了快一周，臭得没法走",
    "roads": "学校门口那段路坑坑洼洼，自行车都骑不了",
    "utilities": "今天一早就停水了，到现在还没来",
    "noise_pollution": "对面工地每天凌晨还在打桩，根本睡不着",
    "greening": "小区里好几棵树枯死了也没人管",
    "safety": "最近车棚里的电瓶车接连被偷",
    "illegal_construction": "楼顶那家偷偷搭了个彩钢棚",
    "social_services": "我爸的养老金已经两个月没发了",
    "public_services": "孩子报名上小学，学校说学位满了",
    "other": "想表扬一下社区刘主任，帮了我们很多",
}


@pytest.mark.parametrize("category", sorted(MESSAGES))
def test_simplified_and_traditional_get_the_same_category(parse, category):
    simplified = parse(MESSAGES[category])
    traditional = parse(to_traditional(MESSAGES[category]))
    assert simplified["category"]["name"] == traditional["category"]["name"] == category
    # not always identical: a few characters (著, 乾…) are both Traditional and Simplified
    assert abs(simplified["category"]["confidence"] - traditional["category"]["confidence"]) < 0.1
    assert traditional["script"] == "traditional"


@pytest.mark.parametrize(
    "text", ["闻到一股煤气味", "电梯里有人出不来", "楼下着火了，好大的烟", "有人在小区门口打架，流了好多血"]
)
def test_indirect_emergencies_are_emergencies(parse, text):
    assert parse(text)["urgency"]["name"] == "emergency"


@pytest.mark.parametrize("text", ["人行道上的井盖不见了", "消防通道被车堵得死死的", "外墙的瓷砖松了快掉下来了"])
def test_hazards_are_hazards(parse, text):
    assert parse(text)["urgency"]["name"] == "hazard"


@pytest.mark.parametrize("text", ["", "😀😀", "？？！！", "<p></p>"])
def test_nothing_to_understand_goes_to_the_fallback(parse, text):
    assert parse(text)["intent"]["name"] == "nlu_fallback"


@pytest.mark.parametrize(
    "text, intent",
    [
        ("我的问题处理得怎么样了", "check_status"),
        ("ＭＳ－２０２６１１２５－０００７ 进度呢", "check_status"),
        ("算了，不报了", "stop"),
        ("你能做什么", "ask_capabilities"),
        ("你好", "greet"),
    ],
)
def test_everyday_intents(parse, text, intent):
    assert parse(text)["intent"]["name"] == intent


@pytest.mark.parametrize("text", ["路灯不亮", "燈不亮", "电梯不动了", "水龍頭不出水", "暖气不热", "不出水"])
def test_a_short_problem_said_with_a_not_is_a_report_not_a_no(parse, text):
    assert parse(text)["intent"]["name"] == "report_problem"


@pytest.mark.parametrize("text", ["不是", "不对", "不用了", "没有", "不是这个"])
def test_a_plain_no_stays_a_no(parse, text):
    assert parse(text)["intent"]["name"] == "deny"


def test_category_and_urgency_read_a_message_once_and_rank_it_as_each_model_alone(trained_model):
    """Both classifiers are trained on the same report examples, so the component works out a
    message's features once for both: the rankings are exactly those of each model on its own."""
    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.message import Message

    from bot.nlu.category import CategoryUrgencyClassifier

    agent = Agent.load(str(trained_model))
    component = next(
        node._component
        for node in agent.processor.graph_runner._instantiated_nodes.values()
        if isinstance(node._component, CategoryUrgencyClassifier)
    )
    assert component._same_features
    for text in [*MESSAGES.values(), "煤气味很重，好像漏气了", to_traditional("楼道灯坏了"), "确认"]:
        parsed = component.process([Message({"text": text})])[0]
        alone = [(r.label, round(r.confidence, 4)) for r in component.category_model.rank(text)]
        assert [(r["name"], r["confidence"]) for r in parsed.get("category_ranking")] == alone[:5], text
        urgent = [(r.label, round(r.confidence, 4)) for r in component.urgency_model.rank(text)]
        assert [(r["name"], r["confidence"]) for r in parsed.get("urgency_ranking")] == urgent, text


def test_the_shipped_classifiers_give_scikit_learns_probabilities(trained_model):
    """Features and rankings are worked out from the fitted models' arrays, not through
    scikit-learn's calls; every message's features, to the last bit, and every label's probability
    for each evaluation message are still the ones scikit-learn gives."""
    import csv

    import numpy as np
    from rasa.core.agent import Agent

    from bot.nlu.category import CategoryUrgencyClassifier

    agent = Agent.load(str(trained_model))
    component = next(
        node._component
        for node in agent.processor.graph_runner._instantiated_nodes.values()
        if isinstance(node._component, CategoryUrgencyClassifier)
    )
    fixture = Path(__file__).parent / "fixtures" / "classification_eval.csv"
    with fixture.open(encoding="utf-8") as rows:
        texts = [row["text"] for row in csv.DictReader(rows)]
    texts += [to_traditional(text) for text in texts[:50]] + ["确认", "没有", "13812345678", "abc", "", "🙂"]
    for model in (component.category_model, component.urgency_model):
        features = model.features(texts)
        assert model._reader is not None  # the arrays read the features, not scikit-learn
        assert (features != model.pipeline.named_steps["features"].transform(texts)).nnz == 0
        for text in texts[:20]:  # one message at a time, as in a chat turn
            assert (model.features([text]) != model.pipeline.named_steps["features"].transform([text])).nnz == 0
        expected = model.pipeline.named_steps["model"].predict_proba(features)
        for text, row, ranked in zip(texts, expected, model.rank_features(features)):
            got = {r.label: r.confidence for r in ranked}
            want = dict(zip(model.labels, row))
            assert np.allclose(
                [got[label] for label in model.labels], [want[label] for label in model.labels], rtol=0, atol=1e-12
            ), text
            assert ranked[0].label == model.labels[int(np.argmax(row))], text


def test_a_classifier_of_titled_messages_gives_scikit_learns_probabilities():
    """Trained on titled messages (a city's tickets) the model is one SVM calibrated on folds, and
    with two labels scikit-learn answers itself: either way the probabilities are scikit-learn's."""
    import numpy as np

    from bot.classifier.model import TextClassifier

    titled = [
        "路灯不亮\n晚上走路看不见",
        "路灯坏了\n好几天了",
        "井盖丢了\n很危险",
        "路面塌陷\n车过不去",
        "垃圾没人收\n臭死了",
        "垃圾桶满了\n溢出来了",
        "楼道灯坏了\n黑漆漆的",
        "电梯停了\n老人上不去",
        "噪音扰民\n半夜施工",
        "广场舞太吵\n天天晚上",
        "违章停车\n堵了消防通道",
        "乱停车\n出不去",
    ]
    labels = ["roads"] * 4 + ["sanitation"] * 2 + ["building"] * 2 + ["noise"] * 2 + ["traffic"] * 2
    probes = [*titled, "路灯又坏了\n小区门口", "楼上装修\n太吵", "随便说点什么", "確認"]
    for training_labels in (labels, ["urgent" if "危险" in t or "消防" in t else "normal" for t in titled]):
        model = TextClassifier().fit(titled, training_labels)
        features = model.features(probes)
        assert (features != model.pipeline.named_steps["features"].transform(probes)).nnz == 0
        expected = model.pipeline.named_steps["model"].predict_proba(features)
        got = np.array(
            [
                [{r.label: r.confidence for r in ranked}[label] for label in model.labels]
                for ranked in model.rank_features(features)
            ]
        )
        assert np.allclose(got, expected, rtol=0, atol=1e-12)


def test_classifiers_trained_on_other_messages_do_not_share_features():
    from bot.classifier.model import TextClassifier

    texts = ["楼道灯坏了", "路灯不亮", "垃圾没人收", "垃圾桶满了", "井盖丢了", "路面塌了"]
    labels = ["building", "roads", "sanitation", "sanitation", "roads", "roads"]
    one = TextClassifier().fit(texts, labels)
    same = TextClassifier().fit(texts, ["normal", "normal", "normal", "normal", "hazard", "hazard"])
    other = TextClassifier().fit([*texts[:-1], "路边的树倒了"], labels)
    assert one.reads_as(same) and not one.reads_as(other)
