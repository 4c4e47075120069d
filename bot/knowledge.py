"""Answering residents' questions (咨询) from the published entries of the knowledge base.

Retrieval is BM25 (the bm25s library) over each entry's question, other phrasings and answer, each
a document of its own: an entry scores as its best phrasing plus its answer, and, beside it, how
close the question's meaning is to the entry's closest phrasing (bot/meaning.py: multilingual-e5-small
vectors), so "物业费能用支付宝交不" finds "物业费怎么交？" rather than another entry about 物业费. A text is read in
Simplified (textnorm.normalize, so Traditional and full-width questions look alike) and cut into
jieba words and character bigrams, so "垃圾几点扔" still meets "垃圾投放时间" through 垃圾 and "幾點"
meets "几点".

Whether the best entry answers the question is a decision of its own (Decision): a logistic
regression over what the question and the entry have in common — the BM25 score over the most the
question's words could score, the lead over the next entry, how much of the question's words and
bigrams the entry's phrasings, answer and text hold, the most telling word it lacks, how close their
meanings are and how far ahead of the next entry's — fitted on the
sample entries' own phrasings and a development set (bot/knowledge_decision.json), never on the
evaluation set it reports (docs/benchmarks.md). Below the threshold on its confidence (settings:
MINSHENG_KNOWLEDGE_THRESHOLD) the assistant does not answer: a little less sure (down to
MINSHENG_KNOWLEDGE_SUGGEST_THRESHOLD) it asks whether the entry is what the resident means, below
that it says it cannot answer yet rather than answer wrongly (verdict).

The index is built from the store and rebuilt when `store.knowledge.signature` changes, so an
entry published in the console answers the next question without a restart or retraining."""

from __future__ import annotations

import functools
import json
import math
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import yaml

from bot import meaning, settings
from bot.textnorm import normalize

K1, B = 1.2, 0.75
# How much the closeness of meaning counts beside BM25 in ranking the entries (BM25 as a share of the
# best entry's, meaning as (cosine - 0.8) × 5): chosen on the development set (docs/benchmarks.md).
MEANING_WEIGHT = 0.8
DICTIONARY = Path(__file__).resolve().parent / "nlu" / "dictionary" / "minsheng.txt"
SAMPLE_FILE = Path(__file__).resolve().parent / "knowledge_sample.yml"
DECISION_FILE = Path(__file__).resolve().parent / "knowledge_decision.json"

# Words that carry no topic: how a question is asked, not what about.
_FILLER = frozenset(
    """请问 问 问问 一下 我 我们 我家 你 你们 您 咱 咱们 的 了 吗 呢 吧 啊 呀 么 嘛 哦 是 有 在 和 跟 与
    或 就 都 也 还 要 想 能 能不能 可以 可不可以 会 会不会 怎么 怎么样 怎样 如何 什么 啥 哪 哪里 哪儿
    哪个 多少 几 谁 为什么 为啥 这 那 这个 那个 这种 一个 个 去 来 到 给 让 被 把 对 得 地 着 过
    呗 呐 嗯 请 麻烦 帮 帮忙 告诉 知道 一般 现在 哪些 东西 要不要 需不需要 是不是 能否 是否 什么样 的话
    下来 出来 起来 怎么办 咋办 咋 咋样 怎么弄 怎么搞 每天 天天 平时 平常 通常 到底 究竟 具体 大概 大约""".split()
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
        "扔": "丢 扔掉 丢掉",
        "孩子": "小孩 小孩子 娃 儿子 女儿",
        "查": "查询 查看 查到 查一下",
        "罚款": "罚钱 罚",
        "物业": "物业公司",
        "电话": "热线 热线电话",
        "周末": "周六 周日 星期六 星期天 星期日 礼拜六 礼拜天 双休日",
        "规定": "犯法 违法 合法 违规 不合法 允许",
        "激活": "启用 开通",
        "时间": "几月份 几月 几号 哪天 哪一天 什么时候 啥时候 时候",
        "乱扔垃圾": "乱丢垃圾 乱倒垃圾",
        "网上": "线上 在线 手机上 app 小程序",
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
    for word in _jieba().lcut(normalize(text), HMM=False) + [""]:
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
    score: float  # 0 … 1: the decision's confidence that the entry answers the question
    features: Dict[str, float] = field(default_factory=dict, compare=False)


@functools.lru_cache(maxsize=1)
def _tagger() -> Any:
    import jieba.posseg

    return jieba.posseg.POSTokenizer(_jieba())


@functools.lru_cache(maxsize=8192)
def content_words(text: str) -> Tuple[str, ...]:
    """The words of the question that say what it is about (nouns, and verbs, adjectives, numbers
    and times of two characters or more; no filler): "水费在哪交" → 水费, "遛猫要牵绳吗" → 猫."""
    return tuple(
        word
        for word, tag in _tagger().lcut(normalize(text), HMM=False)
        if word not in _FILLER and (tag[:1] == "n" if len(word) == 1 else tag[:1] in ("n", "v", "a", "m", "t"))
    )


class Decision:
    """Whether the best entry answers the question: a logistic regression over what the question
    and the entry have in common (Index.features), fitted by `python -m benchmarks.knowledge --fit`
    on the sample's phrasings asked without themselves (a right or a wrong best entry), asked
    without their whole entry (any answer is wrong) and the development questions
    (benchmarks/data/knowledge_dev.yml) — never the evaluation set. Its confidence is compared with
    the threshold (settings: MINSHENG_KNOWLEDGE_THRESHOLD)."""

    FEATURES = (
        "phrasing",  # the best phrasing's BM25 over the most the question's tokens could score
        "entry",  # the same for the best phrasing plus the answer
        "margin",  # how far ahead of the next entry
        "words_in_phrasings",  # the question's words (idf-weighted) in the entry's phrasings
        "words_in_entry",  # … in its phrasings or answer
        "bigrams_in_entry",  # its character bigrams in the entry
        "rarest_word_missing",  # the idf of the most telling word the entry lacks
        "unknown_to_base",  # how much of the question the whole base has never seen
        "key_words_missing",  # content words (content_words) found nowhere in the entry's text
        "rarest_key_word_missing",
        "words_in_text",  # the question's words found in the entry's text as written
        "meaning",  # how close the question's meaning is to the entry's closest phrasing
        "meaning_margin",  # … how far ahead of the next entry's closest phrasing
        "meaning_of_answer",  # how close it is to the entry's answer
        "meaning_first",  # 1 when no other entry is closer in meaning
    )

    def __init__(self, weights: Dict[str, float], intercept: float) -> None:
        self.weights = np.array([weights[name] for name in self.FEATURES])
        self.intercept = intercept

    def confidence(self, values: Dict[str, float]) -> float:
        z = float(self.weights @ np.array([values[name] for name in self.FEATURES])) + self.intercept
        return 1 / (1 + math.exp(-z))

    @classmethod
    def load(cls, path: Path = DECISION_FILE) -> "Decision":
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(raw["weights"], raw["intercept"])

    @staticmethod
    def write(weights: Dict[str, float], intercept: float, note: str, path: Path = DECISION_FILE) -> None:
        raw = {"note": note, "weights": {k: round(v, 4) for k, v in weights.items()}, "intercept": round(intercept, 4)}
        Path(path).write_text(json.dumps(raw, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _shipped_decision() -> Decision:
    return Decision.load()


class Index:
    """BM25 over every phrasing and the answer of the given entries, and the decision whether the
    best of them answers the question."""

    def __init__(self, entries: Sequence[Entry], decision: Optional["Decision"] = None) -> None:
        import bm25s

        self.entries = list(entries)
        self.decision = decision or _shipped_decision()
        corpus: List[List[str]] = []
        owner: List[int] = []
        is_answer: List[bool] = []
        self._asked: List[frozenset] = []  # tokens of an entry's question and phrasings
        self._told: List[frozenset] = []  # tokens of its answer
        self._text: List[str] = []  # all of its text, normalised, for words jieba cuts otherwise
        for position, entry in enumerate(self.entries):
            asked: set = set()
            for text in entry.texts:
                found = tokens(text)
                asked.update(found)
                if found:
                    corpus.append(found)
                    owner.append(position)
                    is_answer.append(False)
            told = tokens(entry.answer)
            if told:
                corpus.append(told)
                owner.append(position)
                is_answer.append(True)
            self._asked.append(frozenset(asked))
            self._told.append(frozenset(told))
            self._text.append(normalize("".join((*entry.texts, entry.answer))))
        self._owner = np.array(owner, dtype=np.int64)
        self._is_answer = np.array(is_answer, dtype=bool)
        # the meaning of every phrasing (its entry in _phrasing_owner) and of every answer
        phrasings = [(position, text) for position, entry in enumerate(self.entries) for text in entry.texts]
        self._phrasing_owner = np.array([position for position, _ in phrasings], dtype=np.int64)
        self._phrasing_meaning = meaning.questions([text for _, text in phrasings])
        self._answer_meaning = meaning.answers([entry.answer for entry in self.entries])
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
        """The best entries for the question, best first, each with the decision's confidence."""
        if self._bm25 is None:
            return []
        query = tokens(text)
        known = [t for t in dict.fromkeys(query) if t in self._idf]
        if not known:
            return []
        scores = self._bm25.get_scores(known)
        asked = np.zeros(len(self.entries))
        told = np.zeros(len(self.entries))
        np.maximum.at(asked, self._owner[~self._is_answer], scores[~self._is_answer])
        np.maximum.at(told, self._owner[self._is_answer], scores[self._is_answer])
        # an entry scores as its best phrasing plus its answer, and as how close it comes in meaning
        total = asked + told
        vector = meaning.questions([text])[0]
        close = np.full(len(self.entries), -1.0)
        np.maximum.at(close, self._phrasing_owner, self._phrasing_meaning @ vector)
        best = total.max()
        ranking = (total / best if best > 0 else total) + MEANING_WEIGHT * (close - 0.8) * 5
        order = np.argsort(-ranking)[: max(limit, 2)]
        found = []
        for rank, i in enumerate(order[:limit]):
            runner_up = total[order[1 if rank == 0 else 0]] if len(order) > 1 else 0.0
            values = self.features(text, int(i), float(asked[i]), float(total[i]), float(runner_up))
            values.update(self._meaning_features(vector, close, int(i)))
            found.append(Match(self.entries[i], self.decision.confidence(values), values))
        return found

    def _meaning_features(self, vector: np.ndarray, close: np.ndarray, position: int) -> Dict[str, float]:
        """What the decision reads of how close the question and the entry are in meaning (cosines
        of unit vectors, which e5 puts between about 0.75 and 1, spread over 0 … 1)."""
        others = np.delete(close, position)
        next_closest = float(others.max()) if len(others) else 0.0
        return {
            "meaning": (float(close[position]) - 0.8) * 5,
            "meaning_margin": (float(close[position]) - next_closest) * 10,
            "meaning_of_answer": (float(self._answer_meaning[position] @ vector) - 0.8) * 5,
            "meaning_first": float(close[position] >= close.max()),
        }

    def features(self, text: str, position: int, asked: float, total: float, runner_up: float) -> Dict[str, float]:
        """What the decision reads of the question's words and one entry's (each 0 … 1; Decision's
        FEATURES but the meaning's, which ranked adds)."""
        rarest = self._idf_of(1)
        query = list(dict.fromkeys(tokens(text)))
        words = [t for t in query if not t.startswith("#")]
        grams = [t for t in query if t.startswith("#")]

        def idf(token: str) -> float:
            return self._idf.get(token, rarest)

        def share(found: Sequence[str], among: Sequence[str]) -> float:
            most = sum(idf(t) for t in among)
            return sum(idf(t) for t in found) / most if most else 0.0

        most = sum(idf(t) for t in query)
        entry = self._asked[position] | self._told[position]
        whole = self._text[position]
        missing = [t for t in words if t not in entry]
        written = content_words(text)
        key = [_SAME.get(w, w) for w in written]
        key_missing = [same for w, same in zip(written, key) if w not in whole and same not in whole]
        return {
            "phrasing": asked / most,
            "entry": total / most,
            "margin": (total - runner_up) / total if total > 0 else 0.0,
            "words_in_phrasings": share([t for t in words if t in self._asked[position]], words),
            "words_in_entry": share([t for t in words if t in entry], words),
            "bigrams_in_entry": share([t for t in grams if t in entry], grams),
            "rarest_word_missing": max((idf(t) for t in missing), default=0.0) / rarest,
            "unknown_to_base": share([t for t in query if t not in self._idf], query),
            "key_words_missing": share(key_missing, key),
            "rarest_key_word_missing": max((idf(w) for w in key_missing), default=0.0) / rarest,
            "words_in_text": share([t for t in words if t in whole], words),
        }

    def best(self, text: str, threshold: Optional[float] = None) -> Tuple[Optional[Match], Optional[Match]]:
        """(the answer, or None when nothing is good enough; the best candidate whatever its score)."""
        if threshold is None:
            threshold = settings.load().knowledge_threshold
        ranked = self.ranked(text, limit=1)
        top = ranked[0] if ranked else None
        return (top if top is not None and top.score >= threshold else None), top

    def reply(self, text: str) -> Tuple[Optional[Match], Optional[str]]:
        """The best entry and what the assistant does with it (verdict: ANSWER, SUGGEST or None)."""
        ranked = self.ranked(text, limit=1)
        top = ranked[0] if ranked else None
        return top, (verdict(top.score) if top is not None else None)


ANSWER, SUGGEST = "answer", "suggest"


def verdict(confidence: float) -> Optional[str]:
    """What the assistant does with a best entry of this confidence: gives it as the answer
    (MINSHENG_KNOWLEDGE_THRESHOLD and above), asks whether it is what the resident means
    (MINSHENG_KNOWLEDGE_SUGGEST_THRESHOLD and above; 您是想问…吗？), or neither (None): it cannot
    answer yet. Both thresholds are calibrated by benchmarks/knowledge.py on the development set."""
    config = settings.load()
    if confidence >= config.knowledge_threshold:
        return ANSWER
    if confidence >= config.knowledge_suggest_threshold:
        return SUGGEST
    return None


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

    def reply(self, session: Any, text: str) -> Tuple[Optional[Match], Optional[str]]:
        return self.index(session).reply(text)

    def entry(self, session: Any, entry_id: int) -> Optional[Entry]:
        """The published entry of that id, as the index holds it (None once unpublished or gone)."""
        return next((e for e in self.index(session).entries if e.id == entry_id), None)


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
