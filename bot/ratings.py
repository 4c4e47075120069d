"""The five satisfaction levels and how a resident's free answer maps onto them
("还行" → 基本满意, "根本没修好" → 不满意). Buttons send the level's own name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from bot.textnorm import normalize

LEVELS: Dict[int, str] = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
REOPENING = frozenset({1, 2})
SATISFIED = frozenset({3, 4, 5})

# Checked in this order: the longer, negated and intensified phrases before the plain ones.
_PHRASES: Tuple[Tuple[int, str], ...] = (
    (
        1,
        r"非常不满意?|很不满意?|特别不满意?|极其?不满意?|十分不满意?|太不满意?|一点也不满意|一点都不满意|非常差|太差了?|差劲|极差|很差|差评|垃圾|糊弄|敷衍|一星|1星",
    ),
    (
        2,
        r"不太满意|不怎么满意|不大满意|不满意|不满|根本没(有)?(修|解决|处理|弄|管|人来)|没(有)?(修|解决|处理|弄)好|还没(有)?(修|解决|处理|弄)|没(有)?解决|没人来|还是(坏|老样子|不行|没)|又坏了|不行|不好|不咋地|二星|2星|两星",
    ),
    (
        5,
        r"非常满意|很满意|特别满意|十分满意|超级满意|太满意|满意极了|非常好|特别好|太好了|很棒|太棒了?|点赞|五星|5星|👍|好评",
    ),
    (3, r"基本满意|还行|还可以|还凑合|凑合|一般般?|马马虎虎|过得去|勉强|还好吧|就那样|三星|3星"),
    (4, r"满意|挺好|不错|很好|可以|修好了|解决了|弄好了|好了|挺快|谢谢|感谢|四星|4星|好的?"),
)
_COMPILED = tuple((level, re.compile(pattern)) for level, pattern in _PHRASES)
_DIGIT = re.compile(r"^\s*([1-5])\s*(分|星)?\s*$")
_FILLER = re.compile(r"[\s\W_吧啊呀呢了的吗嘛嗯哦哈还是就都也很挺]+")


@dataclass(frozen=True)
class Rating:
    level: int
    comment: Optional[str]

    @property
    def label(self) -> str:
        return LEVELS[self.level]

    @property
    def reopens(self) -> bool:
        return self.level in REOPENING


def parse(text: Optional[str]) -> Optional[Rating]:
    """The level a resident's answer gives, and the answer itself as a comment when it says more
    than the level ("不满意，根本没修好"). None when no level can be read from it."""
    raw = (text or "").strip()
    if not raw:
        return None
    simple = normalize(raw)
    digit = _DIGIT.match(simple)
    if digit:
        return Rating(int(digit.group(1)), None)
    for level, pattern in _COMPILED:
        found = pattern.search(simple)
        if found:
            rest = _FILLER.sub("", simple[: found.start()] + simple[found.end() :])
            return Rating(level, raw if len(rest) >= 2 else None)
    return None


def level_of_label(label: str) -> Optional[int]:
    for level, name in LEVELS.items():
        if name == label:
            return level
    return None
