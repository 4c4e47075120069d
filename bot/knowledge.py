"""Answering residents' questions (咨询) from the published entries of the knowledge base.

Retrieval is BM25 (the bm25s library) over each entry's question, other phrasings and answer, each
a document of its own: an entry scores as its best document. A text is read in Simplified
(textnorm.normalize, so Traditional and full-width questions look alike) and cut into jieba words
and character bigrams, so "垃圾几点扔" still meets "垃圾投放时间" through 垃圾 and "幾點" meets "几点".

Whether the best entry is good enough: its BM25 score divided by the most the question's own
words could score (each word's idf, a word the base has never seen counting as the rarest) — how
much of the question the entry covers, weighted by how telling each word is. Below the threshold
(settings: MINSHENG_KNOWLEDGE_THRESHOLD) the assistant says it cannot answer yet rather than
answer wrongly. The default is calibrated by `python -m benchmarks.knowledge` on the sample
entries' own phrasings and a development set of questions the sample does not answer, never on
the evaluation set it reports (docs/benchmarks.md).

The index is built from the store and rebuilt when `store.knowledge.signature` changes, so an
entry published in the console answers the next question without a restart or retraining."""

from __future__ import annotations

import functools
import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import yaml

from bot import settings
from bot.textnorm import normalize

K1, B = 1.2, 0.75
DICTIONARY = Path(__file__).resolve().parent / "nlu" / "dictionary" / "minsheng.txt"
SAMPLE_FILE = Path(__file__).resolve().parent / "knowledge_sample.yml"

# Words that carry no topic: how a question is asked, not what about.
_FILLER = frozenset(
    """请问 问 问问 一下 我 我们 我家 你 你们 您 咱 咱们 的 了 吗 呢 吧 啊 呀 么 嘛 哦 是 有 在 和 跟 与
    或 就 都 也 还 要 想 能 能不能 可以 可不可以 会 会不会 怎么 怎么样 怎样 如何 什么 啥 哪 哪里 哪儿
    哪个 多少 几 谁 为什么 为啥 这 那 这个 那个 这种 一个 个 去 来 到 给 让 被 把 对 得 地 着 过
    呗 呐 嗯 请 麻烦 帮 帮忙 告诉 知道 一般 现在""".split()
)
# Words residents use for the same thing, read as one (after Traditional became Simplified).
_SAME = {
    word: canonical
    for canonical, words in {
        "交": "缴 缴纳 交纳 缴费 交费 付 支付",
        "狗": "犬 犬只 狗狗 宠物狗 小狗",
        "电动车": "电瓶车 电动自行车 电驴",
        "多久": "多长时间 几天 多少天 多长",
        "办理": "办 申办 去办",
        "材料": "证件 资料 手续 证明材料",
        "医保": "医疗保险",
        "养老金": "退休金 养老钱",
        "社保": "社会保险",
        "维修资金": "维修基金 专项维修资金",
        "物业费": "物业管理费",
        "供暖": "暖气 供热",
        "低保": "最低生活保障",
        "停电": "断电",
        "停水": "断水",
        "停气": "断气",
        "燃气": "天然气 煤气",
        "装修": "装潢",
    }.items()
    for word in words.split()
}
_WORD = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9]+")
_HAN = re.compile(r"[\u4e00-\u9fff]+")


@functools.lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba

    tokenizer = jieba.Tokenizer()
    if DICTIONARY.is_file():
        tokenizer.load_userdict(str(DICTIONARY))
    return tokenizer


def tokens(text: str) -> List[str]:
    """Jieba words (without filler; synonyms read as one word) and the character bigrams of each
    run of content words, of the normalised (Simplified, half-width, lower-case) text."""
    return list(_tokens(text))


@functools.lru_cache(maxsize=8192)
def _tokens(text: str) -> Tuple[str, ...]:
    words, grams, run = [], [], ""
    for word in _jieba().lcut(normalize(text)) + [""]:
        if _WORD.fullmatch(word) and word not in _FILLER:
            word = _SAME.get(word, word)
            words.append(word)
            run += word if _HAN.fullmatch(word) else ""
            continue
        # a run of content words ends: its character bigrams, across the words' borders too
        grams += [f"#{run[i : i + 2]}" for i in range(len(run) - 1)]
        run = ""
    return tuple(words + grams)


@dataclass(frozen=True)
class Entry:
    """What the answering side keeps of a published entry."""

    id: int
    question: str
    answer: str
    phrasings: Tuple[str, ...] = ()
    department_id: Optional[str] = None
    category_id: Optional[str] = None

    @property
    def texts(self) -> Tuple[str, ...]:
        return (self.question, *self.phrasings)


@dataclass(frozen=True)
class Match:
    entry: Entry
    score: float  # 0 … 1: how much of the question the entry's best phrasing covers


class Index:
    """BM25 over every phrasing and the answer of the given entries."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        import bm25s

        self.entries = list(entries)
        corpus: List[List[str]] = []
        owner: List[int] = []
        for position, entry in enumerate(self.entries):
            for text in (*entry.texts, entry.answer):
                found = tokens(text)
                if found:
                    corpus.append(found)
                    owner.append(position)
        self._owner = np.array(owner, dtype=np.int64)
        self._documents = len(corpus)
        self._bm25 = None
        self._idf: Dict[str, float] = {}
        if corpus:
            self._bm25 = bm25s.BM25(k1=K1, b=B, method="lucene")
            self._bm25.index(corpus, show_progress=False)
            frequency: Dict[str, int] = {}
            for document in corpus:
                for token in set(document):
                    frequency[token] = frequency.get(token, 0) + 1
            self._idf = {t: self._idf_of(df) for t, df in frequency.items()}

    def _idf_of(self, frequency: int) -> float:
        # Lucene's idf, as bm25s computes it with method="lucene".
        return math.log(1 + (self._documents - frequency + 0.5) / (frequency + 0.5))

    def __len__(self) -> int:
        return len(self.entries)

    def ranked(self, text: str, limit: int = 3) -> List[Match]:
        """The best entries for the question, best first, with their scores."""
        if self._bm25 is None:
            return []
        query = tokens(text)
        known = [t for t in dict.fromkeys(query) if t in self._idf]
        if not known:
            return []
        rarest = self._idf_of(1)
        most = sum(self._idf.get(t, rarest) for t in set(query))
        scores = self._bm25.get_scores(known)
        per_entry = np.zeros(len(self.entries))
        np.maximum.at(per_entry, self._owner, scores)
        order = np.argsort(-per_entry)[:limit]
        return [Match(self.entries[i], float(per_entry[i]) / most) for i in order if per_entry[i] > 0]

    def best(self, text: str, threshold: Optional[float] = None) -> Tuple[Optional[Match], Optional[Match]]:
        """(the answer, or None when nothing is good enough; the best candidate whatever its score)."""
        if threshold is None:
            threshold = settings.load().knowledge_threshold
        ranked = self.ranked(text, limit=1)
        top = ranked[0] if ranked else None
        return (top if top is not None and top.score >= threshold else None), top


# ---------------------------------------------------------------- the store's published entries


def entry_of(row: Any) -> Entry:
    """An Entry of a KnowledgeEntry row."""
    from bot.store.knowledge import phrasings_of

    return Entry(
        id=row.id,
        question=row.question,
        answer=row.answer,
        phrasings=tuple(phrasings_of(row)),
        department_id=row.department_id,
        category_id=row.category_id,
    )


class Answerer:
    """The index of the store's published entries, rebuilt when the base changes. One per process;
    safe to call from several threads."""

    def __init__(self, build: Callable[[Sequence[Entry]], Index] = Index) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._signature: Any = None
        self._index: Index = build([])

    def index(self, session: Any) -> Index:
        from bot.store import knowledge

        signature = knowledge.signature(session)
        if signature != self._signature:
            with self._lock:
                if signature != self._signature:
                    entries = [entry_of(row) for row in knowledge.published_entries(session)]
                    self._index = self._build(entries)
                    self._signature = signature
        return self._index

    def best(self, session: Any, text: str) -> Tuple[Optional[Match], Optional[Match]]:
        return self.index(session).best(text)


# ---------------------------------------------------------------- entries kept in a file


def read_file(path: Path) -> Tuple[List[Dict[str, Any]], bool]:
    """The entries of a knowledge file (bot/knowledge_sample.yml's layout) and whether the file says
    it is sample content. Folded lines in an answer are joined without the space YAML puts between
    two Chinese characters."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict) or not isinstance(raw.get("entries"), list):
        raise ValueError(f"{path}: expected a mapping with a list of entries")
    entries = []
    for number, item in enumerate(raw["entries"], 1):
        if not isinstance(item, dict) or not item.get("question") or not item.get("answer"):
            raise ValueError(f"{path}: entry {number} needs a question and an answer")
        entries.append({**item, "answer": _unfold(str(item["answer"]))})
    return entries, bool(raw.get("sample"))


_CJK_GAP = re.compile(r"(?<=[^\x00-\x7f]) (?=[^\x00-\x7f])")


def _unfold(text: str) -> str:
    return _CJK_GAP.sub("", text.strip())


def file_entries(path: Path = SAMPLE_FILE) -> List[Entry]:
    """A file's entries as the answering side sees them (ids by position), for benchmarks and tests."""
    items, _ = read_file(path)
    return [
        Entry(
            id=number,
            question=str(item["question"]).strip(),
            answer=item["answer"],
            phrasings=tuple(str(p).strip() for p in item.get("phrasings") or ()),
            department_id=item.get("department"),
            category_id=item.get("category"),
        )
        for number, item in enumerate(items, 1)
    ]
