"""Classification benchmark: the shipped model against a plain baseline, on a held-out set.

    make benchmark                     # everything below; the public dataset when it is present
    .venv/bin/python -m benchmarks.classification --public PATH.csv   # 5-fold CV on another file

Prints, in one run: category accuracy / macro-F1 / confusion matrix of the shipped model on
tests/fixtures/classification_eval.csv; urgency precision and recall per class; the same category
figures for a TF-IDF char 1-3-gram + linear SVM baseline trained on the same examples in this run;
Simplified versus Traditional macro-F1 on the same messages; parse latency; optionally the time of a
full `rasa train`; and stratified 5-fold cross-validation on a public `text,label` dataset
(../shared/datasets/tipdm2020_messages_dev.csv when it is there, or --public PATH.csv): the
classifier `minsheng classifier evaluate` trains against the baseline on the same folds, on the
file as it is, converted to Traditional, and on its titles (first lines) only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence

ROOT = Path(__file__).resolve().parents[1]
EVAL_SET = ROOT / "tests" / "fixtures" / "classification_eval.csv"
MODEL = ROOT / "bot" / "models" / "minsheng.tar.gz"
URGENCIES = ["emergency", "hazard", "normal"]
PUBLIC_DEV = ROOT.parent / "shared" / "datasets" / "tipdm2020_messages_dev.csv"


def category_figures(truth: Sequence[str], predicted: Sequence[str]) -> Dict:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    labels = sorted(set(truth))
    return {
        "accuracy": accuracy_score(truth, predicted),
        "macro_f1": f1_score(truth, predicted, labels=labels, average="macro", zero_division=0),
        "labels": labels,
        "confusion": confusion_matrix(truth, predicted, labels=labels).tolist(),
    }


def urgency_figures(truth: Sequence[str], predicted: Sequence[str]) -> Dict[str, Dict[str, float]]:
    from sklearn.metrics import precision_recall_fscore_support

    precision, recall, _f1, support = precision_recall_fscore_support(
        truth, predicted, labels=URGENCIES, zero_division=0
    )
    return {
        u: {"precision": p, "recall": r, "support": int(s)} for u, p, r, s in zip(URGENCIES, precision, recall, support)
    }


def baseline_model():
    """The comparison the issue fixes: TF-IDF over character 1-3-grams and a linear SVM."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    return make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True), LinearSVC())


def cross_validate(texts: List[str], labels: List[str], folds: int = 5, seed: int = 7) -> Dict:
    """Macro-F1 and per-label F1 of `classifier evaluate`'s classifier and of the baseline, trained
    and scored on the same stratified folds."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    from bot.classifier.model import TextClassifier

    names = sorted(set(labels))
    scores: Dict[str, Dict[str, list]] = {who: {"macro": [], "per_label": []} for who in ("ours", "baseline")}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(texts, labels):
        x_train, y_train = [texts[i] for i in train], [labels[i] for i in train]
        x_test, y_test = [texts[i] for i in test], [labels[i] for i in test]
        for who, model in (("ours", TextClassifier()), ("baseline", baseline_model())):
            predicted = model.fit(x_train, y_train).predict(x_test)
            scores[who]["macro"].append(f1_score(y_test, predicted, labels=names, average="macro"))
            scores[who]["per_label"].append(f1_score(y_test, predicted, labels=names, average=None))
    result: Dict = {"folds": folds, "labels": names}
    for who, figures in scores.items():
        result[who] = {
            "mean": statistics.mean(figures["macro"]),
            "std": statistics.stdev(figures["macro"]),
            "per_label": {n: statistics.mean(float(f[i]) for f in figures["per_label"]) for i, n in enumerate(names)},
        }
    return result


def print_cross_validation(title: str, texts: List[str], labels: List[str]) -> None:
    cv = cross_validate(texts, labels)
    ours, theirs = cv["ours"], cv["baseline"]
    print(
        f"{title}: {cv['folds']}-fold macro-F1 (mean ± std): classifier evaluate {ours['mean']:.3f} ± {ours['std']:.3f}"
        f", baseline {theirs['mean']:.3f} ± {theirs['std']:.3f}, ratio {ours['mean'] / theirs['mean']:.3f}"
    )
    for name in cv["labels"]:
        print(f"  {name:<16} F1 {ours['per_label'][name]:.3f}  baseline {theirs['per_label'][name]:.3f}")


def public_benchmark(path: Path) -> None:
    from bot.textnorm import to_traditional

    texts, labels = read_public(str(path))
    print(f"\npublic dataset {path}: {len(texts)} messages, {len(set(labels))} labels")
    print("baseline: TF-IDF char 1-3 + LinearSVC; both trained and scored on the same stratified folds")
    print_cross_validation("as published (Simplified)", texts, labels)
    print_cross_validation("converted to Traditional (OpenCC)", [to_traditional(t) for t in texts], labels)
    print_cross_validation("titles (first lines) only", [t.strip().splitlines()[0] for t in texts], labels)


class Parser:
    """The shipped model, parsing as the Rasa server does."""

    def __init__(self) -> None:
        import logging

        from rasa.core.agent import Agent
        from rasa.utils.log_utils import configure_structlog

        configure_structlog(logging.WARNING)  # no per-message debug lines among the figures
        self.agent = Agent.load(str(MODEL))
        self.loop = asyncio.new_event_loop()
        self.parse("预热")  # the first call builds lazy parts

    def parse(self, text: str) -> Dict:
        return self.loop.run_until_complete(self.agent.parse_message(text))

    def parse_all(self, texts: Sequence[str]) -> tuple[list, list]:
        """Results, and the seconds each parse took."""
        results, seconds = [], []
        for text in texts:
            start = time.perf_counter()
            results.append(self.parse(text))
            seconds.append(time.perf_counter() - start)
        return results, seconds


def time_training() -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run(
            [
                str(Path(sys.executable).with_name("rasa")),
                "train",
                "--force",
                "--data",
                "bot/data",
                "--config",
                "config.yml",
                "--domain",
                "domain.yml",
                "--out",
                out,
            ],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return time.perf_counter() - start


def print_confusion(figures: Dict) -> None:
    labels = figures["labels"]
    short = [label[:6] for label in labels]
    print("confusion (rows: truth, columns: predicted)")
    print(" " * 22 + " ".join(f"{s:>6}" for s in short))
    for label, row in zip(labels, figures["confusion"]):
        print(f"{label:>21} " + " ".join(f"{n:>6}" for n in row))


def read_public(path: str):
    from bot.cli import read_labelled_csv

    return read_labelled_csv(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--public", help=f"a public text,label CSV for 5-fold cross-validation (default: {PUBLIC_DEV}, if present)"
    )
    parser.add_argument("--public-only", action="store_true", help="only the public dataset's cross-validation")
    parser.add_argument("--train-time", action="store_true", help="also time a full `rasa train --force`")
    args = parser.parse_args(argv)
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    public = Path(args.public) if args.public else PUBLIC_DEV
    if args.public_only:
        public_benchmark(public)
        return 0

    from bot.classifier.training_data import read_eval_csv, report_examples
    from bot.textnorm import to_simplified, to_traditional

    evaluation = read_eval_csv(EVAL_SET)
    training = report_examples()
    texts = [e.text for e in evaluation]
    print(
        f"evaluation set: {len(evaluation)} messages ({EVAL_SET.relative_to(ROOT)}); training examples: {len(training)}"
    )

    parser = Parser()
    results, seconds = parser.parse_all(texts)
    shipped = category_figures([e.category for e in evaluation], [r["category"]["name"] for r in results])
    baseline = baseline_model().fit([t.text for t in training], [t.category for t in training])
    plain = category_figures([e.category for e in evaluation], list(baseline.predict(texts)))
    print(f"\ncategory, shipped model : accuracy {shipped['accuracy']:.3f}  macro-F1 {shipped['macro_f1']:.3f}")
    print(
        f"category, baseline      : accuracy {plain['accuracy']:.3f}  macro-F1 {plain['macro_f1']:.3f}"
        f"  (TF-IDF char 1-3 + LinearSVC, same training data)"
    )
    print(f"shipped / baseline macro-F1: {shipped['macro_f1'] / plain['macro_f1']:.3f}")
    print_confusion(shipped)

    from bot.actions.understanding import confident_enough

    stated = [confident_enough(r["category_ranking"]) for r in results]
    right = [r["category"]["name"] == e.category for r, e in zip(results, evaluation)]
    in_top3 = [e.category in [c["name"] for c in r["category_ranking"][:3]] for r, e in zip(results, evaluation)]
    asked = len(stated) - sum(stated)
    stated_right = sum(r for r, s in zip(right, stated) if s) / max(1, sum(stated))
    print(
        f"\nconfidence: category stated for {sum(stated)} messages, {stated_right:.3f} of them right; "
        f"resident asked to choose for {asked} ({asked / len(stated):.1%}), top-1 right for "
        f"{sum(r for r, s in zip(right, stated) if not s) / max(1, asked):.3f}, truth among the 3 offered for "
        f"{sum(t for t, s in zip(in_top3, stated) if not s) / max(1, asked):.3f}"
    )

    urgency = urgency_figures([e.urgency for e in evaluation], [r["urgency"]["name"] for r in results])
    print("\nurgency          precision  recall  support")
    for name, figures in urgency.items():
        print(f"  {name:<14} {figures['precision']:>9.3f} {figures['recall']:>7.3f} {figures['support']:>8}")

    simplified, _ = parser.parse_all([to_simplified(t) for t in texts])
    traditional, _ = parser.parse_all([to_traditional(t) for t in texts])
    truth = [e.category for e in evaluation]
    f1_s = category_figures(truth, [r["category"]["name"] for r in simplified])["macro_f1"]
    f1_t = category_figures(truth, [r["category"]["name"] for r in traditional])["macro_f1"]
    print(
        f"\nscripts: the same messages all in Simplified macro-F1 {f1_s:.3f}, all in Traditional {f1_t:.3f}, "
        f"difference {abs(f1_s - f1_t) * 100:.1f} points"
    )

    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[max(0, int(round(0.95 * len(ms))) - 1)]
    print(
        f"\nparse latency per message: median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms "
        f"({len(ms)} messages, one at a time, {os.cpu_count()} cores)"
    )

    if args.train_time:
        print(f"full `rasa train --force`: {time_training():.0f} s")
    if public.exists():
        public_benchmark(public)
    else:
        print(f"\npublic dataset: {public} is not there (--public PATH.csv); see docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
