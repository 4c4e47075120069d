"""Chinese text normalisation shared by the NLU pipeline, the actions and the classifier.

Residents write Simplified or Traditional characters, full-width digits and letters, emoji.
Everything the models see is folded to half-width, lower-case Simplified text of the *same
length*, so character offsets found on the normalised text point into the original one.
"""

from __future__ import annotations

import functools
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable, Optional

import opencc

SIMPLIFIED = "simplified"
TRADITIONAL = "traditional"


@functools.lru_cache(maxsize=None)
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


_HALF_WIDTH = {0x3000: ord(" "), **{code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}}


def fold_width(text: str) -> str:
    """Full-width ASCII (ＡＢＣ１２３) and the ideographic space become their half-width forms."""
    return text.translate(_HALF_WIDTH)


def to_simplified(text: str) -> str:
    converted = _converter("t2s").convert(text)
    if len(converted) == len(text):
        return converted
    # A phrase conversion changed the length: convert character by character instead.
    t2s = _converter("t2s")
    return "".join(c if len(c := t2s.convert(ch)) == 1 else ch for ch in text)


# OpenCC's Taiwan-standard conversion with the product's own phrases put first
# (bot/opencc/minsheng_phrases.txt: "工单只能" is not "工單隻能"; "回复" is always "回覆").
_OWN_CONFIG = Path(__file__).resolve().parent / "opencc" / "s2tw.json"


@functools.lru_cache(maxsize=None)
def _own_traditional() -> opencc.OpenCC:
    """OpenCC looks for dictionaries beside the configuration, so the configuration is written out
    once with every dictionary named by its full path: ours beside it, OpenCC's own in the package."""
    shared = Path(opencc.__file__).resolve().parent / "clib" / "share" / "opencc"

    def locate(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "ocd2":
                node["file"] = str(shared / node["file"])
            elif node.get("type") == "text":
                node["file"] = str(_OWN_CONFIG.parent / node["file"])
            for value in node.values():
                locate(value)
        elif isinstance(node, list):
            for value in node:
                locate(value)

    config = json.loads(_OWN_CONFIG.read_text(encoding="utf-8"))
    locate(config)
    handle, path = tempfile.mkstemp(prefix="minsheng-opencc-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(config, out, ensure_ascii=False)
    try:
        return opencc.OpenCC(path)
    finally:
        os.unlink(path)


def to_traditional(text: str) -> str:
    """Converted by phrase, as a Taiwan-standard reader expects it."""
    return _own_traditional().convert(text)


def normalize(text: Optional[str]) -> str:
    """Half-width, lower-case, Simplified; same length as the input."""
    if not text:
        return ""
    return to_simplified(fold_width(text)).lower()


def detect_script(text: Optional[str]) -> Optional[str]:
    """'traditional', 'simplified' or None when the text does not tell (digits, "好", emoji)."""
    if not text:
        return None
    han = "".join(ch for ch in text if "\u4e00" <= ch <= "\u9fff")
    if not han:
        return None
    if to_simplified(han) != han:
        return TRADITIONAL
    if to_traditional(han) != han:
        return SIMPLIFIED
    return None


def script_of(user_texts_newest_first: Iterable[Optional[str]]) -> Optional[str]:
    """The script of the most recent user message that tells one (a bare "好" or "5678" does not)."""
    for text in user_texts_newest_first:
        script = detect_script(text)
        if script:
            return script
    return None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_user_text(text: Optional[str], limit: int = 2000) -> str:
    """What is stored of a resident's words: control characters dropped, whitespace trimmed,
    at most `limit` characters (long pastes are cut, not refused)."""
    if not text:
        return ""
    return _CONTROL.sub("", text).strip()[:limit]


def meaningful(text: Optional[str]) -> bool:
    """Has at least two letters, digits or Han characters (not just emoji or punctuation)."""
    return sum(ch.isalnum() for ch in normalize(text or "")) >= 2
