"""Residents' answers to the satisfaction question, read onto the five levels."""

import pytest

from bot import ratings


@pytest.mark.parametrize(
    "answer, level",
    [
        ("非常满意", 5),
        ("满意", 4),
        ("基本满意", 3),
        ("不满意", 2),
        ("非常不满意", 1),
        ("非常滿意", 5),
        ("不滿意", 2),
        ("基本滿意", 3),
        ("还行", 3),
        ("還行吧", 3),
        ("一般般", 3),
        ("一般", 3),
        ("凑合吧", 3),
        ("根本没修好", 2),
        ("根本沒修好", 2),
        ("还是老样子", 2),
        ("不满意，根本没修好", 2),
        ("太差了，敷衍了事", 1),
        ("很不满意", 1),
        ("挺好的，谢谢", 4),
        ("修好了，谢谢你们", 4),
        ("很满意！", 5),
        ("👍", 5),
        ("5", 5),
        ("１", 1),
        ("3分", 3),
    ],
)
def test_answers_map_onto_the_five_levels(answer, level):
    assert ratings.parse(answer).level == level


@pytest.mark.parametrize("answer", ["", "   ", "今天星期几", "6", "路灯又不亮", "MS-20261125-0001"])
def test_answers_without_a_level_are_not_guessed(answer):
    assert ratings.parse(answer) is None


def test_the_answer_is_the_comment_when_it_says_more_than_the_level():
    assert ratings.parse("不满意，根本没修好").comment == "不满意，根本没修好"
    assert ratings.parse("还行吧，就是来得有点慢").comment == "还行吧，就是来得有点慢"
    assert ratings.parse("非常满意").comment is None
    assert ratings.parse("满意的").comment is None


def test_only_the_two_lowest_levels_reopen():
    assert [level for level in ratings.LEVELS if ratings.Rating(level, None).reopens] == [2, 1]
