"""The district's gazetteer and what residents' words about a place say."""

import pytest

from bot import places
from bot.places import Gazetteer, GazetteerError


@pytest.fixture(scope="module")
def gazetteer():
    return places.load()


def test_the_shipped_gazetteer_is_a_marked_sample(gazetteer):
    assert gazetteer.sample and gazetteer.district
    streets = {e.place.street for e in gazetteer.entries}
    assert len(streets) >= 3 and None not in streets


@pytest.mark.parametrize(
    "words, street, community, name",
    [
        ("锦绣江南4栋门口", "枣山街道", "城南社区", "锦绣江南"),
        ("錦繡江南小區4棟", "枣山街道", "城南社区", "锦绣江南"),  # Traditional, with 小区
        ("幸福小区3栋2单元", "枣山街道", "和平社区", "幸福小区"),
        ("幸福社区南门", "滨江街道", "幸福社区", "幸福社区"),  # not 幸福小区
        ("供电局宿舍那边", "滨江街道", "幸福社区", "电力宿舍"),  # an alias
        ("人民路88号", "枣山街道", None, "人民路"),  # a long road: its 街道 only
        ("滨江大道边上", "滨江街道", None, "滨江路"),
    ],
)
def test_a_place_is_resolved_to_its_street_and_community(gazetteer, words, street, community, name):
    place = gazetteer.resolve(words)
    assert (place.street, place.community, place.name) == (street, community, name)
    assert place.known


def test_an_unknown_place_is_not_refused_only_unknown(gazetteer):
    assert gazetteer.resolve("沃尔玛后面的停车场") == places.UNKNOWN
    assert not places.UNKNOWN.known


def test_the_nearest_place_to_a_device_position(gazetteer):
    near = gazetteer.nearest(30.47055, 106.63605)  # a few metres from 锦绣江南
    assert near.name == "锦绣江南" and near.community == "城南社区"
    assert gazetteer.nearest(39.9042, 116.4074) is None  # Beijing: not in this district


@pytest.mark.parametrize(
    "words, kind",
    [
        ("说不上来，反正在我们小区", "dont_know"),
        ("記不清了", "dont_know"),
        ("我也不晓得叫啥", "dont_know"),
        ("就在我家楼下", "vague"),
        ("这附近", "vague"),
        ("小区里面", "vague"),
        ("那条路上", "vague"),
        ("菜市场旁边", None),
        ("5栋", None),
        ("锦绣江南", None),
        ("在沃尔玛后面", None),
    ],
)
def test_words_that_only_point_at_a_place(words, kind):
    assert places.vagueness(words) == kind


@pytest.mark.parametrize(
    "words, complete",
    [
        ("锦绣江南4栋门口", True),
        ("人民路88号", True),
        ("東風路和新華街路口", True),
        ("人民路", False),
        ("幸福小区", False),
        ("楼下", False),
    ],
)
def test_a_place_is_complete_when_it_says_where_and_where_in_it(words, complete):
    assert places.is_complete(words) is complete


def test_a_gazetteer_with_a_mistake_is_refused_with_where(tmp_path):
    bad = tmp_path / "places.yml"
    bad.write_text(
        "streets:\n  - name: 东街道\n    communities:\n      - name: 东社区\n        at: [300, 1]\n", encoding="utf-8"
    )
    with pytest.raises(GazetteerError, match="东社区"):
        Gazetteer.from_file(bad)
    bad.write_text("streets: []\nroads:\n  - {name: 大路, street: 西街道}\n", encoding="utf-8")
    with pytest.raises(GazetteerError, match="西街道"):
        Gazetteer.from_file(bad)
