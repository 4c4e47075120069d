"""Where a problem is: the district's gazetteer and what a resident's words about a place say.

    gazetteer = places.load()                 # bot/places.yml, or MINSHENG_PLACES_FILE
    gazetteer.resolve("锦绣江南4栋门口")       # Place(street="枣山街道", community="城南社区", …)
    gazetteer.nearest(30.4706, 106.6361)      # the compound, road or 社区 nearest a device's position
    places.vagueness("就我们小区那边")          # "vague": ask for a name or a landmark

A place that matches nothing is not refused: the ticket keeps the resident's words and is flagged
for the dispatcher (`Place.known` is False).
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import yaml

from bot import settings
from bot.parsing import ESTATE_SUFFIX
from bot.textnorm import normalize

# Which kind of name says most about where a place is, when two names of the same length match.
_KIND_ORDER = {"compound": 0, "road": 1, "community": 2, "street": 3}


@dataclass(frozen=True)
class Place:
    """What the gazetteer knows of a place: its 街道 and 社区, the name it matched, coordinates."""

    street: Optional[str] = None
    community: Optional[str] = None
    name: Optional[str] = None
    kind: Optional[str] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None

    @property
    def known(self) -> bool:
        return self.street is not None


UNKNOWN = Place()


@dataclass(frozen=True)
class _Entry:
    place: Place
    aliases: Tuple[str, ...]  # normalised


class GazetteerError(ValueError):
    """The gazetteer file cannot be used; the message says where."""


class Gazetteer:
    def __init__(self, entries: List[_Entry], district: str = "", sample: bool = False) -> None:
        self.entries = entries
        self.district = district
        self.sample = sample
        # Longest names first: "锦绣江南小区" before "锦绣江南", "幸福社区" not inside "幸福小区".
        self._by_alias = sorted(
            ((alias, entry) for entry in entries for alias in entry.aliases),
            key=lambda pair: (-len(pair[0]), _KIND_ORDER[pair[1].place.kind or "street"]),
        )
        self._names = tuple(alias for alias, _ in self._by_alias)

    @classmethod
    def from_file(cls, path: Path) -> "Gazetteer":
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise GazetteerError(f"{path}: {error}") from error
        entries: List[_Entry] = []

        def coordinates(item: dict, where: str) -> Tuple[Optional[float], Optional[float]]:
            at = item.get("at")
            if at is None:
                return None, None
            if not (isinstance(at, list) and len(at) == 2 and valid_position(at[0], at[1])):
                raise GazetteerError(f"{path}: {where}: `at` must be [latitude, longitude]")
            return float(at[0]), float(at[1])

        def add(item: dict, kind: str, street: str, community: Optional[str], where: str) -> None:
            name = str(item.get("name") or "").strip()
            if not name:
                raise GazetteerError(f"{path}: {where}: a {kind} without a name")
            lat, lon = coordinates(item, f"{where} {name}")
            aliases = tuple(dict.fromkeys(normalize(a) for a in [name, *(item.get("aliases") or [])] if a))
            entries.append(_Entry(Place(street, community, name, kind, lat, lon), aliases))

        streets = {s.get("name") for s in raw.get("streets") or []}
        for street in raw.get("streets") or []:
            add(street, "street", street.get("name"), None, "streets")
            for community in street.get("communities") or []:
                add(community, "community", street["name"], community.get("name"), f"{street['name']}")
                for compound in community.get("compounds") or []:
                    add(compound, "compound", street["name"], community["name"], f"{community.get('name')}")
        for road in raw.get("roads") or []:
            if road.get("street") not in streets:
                raise GazetteerError(f"{path}: road {road.get('name')}: unknown street {road.get('street')!r}")
            add(road, "road", road["street"], road.get("community"), "roads")
        return cls(entries, str(raw.get("district") or ""), bool(raw.get("sample")))

    def names(self) -> Tuple[str, ...]:
        """Every name and alias, normalised, longest first."""
        return self._names

    def find(self, text: str) -> Optional[Tuple[Place, int, int]]:
        """The most telling name in the text, with its span: the longest, and among equally long
        ones a compound before a road, a 社区 or a 街道."""
        norm = normalize(text)
        best: Optional[Tuple[Place, int, int]] = None
        for alias, entry in self._by_alias:
            start = norm.find(alias)
            if start < 0:
                continue
            if best is None or _KIND_ORDER[entry.place.kind or "street"] < _KIND_ORDER[best[0].kind or "street"]:
                best = (entry.place, start, start + len(alias))
            if best[0].kind == "compound":
                break
        return best

    def resolve(self, text: Optional[str]) -> Place:
        found = self.find(text or "")
        return found[0] if found else UNKNOWN

    def nearest(self, latitude: float, longitude: float, within_m: float = 1500) -> Optional[Place]:
        """The compound, road or 社区 nearest a position, if one is within `within_m` metres."""
        best, best_d = None, within_m
        for entry in self.entries:
            place = entry.place
            if place.latitude is None or place.kind == "street":
                continue
            d = distance_m(latitude, longitude, place.latitude, place.longitude or 0.0)
            if d <= best_d:
                best, best_d = place, d
        return best


def valid_position(latitude: Optional[float], longitude: Optional[float]) -> bool:
    """A position on the earth (WGS-84 degrees)."""
    return latitude is not None and longitude is not None and -90 <= latitude <= 90 and -180 <= longitude <= 180


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371000 * math.asin(math.sqrt(a))


def load(path: Optional[str] = None) -> Gazetteer:
    """The gazetteer of MINSHENG_PLACES_FILE (default: the shipped sample), read once per file."""
    return _load(path or str(settings.load().places_file))


@functools.lru_cache(maxsize=4)
def _load(path: str) -> Gazetteer:
    return Gazetteer.from_file(Path(path))


# ---------------------------------------------------------------- what the words say

# "说不清", "不知道在哪": the resident cannot say.
_DONT_KNOW = re.compile(
    r"说不清楚|不知道|不清楚|说不清|说不上来|讲不清|不记得|记不清|记不得|搞不清|不太确定|忘了|不晓得|不懂"
)
# Words that point at a place without naming it.
_POINTING = [
    "我们小区",
    "我们这个小区",
    "小区里面",
    "小区里",
    "小区",
    "我们楼",
    "我们家",
    "我家",
    "家门口",
    "楼下",
    "楼上",
    "楼道",
    "门口",
    "这附近",
    "附近",
    "旁边",
    "这边",
    "那边",
    "这里",
    "那里",
    "这儿",
    "那儿",
    "周边",
    "一带",
    "路边",
    "马路上",
    "路上",
    "街上",
    "这条街",
    "这条路",
    "那条路",
    "那条街",
    "我们这",
    "我们那",
    "我住的地方",
    "我住那",
]
_FILLER = re.compile(
    r"就在|就是|就|在|是|的|啊|呀|吧|呢|嘛|那个|这个|那块|这块|反正|大概|应该|可能|好像|差不多|"
    r"我们|我|你们|那|这|一下|嗯|额|哦|其实|没有|没|[\s\W_]"
)


def vagueness(text: Optional[str]) -> Optional[str]:
    """'dont_know' when the resident says they cannot tell, 'vague' when the words only point at a
    place ("我们小区", "楼下", "这附近"), None when they name one."""
    norm = normalize(text)
    if load().find(norm) is not None:
        return None
    rest = norm
    for word in _POINTING:
        rest = rest.replace(word, "")
    rest = _FILLER.sub("", _DONT_KNOW.sub("", rest))
    anchored = any(ch.isdigit() for ch in rest) or bool(_NAMED.search(rest) or _WHERE_IN.search(rest))
    if _DONT_KNOW.search(norm):
        return None if anchored else "dont_know"  # "记不清几栋了，反正在菜市场旁边" names one
    if anchored or len(rest) >= 2:
        return None  # something of its own is named: "菜市场旁边", "3栋", "沃尔玛后面"
    return "vague"


# A place is complete when it names where (a compound, a road, a 社区) and where in it (a building,
# a house number, a landmark or a crossing).
_WHERE_IN = re.compile(
    r"\d+\s*(栋|幢|号楼|座|单元|号|楼|层)|[一二三四五六七八九十两]+(栋|幢|号楼|座|单元|号|楼|层)|"
    r"门口|楼下|对面|旁边|附近|后面|前面|东门|西门|南门|北门|大门|路口|交叉|拐角|转角|"
    r"公交站|车站|站台|中间|里面|外面|楼道|电梯|车库|停车场|广场|花坛|垃圾站|菜市场|超市|学校|医院|桥"
)
_NAMED = re.compile(rf"{ESTATE_SUFFIX}|路|街|大道|巷|胡同")


def has_name(text: Optional[str]) -> bool:
    """Names a compound, a road, a 社区 or a landmark ("锦绣江南", "人民路", "菜市场")."""
    norm = normalize(text)
    return load().find(norm) is not None or bool(_NAMED.search(norm))


def has_spot(text: Optional[str]) -> bool:
    """Says where in a place: a building, a house number, a landmark or a crossing."""
    return bool(_WHERE_IN.search(normalize(text)))


def is_complete(text: Optional[str]) -> bool:
    """Names where and where in it, so the assistant need not ask: "锦绣江南4栋门口",
    "人民路88号", "东风路和新华街路口" — not "人民路", "幸福小区" or "3栋2单元"."""
    return has_name(text) and has_spot(text)
