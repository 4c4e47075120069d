"""Reading phone numbers, ticket numbers and locations out of what residents type."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

from bot.textnorm import fold_width, normalize

# ---------------------------------------------------------------- phone numbers
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?(1[3-9]\d(?:[\s-]?\d){8})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[\s-]?(\d{7,8})(?!\d)")


@dataclass(frozen=True)
class Span:
    value: str
    start: int
    end: int


def find_phone(text: str) -> Optional[Span]:
    """The first mobile or landline number in the text, as digits; spaces, dashes, +86 and
    full-width digits are accepted."""
    folded = fold_width(text or "")
    match = _MOBILE.search(folded)
    if match:
        return Span(re.sub(r"\D", "", match.group(1)), match.start(), match.end())
    match = _LANDLINE.search(folded)
    if match:
        return Span(match.group(1) + "-" + match.group(2), match.start(), match.end())
    return None


def mask_phone(phone: Optional[str]) -> str:
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_phones_in(text: str) -> str:
    """The text with every phone number in it masked (for showing a description back)."""
    folded = fold_width(text or "")
    out, last = [], 0
    for match in sorted([*_MOBILE.finditer(folded), *_LANDLINE.finditer(folded)], key=lambda m: m.start()):
        if match.start() < last:
            continue
        out.append(text[last : match.start()])
        out.append(mask_phone(match.group(0)))
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def phone_last4(phone: Optional[str]) -> str:
    return re.sub(r"\D", "", phone or "")[-4:]


_FOUR_DIGITS = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def find_last4(text: str) -> Optional[str]:
    """Four digits typed on their own ("尾号 5678", "５６７８")."""
    folded = re.sub(r"[\s-]", "", fold_width(text or ""))
    match = _FOUR_DIGITS.search(folded)
    return match.group(1) if match else None


# ---------------------------------------------------------------- photos
# What the web app hands out for an uploaded photo, and the only photo reference a report accepts.
PHOTO_PATH = re.compile(r"^/photos/[0-9a-f]{32}\.(?:jpg|png|webp|gif)$")


# ---------------------------------------------------------------- ticket numbers
_TICKET = re.compile(r"(?<![a-z])([a-z]{1,8})[\s\-_—–.]*(\d{8})[\s\-_—–.]*(\d{4,6})(?!\d)")


def find_ticket_number(text: str, prefix: str) -> Optional[Span]:
    """A ticket number like MS-20261125-0007 in any case, width, with or without dashes.
    Returned in its canonical form."""
    norm = normalize(text)
    for match in _TICKET.finditer(norm):
        if match.group(1) == prefix.lower():
            canonical = f"{prefix.upper()}-{match.group(2)}-{match.group(3)}"
            return Span(canonical, match.start(), match.end())
    return None


def looks_like_ticket_number(text: str) -> bool:
    """Something that was meant as a ticket number, even if malformed (ms-2026-7)."""
    return bool(re.search(r"[a-z]{2}[\s\-_]*\d{3,}", normalize(text)))


# ---------------------------------------------------------------- locations
_NUM = r"[0-9一二三四五六七八九十百零两〇]+"
_PLACE_NAME = r"(?:(?![的了在是把被给能想要让也都还就很没不吗呢吧])[\u4e00-\u9fa5a-z0-9]){2,12}?"
_STREET = r"(?:路|街(?!道|坊)|大道|巷|胡同|大街)(?!灯|面|牌|况|费|由|过|边)"
# The words a compound or a public place ends in (also what bot/places.py counts as naming a place).
ESTATE_SUFFIX = r"(?:小区|花园|家园|苑|公寓|新村|社区|大院|宿舍|广场|市场|学校|医院|公园)"
# Where in a place: kept with it ("4栋门口", "5栋楼下", "36号对面").
_LANDMARK = (
    r"(?:的)?(?:大门口|门口|楼下|楼上|对面|旁边|附近|后面|前面|背后|侧面|[东南西北]门口?|[东南西北]侧|"
    r"十字路口|路口|交叉口|拐角|转角|楼道|电梯口|电梯|地下车库|车库|停车场|公交站|站台|花坛|垃圾站|入口|出口)"
)
# Words that end in 路/街 without naming one: "晚上走路", "污水冒到路上", "这条街", "马路".
_NOT_A_ROAD_BEFORE = set("走到过上下修挖铺马公道小大山水线半去来带让挡拦堵出进回问认迷赶引绕条段边")
_DEMONSTRATIVE = re.compile(r"^(?:这|那|哪|每|一条|整条)")


def _parts_pattern(names: Tuple[str, ...]) -> List[str]:
    gazetteer = [rf"(?:{'|'.join(re.escape(n) for n in names)})(?:{ESTATE_SUFFIX})?"] if names else []
    return gazetteer + [
        rf"{_PLACE_NAME}{ESTATE_SUFFIX}",
        rf"{_PLACE_NAME}{_STREET}(?:{_NUM}号)?",
        rf"{_NUM}(?:栋|幢|号楼|座)",
        rf"{_NUM}(?:单元)",
        rf"{_NUM}(?:楼|层)(?!道|梯|下|上|顶)",
        rf"{_NUM}(?:室|号)",
    ]


@functools.lru_cache(maxsize=4)
def _location_pattern(names: Tuple[str, ...]) -> "re.Pattern[str]":
    part = "(?:" + "|".join(_parts_pattern(names)) + ")"
    joined = rf"{part}(?:\s*(?:[和与跟及、]\s*)?{part})*"
    return re.compile(rf"{joined}(?:{_LANDMARK}){{0,2}}")


def _gazetteer_names() -> Tuple[str, ...]:
    from bot import places  # the gazetteer reads the settings; imported when first needed

    return places.load().names()


_GENERIC_PLACES = {
    "小区",
    "社区",
    "公园",
    "广场",
    "市场",
    "学校",
    "医院",
    "宿舍",
    "大院",
    "公寓",
    "新村",
    "花园",
    "家园",
}
_LEADING_NOISE = re.compile(
    r"^(?:我家|我们|我们家|我住|住在|就在|在|是|那个|这个|我|家|建议|希望|感谢|谢谢|表扬|问问|问一下|一下|找|请|帮|想|要)+"
)
_STREET_END = re.compile(_STREET)
# Verbs that never stand in a place's name: "自己去找社区", "打给幸福小区物业" — the place, if any,
# begins after them.
_VERB_BEFORE_PLACE = re.compile(r".*(?:找|去|给|告诉|联系|问|说)")


def _names_a_place(run: str, names: Tuple[str, ...]) -> bool:
    """A run the patterns found is a place unless its road is a verb or a pointer ("走路", "这条街")."""
    if _DEMONSTRATIVE.match(run) or re.sub(rf"{_LANDMARK}$", "", run) in _GENERIC_PLACES:
        return False
    if any(n in run for n in names):
        return True
    first_street = _STREET_END.search(run)
    first_estate = re.search(ESTATE_SUFFIX, run)
    if first_street and (not first_estate or first_street.start() < first_estate.start()):
        before = run[first_street.start() - 1] if first_street.start() else ""
        if before in _NOT_A_ROAD_BEFORE or first_street.start() < 2:
            return False
    return True


def find_location(text: str) -> Optional[Span]:
    """The longest place-like run (a gazetteer name, 小区/路/栋/单元/楼层/室, and a landmark such as
    门口/楼下/对面) in the text, in the resident's own characters."""
    norm = normalize(text)
    names = _gazetteer_names()
    best = None
    for match in _location_pattern(names).finditer(norm):
        start, end = match.start(), match.end()
        lead = _LEADING_NOISE.match(norm[start:end])
        if lead and not any(norm.startswith(n, start) for n in names):
            start += lead.end()
        verb = _VERB_BEFORE_PLACE.match(norm[start:end])
        if verb and not any(n in norm[start:end] for n in names if norm.find(n, start) < start + verb.end()):
            start += verb.end()
        if end - start < 2 or not _names_a_place(norm[start:end], names):
            continue
        if best is None or (end - start) > (best[1] - best[0]):
            best = (start, end)
    if best is None:
        return None
    return Span(text[best[0] : best[1]], best[0], best[1])


_PART_KINDS = [
    ("estate", re.compile(rf"{_PLACE_NAME}(?:小区|花园|家园|苑|公寓|新村|社区|大院|宿舍)")),
    ("street", re.compile(rf"{_PLACE_NAME}{_STREET}(?:{_NUM}号)?")),
    ("building", re.compile(rf"{_NUM}(?:栋|幢|号楼|座)")),
    ("unit", re.compile(rf"{_NUM}单元")),
    ("floor", re.compile(rf"{_NUM}(?:楼|层)(?!道|梯|下|上)")),
    ("room", re.compile(rf"{_NUM}室")),
    ("landmark", re.compile(rf"(?:{_LANDMARK}){{1,2}}$")),
]
_KINDS = [kind for kind, _ in _PART_KINDS]


def _parts(text: str) -> dict:
    norm = normalize(text)
    found = {}
    for kind, pattern in _PART_KINDS:
        match = pattern.search(norm)
        if match:
            found[kind] = (match.start(), match.end())
    for name in _gazetteer_names():
        at = norm.find(name)
        if at >= 0 and "estate" not in found and "street" not in found:
            found["estate"] = (at, at + len(name))
    return found


def merge_location(previous: Optional[str], correction: str) -> str:
    """Apply a correction such as "是4栋" to "幸福小区3栋2单元" → "幸福小区4栋2单元", or "5栋楼下"
    to "锦绣江南4栋门口" → "锦绣江南5栋楼下".

    A correction that names an estate or a street (a different place), or nothing a place is made
    of, replaces the previous location; otherwise each part it names replaces the same part, and a
    part the previous location lacked is put where it belongs."""
    if not previous:
        return correction
    new_parts = _parts(correction)
    old_parts = _parts(previous)
    if not new_parts or "estate" in new_parts or "street" in new_parts:
        return correction

    edits = []  # (start, end, text) in previous
    for kind, (n_start, n_end) in new_parts.items():
        piece = correction[n_start:n_end]
        if kind in old_parts:
            edits.append((*old_parts[kind], piece))
            continue
        earlier = [old_parts[k][1] for k in _KINDS[: _KINDS.index(kind)] if k in old_parts]
        at = max(earlier) if earlier else len(previous)
        edits.append((at, at, piece))
    merged = previous
    for start, end, piece in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        merged = merged[:start] + piece + merged[end:]
    return merged


def spans(text: str, prefix: str) -> List[tuple]:
    """Every entity the pattern extractor reports: (entity, Span)."""
    found = []
    for entity, span in (
        ("ticket_number", find_ticket_number(text, prefix)),
        ("phone", None),
        ("location", find_location(text)),
    ):
        if span is not None:
            found.append((entity, span))
    ticket = found[0][1] if found and found[0][0] == "ticket_number" else None
    phone = find_phone(text)
    if phone is not None and not (ticket and phone.start < ticket.end and ticket.start < phone.end):
        found.append(("phone", phone))
    return found
