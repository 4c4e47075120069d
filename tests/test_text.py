"""Normalisation and the patterns that read phones, ticket numbers and addresses."""

import pytest

from bot import parsing
from bot.textnorm import clean_user_text, detect_script, normalize, to_traditional


def test_normalize_folds_width_script_and_case_keeping_length():
    text = "三棟２單元ＡＢ樓道"
    assert normalize(text) == "三栋2单元ab楼道"
    assert len(normalize(text)) == len(text)


@pytest.mark.parametrize(
    "text, script",
    [
        ("路燈壞了好幾天", "traditional"),
        ("路灯坏了好几天", "simplified"),
        ("好", None),
        ("13812345678", None),
        ("😀", None),
    ],
)
def test_detect_script(text, script):
    assert detect_script(text) == script


def test_traditional_conversion_of_an_answer():
    assert to_traditional("您的诉求已受理，责任部门：住建局") == "您的訴求已受理，責任部門：住建局"


def test_traditional_answers_are_converted_by_phrase_with_one_word_for_reply():
    """OpenCC alone writes 「工單隻能」 and mixes 回復 / 回覆 across our answers."""
    import yaml

    from tests.conftest import ROOT

    responses = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]
    texts = [to_traditional(v.get("text", "")) for variants in responses.values() for v in variants]
    assert any("工單只能" in t for t in texts)
    assert not [t for t in texts if "隻能" in t or "回復" in t]
    assert sum("回覆" in t for t in texts) >= 5


@pytest.mark.parametrize(
    "text, phone",
    [
        ("我电话13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("座机0826-2345678", "0826-2345678"),
    ],
)
def test_find_phone(text, phone):
    assert parsing.find_phone(text).value == phone


@pytest.mark.parametrize("text", ["1381234567", "12345678901", "电话多少", "138123456789"])
def test_not_a_phone(text):
    assert parsing.find_phone(text) is None


def test_mask_phone_and_last4():
    assert parsing.mask_phone("13812345678") == "138****5678"
    assert parsing.phone_last4("0826-2345678") == "5678"
    assert parsing.mask_phones_in("我电话13812345678") == "我电话138****5678"


@pytest.mark.parametrize(
    "text",
    [
        "MS-20261125-0007",
        "ms-20261125-0007",
        "ms202611250007",
        "ＭＳ－２０２６１１２５－０００７",
        "查一下 Ms 20261125 0007 的进度",
    ],
)
def test_ticket_number_any_case_width_and_dashes(text):
    assert parsing.find_ticket_number(text, "MS").value == "MS-20261125-0007"


def test_ticket_number_of_another_prefix_is_not_ours():
    assert parsing.find_ticket_number("XY-20261125-0007", "MS") is None
    assert parsing.looks_like_ticket_number("ms-2026-7")


@pytest.mark.parametrize(
    "text, location",
    [
        ("3栋2单元楼道瓷砖掉了，我电话13812345678", "3栋2单元楼道"),
        ("幸福小区三棟2單元的路燈壞了", "幸福小区三棟2單元"),
        ("和平社區5棟", "和平社區5棟"),
        ("我家在锦绣花园5号楼3单元12楼", "锦绣花园5号楼3单元12楼"),
        ("我在新华街12号门口", "新华街12号门口"),
        ("我们小区门口的路灯坏了", None),
        ("楼道灯不亮", None),
        # the whole place: a gazetteer name without 小区, and where in it
        ("锦绣江南4栋门口垃圾堆了好几天没人收", "锦绣江南4栋门口"),
        ("東風路36號對面的巷子口", "東風路36號對面"),
        ("建设大道与和平街交叉口老是堵", "建设大道与和平街交叉口"),
        # words that end in 路/街 without naming one
        ("路灯坏了好几天，晚上走路看不见", None),
        ("下水道堵了，污水冒到路上", None),
        ("我们这条街的路灯一到晚上就灭", None),
        ("马路上有个坑", None),
        ("先不登記了，我自己去找社區", None),
        ("我去找幸福小区物业问问", "幸福小区"),
    ],
)
def test_find_location(text, location):
    found = parsing.find_location(text)
    assert (found.value if found else None) == location


@pytest.mark.parametrize(
    "previous, correction, merged",
    [
        ("幸福小区3栋2单元", "是4栋", "幸福小区4栋2单元"),
        ("幸福小区3栋2单元", "4栋3单元", "幸福小区4栋3单元"),
        ("3栋", "幸福小区5栋", "幸福小区5栋"),
        ("人民路", "3栋", "人民路3栋"),
        ("锦绣江南小区4栋门口", "5栋楼下", "锦绣江南小区5栋楼下"),
        ("锦绣江南4栋", "是5栋楼下", "锦绣江南5栋楼下"),
        ("3栋", "门口", "3栋门口"),
    ],
)
def test_merge_location(previous, correction, merged):
    assert parsing.merge_location(previous, correction) == merged


def test_clean_user_text_drops_control_characters_and_cuts_long_text():
    assert clean_user_text("  楼道\x00灯坏了 ") == "楼道灯坏了"
    assert len(clean_user_text("字" * 5000)) == 2000
