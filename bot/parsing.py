"""Reading phone numbers, ticket numbers and locations out of what residents type."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional

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
_LOCATION_PARTS = [
    rf"{_PLACE_NAME}(?:小区|花园|家园|苑|公寓|新村|社区|大院|宿舍|广场|市场|学校|医院|公园)",
    rf"{_PLACE_NAME}{_STREET}(?:{_NUM}号)?",
    rf"{_NUM}(?:栋|幢|号楼|座)",
    rf"{_NUM}(?:单元)",
    rf"{_NUM}(?:楼|层)(?!道|梯|下|上|顶)",
    rf"{_NUM}(?:室|号)",
]
_LOCATION = re.compile("(?:" + "|".join(_LOCATION_PARTS) + r")(?:\s*(?:" + "|".join(_LOCATION_PARTS) + "))*")
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


def find_location(text: str) -> Optional[Span]:
    """The longest address-like run (小区/路/栋/单元/楼层/室) in the text, in the resident's own
    characters."""
    norm = normalize(text)
    best = None
    for match in _LOCATION.finditer(norm):
        start, end = match.start(), match.end()
        lead = _LEADING_NOISE.match(norm[start:end])
        if lead:
            start += lead.end()
        if end - start < 2 or norm[start:end] in _GENERIC_PLACES:
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
    ("floor", re.compile(rf"{_NUM}(?:楼|层)(?!道|梯)")),
    ("room", re.compile(rf"{_NUM}室")),
]


def _parts(text: str) -> dict:
    norm = normalize(text)
    found = {}
    for kind, pattern in _PART_KINDS:
        match = pattern.search(norm)
        if match:
            found[kind] = (match.start(), match.end())
    return found


def merge_location(previous: Optional[str], correction: str) -> str:
    """Apply a correction such as "是4栋" to "幸福小区3栋2单元" → "幸福小区4栋2单元".

    When the correction names parts the previous location did not have, or names an estate or a
    street (a different place), the correction replaces the previous location."""
    if not previous:
        return correction
    new_parts = _parts(correction)
    old_parts = _parts(previous)
    if not new_parts or "estate" in new_parts or "street" in new_parts:
        return correction
    if not set(new_parts) <= set(old_parts):
        return correction
    merged = previous
    # replace from the right so earlier offsets stay valid
    for kind in sorted(new_parts, key=lambda k: old_parts[k][0], reverse=True):
        o_start, o_end = old_parts[kind]
        n_start, n_end = new_parts[kind]
        merged = merged[:o_start] + correction[n_start:n_end] + merged[o_end:]
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
