"""Knowledge-base benchmark: answering residents' questions from the sample entries.

    make benchmark          # runs this too
    .venv/bin/python -m benchmarks.knowledge [--no-model] [--fit]

1. Calibration, never on the evaluation set, on the sample entries (bot/knowledge_sample.yml) and the
   development set (benchmarks/data/knowledge_dev.yml: answerable questions naming their entry, and
   questions the sample does not answer):
   - shipped (BM25 over jieba words and character bigrams, bot/knowledge.py): the answer/abstain
     decision is a logistic regression over what the question and the best entry have in common,
     fitted on each phrasing asked of an index without it (right or wrong best entry) and without
     its whole entry (any answer wrong), and on the development questions. Its threshold is chosen
     on the development questions' confidences from a five-fold cross-validation (each fold's
     decision fitted without it). `--fit` writes the decision fitted on all of it to
     bot/knowledge_decision.json; the threshold printed is MINSHENG_KNOWLEDGE_THRESHOLD's default.
   - baseline (scikit-learn TF-IDF over character 1-3-grams, cosine similarity): its score with a
     threshold;
   both thresholds are the lowest at which at most 5 % of the unanswerable development questions
   get an answer (the issue's bound on wrong answers). The shipped retrieval's suggestion threshold
   (您是想问…吗？, MINSHENG_KNOWLEDGE_SUGGEST_THRESHOLD) is the lowest at which at most 20 % of them
   get an answer or a suggestion, from the same cross-validated confidences.
2. Evaluation on benchmarks/data/knowledge_eval.yml, written apart from the entries and never used
   above: top-1 accuracy on answerable questions (the right entry, above the threshold), wrong and
   abstained answers on unanswerable ones, both for the shipped retrieval at its shipped threshold
   (MINSHENG_KNOWLEDGE_THRESHOLD's default) and at the one calibrated in this run, and for the baseline;
   then what the suggestions add: answerable questions whose right entry is offered to confirm, wrong
   entries offered, and unanswerable questions that get one.
3. Question or report, through the decision the chat makes (the trained model's NLU, loaded
   in-process as the Rasa server does; skipped with --no-model): reports taken for questions
   (intent ask_question) and questions recognised as questions, and top-1 end to end.
4. Answer latency (retrieval, p50/p95) at 1,000 entries: the sample plus generated filler entries.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import yaml

from bot import knowledge, meaning
from bot.knowledge import Decision, Entry, Index
from bot.settings import Settings
from bot.textnorm import detect_script, normalize

ROOT = Path(__file__).resolve().parents[1]
EVAL_SET = ROOT / "benchmarks" / "data" / "knowledge_eval.yml"
DEV_SET = ROOT / "benchmarks" / "data" / "knowledge_dev.yml"
ANSWERED_UNANSWERABLE = 0.05
# A suggestion (您是想问…吗？) to a question the base cannot answer costs the resident one 不是; at most
# one in five of them gets an answer or a suggestion.
ANSWERED_OR_SUGGESTED_UNANSWERABLE = 0.20
DECISION_C = 10.0  # the logistic regression's regularisation (sklearn's C), chosen on the development set

Scorer = Callable[[str], List[Tuple[int, float]]]  # (entry id, score), best first


class TfidfIndex:
    """The baseline: TF-IDF over character 1-3-grams of the normalised phrasings, cosine similarity;
    an entry scores as its best phrasing."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        import numpy as np
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.entries = list(entries)
        texts, owner = [], []
        for position, entry in enumerate(self.entries):
            for text in entry.texts:
                texts.append(normalize(text))
                owner.append(position)
        self._owner = np.array(owner)
        self._vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        self._matrix = self._vectorizer.fit_transform(texts)

    def ranked(self, text: str, limit: int = 3) -> List[Tuple[Entry, float]]:
        import numpy as np

        similarity = (self._matrix @ self._vectorizer.transform([normalize(text)]).T).toarray().ravel()
        per_entry = np.zeros(len(self.entries))
        np.maximum.at(per_entry, self._owner, similarity)
        order = np.argsort(-per_entry)[:limit]
        return [(self.entries[i], float(per_entry[i])) for i in order if per_entry[i] > 0]


def bm25_ranked(index: Index, text: str) -> List[Tuple[Entry, float]]:
    return [(m.entry, m.score) for m in index.ranked(text, limit=1)]


def tfidf_ranked(index: TfidfIndex, text: str) -> List[Tuple[Entry, float]]:
    return index.ranked(text, limit=1)


SYSTEMS = {
    "BM25 (shipped)": (Index, bm25_ranked),
    "TF-IDF char 1-3 (baseline)": (TfidfIndex, tfidf_ranked),
}


def without(entries: Sequence[Entry], entry_id: int, text: Optional[str] = None) -> List[Entry]:
    """The entries less one phrasing of one entry (text given) or less the whole entry."""
    kept = []
    for entry in entries:
        if entry.id != entry_id:
            kept.append(entry)
        elif text is not None:
            rest = [t for t in entry.texts if t != text]
            kept.append(Entry(entry.id, rest[0], entry.answer, tuple(rest[1:]), entry.department_id, entry.category_id))
    return kept


def calibration_points(
    entries: Sequence[Entry], dev: Sequence[str], build, ranked
) -> Tuple[List[Tuple[bool, float]], List[float], List[float]]:
    """(right?, score) of each phrasing asked without itself; the scores of the development
    questions; the scores of each phrasing asked without its whole entry."""
    answerable, close = [], []
    for entry in entries:
        alone = build(without(entries, entry.id))
        for text in entry.texts:
            found = ranked(build(without(entries, entry.id, text)), text)
            answerable.append((found[0][0].id == entry.id, found[0][1]) if found else (False, 0.0))
            other = ranked(alone, text)
            close.append(other[0][1] if other else 0.0)
    full = build(entries)
    unanswerable = []
    for question in dev:
        found = ranked(full, question)
        unanswerable.append(found[0][1] if found else 0.0)
    return answerable, unanswerable, close


def calibrate(unanswerable: List[float], share: float = ANSWERED_UNANSWERABLE) -> float:
    """The lowest threshold at which at most `share` of the development questions the base cannot
    answer score above it (get an answer; with ANSWERED_OR_SUGGESTED_UNANSWERABLE, an answer or a
    suggestion)."""
    scores = sorted(unanswerable, reverse=True)
    allowed = int(share * len(scores))
    return round(scores[allowed] + 0.0005, 3) if len(scores) > allowed else 0.0


Point = Tuple[Optional[Dict[str, float]], bool]  # (the features of the best entry, is it the right one?)


def decision_points(entries: Sequence[Entry], dev: Dict) -> Tuple[List[Point], List[Point], List[Point]]:
    """What the decision learns from: the sample's phrasings asked without themselves and without
    their entry; the development set's answerable and unanswerable questions asked of the sample."""
    neutral = Decision({name: 0.0 for name in Decision.FEATURES}, 0.0)
    sample: List[Point] = []
    for entry in entries:
        alone = Index(without(entries, entry.id), neutral)
        for text in entry.texts:
            found = Index(without(entries, entry.id, text), neutral).ranked(text, limit=1)
            if found:
                sample.append((found[0].features, found[0].entry.id == entry.id))
            found = alone.ranked(text, limit=1)
            if found:
                sample.append((found[0].features, False))
    full = Index(entries, neutral)
    ids = {e.question: e.id for e in entries}

    def point(text: str, entry_id: Optional[int]) -> Point:
        found = full.ranked(text, limit=1)
        return (found[0].features, found[0].entry.id == entry_id) if found else (None, False)

    answerable = [point(item["q"], ids[item["entry"]]) for item in dev["answerable"]]
    unanswerable = [point(question, None) for question in dev["unanswerable"]]
    return sample, answerable, unanswerable


def fit(points: Sequence[Point]) -> Decision:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rows = [(f, ok) for f, ok in points if f is not None]
    x = np.array([[f[name] for name in Decision.FEATURES] for f, _ in rows])
    y = np.array([ok for _, ok in rows], dtype=int)
    model = LogisticRegression(C=DECISION_C, max_iter=5000).fit(x, y)
    return Decision(dict(zip(Decision.FEATURES, map(float, model.coef_[0]))), float(model.intercept_[0]))


def cross_validated(sample: List[Point], answerable: List[Point], unanswerable: List[Point], folds: int = 5):
    """The development questions' confidences, each from a decision fitted without its fold."""
    dev = answerable + unanswerable
    confidence: List[float] = [0.0] * len(dev)
    order = list(range(len(dev)))
    random.Random(11).shuffle(order)
    for fold in range(folds):
        held = set(order[fold::folds])
        decision = fit(sample + [dev[i] for i in order if i not in held])
        for i in held:
            features = dev[i][0]
            confidence[i] = decision.confidence(features) if features is not None else 0.0
    return confidence[: len(answerable)], confidence[len(answerable) :]


def evaluate(index, ranked, threshold: float, data: Dict, suggest: Optional[float] = None) -> Dict[str, float]:
    """Answers at `threshold`; with `suggest`, also the suggestions between it and `threshold`."""
    ids = {e.question: e.id for e in index.entries}
    right = wrong_on_answerable = top1 = suggested_right = suggested_wrong = 0
    low = threshold if suggest is None else min(suggest, threshold)
    for item in data["answerable"]:
        found = ranked(index, item["q"])
        correct = bool(found) and found[0][0].id == ids[item["entry"]]
        top1 += correct
        if found and found[0][1] >= threshold:
            right += correct
            wrong_on_answerable += not correct
        elif found and found[0][1] >= low:
            suggested_right += correct
            suggested_wrong += not correct
    answered_unanswerable = suggested_unanswerable = 0
    for question in data["unanswerable"]:
        found = ranked(index, question)
        answered_unanswerable += bool(found) and found[0][1] >= threshold
        suggested_unanswerable += bool(found) and low <= found[0][1] < threshold
    n, m = len(data["answerable"]), len(data["unanswerable"])
    return {
        "suggested_right": suggested_right / n,
        "suggested_wrong": suggested_wrong / n,
        "suggested_unanswerable": suggested_unanswerable / m,
        "answered_or_suggested_right": (right + suggested_right) / n,
        "top1": right / n,
        "top1_ignoring_threshold": top1 / n,
        "wrong_on_answerable": wrong_on_answerable / n,
        "wrong_on_unanswerable": answered_unanswerable / m,
        "abstained_on_unanswerable": 1 - answered_unanswerable / m,
    }


def by_script(index, ranked, threshold: float, data: Dict) -> Dict[str, float]:
    found = {}
    for script in ("simplified", "traditional"):
        part = {
            "answerable": [a for a in data["answerable"] if detect_script(a["q"]) == script],
            "unanswerable": [q for q in data["unanswerable"] if detect_script(q) == script],
        }
        found[script] = (evaluate(index, ranked, threshold, part)["top1"], len(part["answerable"]))
    return found


# ---------------------------------------------------------------- question or report


def intents(texts: Sequence[str]) -> List[str]:
    from benchmarks.classification import Parser

    parser = Parser()
    return [(parser.parse(t).get("intent") or {}).get("name") for t in texts]


# ---------------------------------------------------------------- latency at 1,000 entries

_PLACES = [
    "小区",
    "社区",
    "街道",
    "单元楼",
    "老年活动中心",
    "菜市场",
    "停车场",
    "公园",
    "学校",
    "医院",
    "图书馆",
    "体育馆",
]
_THINGS = [
    "会员卡",
    "门禁卡",
    "充电桩",
    "健身器材",
    "快递柜",
    "自行车棚",
    "监控录像",
    "公告栏",
    "活动室",
    "储物间",
    "饮水机",
    "志愿者",
    "报名表",
    "补贴",
    "证明",
    "登记表",
    "预约",
    "押金",
    "发票",
    "钥匙",
]
_VERBS = ["怎么办理", "在哪里申请", "需要什么材料", "多久能办好", "收费吗", "找谁负责", "几点开放", "可以代办吗"]


def filler(count: int, seed: int = 7) -> List[Entry]:
    """Generated entries of plausible shape (question, four phrasings, an answer) to fill the base."""
    rng = random.Random(seed)
    made = []
    for number in range(count):
        place, thing = rng.choice(_PLACES), rng.choice(_THINGS)
        verbs = rng.sample(_VERBS, 5)
        texts = [f"{place}的{thing}{v}" for v in verbs]
        made.append(
            Entry(100000 + number, texts[0] + "？", f"{place}{thing}的办理说明（第{number}条）。", tuple(texts[1:]))
        )
    return made


def latency(entries: Sequence[Entry], questions: Sequence[str], repeat: int = 3) -> Tuple[float, float, float]:
    """(seconds to build, p50 ms, p95 ms) of answering each question at the given size."""
    start = time.perf_counter()
    index = Index(entries)
    built = time.perf_counter() - start
    knowledge._tokens.cache_clear()  # a resident's question is new to the process
    meaning.forget()
    times = []
    for _ in range(repeat):
        for question in questions:
            start = time.perf_counter()
            index.best(question, threshold=0.5)
            times.append((time.perf_counter() - start) * 1000)
        knowledge._tokens.cache_clear()
        meaning.forget()
    times.sort()
    return built, statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-model", action="store_true", help="skip the question-or-report figures (no NLU model)")
    parser.add_argument("--fit", action="store_true", help="write the decision fitted here to its file")
    args = parser.parse_args(argv)
    entries = knowledge.file_entries()
    data = yaml.safe_load(EVAL_SET.read_text(encoding="utf-8"))
    dev = yaml.safe_load(DEV_SET.read_text(encoding="utf-8"))
    shipped = Settings.knowledge_threshold
    print(f"Knowledge base: {len(entries)} sample entries, {sum(len(e.texts) for e in entries)} phrasings")
    print(
        f"Evaluation set: {len(data['answerable'])} answerable, {len(data['unanswerable'])} unanswerable, "
        f"{len(data['reports'])} reports; development set: {len(dev['answerable'])} answerable, "
        f"{len(dev['unanswerable'])} unanswerable; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )

    sample, dev_answerable, dev_unanswerable = decision_points(entries, dev)
    if args.fit:
        decision = fit(sample + dev_answerable + dev_unanswerable)
        Decision.write(
            {name: float(w) for name, w in zip(Decision.FEATURES, decision.weights)},
            decision.intercept,
            "Fitted by `python -m benchmarks.knowledge --fit` on the sample's phrasings and knowledge_dev.yml.",
        )
        knowledge._shipped_decision.cache_clear()
        print(f"wrote {knowledge.DECISION_FILE.relative_to(ROOT)}")
    confident, unsure = cross_validated(sample, dev_answerable, dev_unanswerable)
    calibrated = calibrate(unsure)
    suggest_calibrated = calibrate(unsure, ANSWERED_OR_SUGGESTED_UNANSWERABLE)
    right = [ok for _, ok in dev_answerable]
    dev_figures = (
        sum(right) / len(right),
        sum(ok and c >= calibrated for ok, c in zip(right, confident)) / len(right),
        sum((not ok) and c >= calibrated for ok, c in zip(right, confident)) / len(right),
        sum(c >= calibrated for c in unsure) / len(unsure),
    )

    print("\n== calibrated on the sample's phrasings and knowledge_dev.yml; evaluated on knowledge_eval.yml")
    header = (
        f"{'system':30} {'threshold':>9} {'top-1':>6} {'top-1*':>7} {'wrong(A)':>9} {'wrong(U)':>9} {'abstain(U)':>10}"
    )
    print(header)
    results = {}
    calibration: Dict[str, Tuple[float, ...]] = {}
    for name, (build, ranked) in SYSTEMS.items():
        if build is Index:
            threshold = calibrated
        else:
            answerable, unanswerable, close = calibration_points(entries, dev["unanswerable"], build, ranked)
            threshold = calibrate(unanswerable)
            calibration[name] = (
                threshold,
                sum(ok for ok, _ in answerable) / len(answerable),
                sum(ok and v >= threshold for ok, v in answerable) / len(answerable),
                sum((not ok) and v >= threshold for ok, v in answerable) / len(answerable),
                sum(v >= threshold for v in unanswerable) / len(unanswerable),
                sum(v >= threshold for v in close) / len(close),
            )
        index = build(entries)
        runs = [(name, threshold)]
        if build is Index:
            runs.append((f"{name} shipped", shipped))
        for label, value in runs:
            figures = evaluate(index, ranked, value, data)
            results[label] = (index, ranked, value, figures)
            print(
                f"{label:30} {value:9.3f} {figures['top1']:6.3f} {figures['top1_ignoring_threshold']:7.3f} "
                f"{figures['wrong_on_answerable']:9.3f} {figures['wrong_on_unanswerable']:9.3f} "
                f"{figures['abstained_on_unanswerable']:10.3f}"
            )
    print("top-1: right entry and above the threshold; top-1*: right entry ranked first, threshold ignored;")
    print("wrong(A): answered with another entry; (U): on unanswerable questions")
    first, answered, wrong, dev_answered = dev_figures
    print(
        f"  calibration, BM25 (shipped): threshold {calibrated:.3f} on the decision's confidence; development set, "
        f"five-fold cross-validated: top-1* {first:.3f}, top-1 {answered:.3f}, wrong(A) {wrong:.3f}, "
        f"wrong(U) {dev_answered:.3f}"
    )
    for name, (value, first, right_share, wrong_share, dev_share, close) in calibration.items():
        print(
            f"  calibration, {name}: threshold {value:.3f}; phrasings left out: top-1* {first:.3f}, answered right "
            f"{right_share:.3f}, wrong {wrong_share:.3f}; development unanswerable answered {dev_share:.3f}; "
            f"whole entry left out: answered (wrongly) {close:.3f}"
        )
    index, ranked, value, _ = results["BM25 (shipped) shipped"]
    for script, (top1, n) in by_script(index, ranked, value, data).items():
        print(f"  shipped, {script}: top-1 {top1:.3f} on {n} questions")

    print("\n== not sure enough to answer: 您是想问…吗？ (the best entry offered to confirm)")
    print(
        f"{'thresholds (answer / suggest)':38} {'answered right':>14} {'suggested right':>15} {'either':>7} "
        f"{'sugg. wrong(A)':>14} {'sugg.(U)':>9} {'ans.+sugg.(U)':>13}"
    )
    for label, answer_at, suggest_at in (
        ("shipped", shipped, Settings.knowledge_suggest_threshold),
        ("calibrated in this run", calibrated, suggest_calibrated),
    ):
        figures = evaluate(index, ranked, answer_at, data, suggest_at)
        print(
            f"{label + f' {answer_at:.3f} / {suggest_at:.3f}':38} {figures['top1']:14.3f} "
            f"{figures['suggested_right']:15.3f} {figures['answered_or_suggested_right']:7.3f} "
            f"{figures['suggested_wrong']:14.3f} {figures['suggested_unanswerable']:9.3f} "
            f"{figures['suggested_unanswerable'] + figures['wrong_on_unanswerable']:13.3f}"
        )
    dev_either = sum(ok and c >= suggest_calibrated for ok, c in zip(right, confident)) / len(right)
    dev_suggested = sum(suggest_calibrated <= c < calibrated for c in unsure) / len(unsure)
    print(
        f"  calibration: suggest threshold {suggest_calibrated:.3f}, the lowest at which at most "
        f"{ANSWERED_OR_SUGGESTED_UNANSWERABLE:.0%} of the development set's unanswerable questions get an answer or a "
        f"suggestion; development set, five-fold cross-validated: answered or suggested right {dev_either:.3f}, "
        f"unanswerable suggested {dev_suggested:.3f}"
    )

    if not args.no_model:
        print("\n== question or report, through the chat's NLU (trained model)")
        reports = data["reports"]
        questions = [a["q"] for a in data["answerable"]] + list(data["unanswerable"])
        read = intents(reports + questions)
        taken = sum(i == "ask_question" for i in read[: len(reports)])
        recognised = read[len(reports) :]
        print(f"reports taken for questions: {taken}/{len(reports)} = {taken / len(reports):.3f}")
        asked = sum(i == "ask_question" for i in recognised)
        print(f"questions recognised as questions: {asked}/{len(questions)} = {asked / len(questions):.3f}")
        others: Dict[str, int] = {}
        for found in recognised:
            if found != "ask_question":
                others[found] = others.get(found, 0) + 1
        print(f"  read instead as: {others}")
        ids = {e.question: e.id for e in index.entries}
        end_to_end = either_end_to_end = 0
        for item, found in zip(data["answerable"], recognised):
            best = ranked(index, item["q"])
            right = found == "ask_question" and bool(best) and best[0][0].id == ids[item["entry"]]
            end_to_end += right and best[0][1] >= value
            either_end_to_end += right and best[0][1] >= min(value, Settings.knowledge_suggest_threshold)
        n = len(data["answerable"])
        print(f"answerable answered right end to end (recognised, then top-1): {end_to_end / n:.3f}")
        print(f"  … answered right or the right entry offered to confirm: {either_end_to_end / n:.3f}")

    print("\n== answer latency (retrieval), sample + generated entries")
    questions = [a["q"] for a in data["answerable"]] + list(data["unanswerable"])
    for size in (len(entries), 1000):
        built, p50, p95 = latency(entries + filler(size - len(entries)), questions)
        print(f"{size:5} entries: index built in {built:.2f} s; answer p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
