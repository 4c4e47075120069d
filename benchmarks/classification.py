"""Classification benchmark: the shipped model against a plain baseline, on a held-out set.

    make benchmark                     # everything below except the public dataset
    .venv/bin/python -m benchmarks.classification --public PATH.csv   # adds 5-fold CV on it

Prints, in one run: category accuracy / macro-F1 / confusion matrix of the shipped model on
tests/fixtures/classification_eval.csv; urgency precision and recall per class; the same category
figures for a TF-IDF char 1-3-gram + linear SVM baseline trained on the same examples in this run;
Simplified versus Traditional macro-F1 on the same messages; parse latency; optionally the time of a
full `rasa train` and 5-fold cross-validation on a public `text,label` dataset.
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


def cross_validate(texts: List[str], labels: List[str], folds: int = 5) -> Dict[str, float]:
    """Macro-F1 of `classifier evaluate`'s classifier and of the baseline over the same folds."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    from bot.classifier.model import TextClassifier

    ours, theirs = [], []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=7)
    for train, test in splitter.split(texts, labels):
        x_train, y_train = [texts[i] for i in train], [labels[i] for i in train]
        x_test, y_test = [texts[i] for i in test], [labels[i] for i in test]
        ours.append(f1_score(y_test, TextClassifier().fit(x_train, y_train).predict(x_test), average="macro"))
        theirs.append(f1_score(y_test, baseline_model().fit(x_train, y_train).predict(x_test), average="macro"))
    return {"ours": statistics.mean(ours), "baseline": statistics.mean(theirs), "folds": folds}


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
    parser.add_argument("--public", help="a public text,label CSV for 5-fold cross-validation")
    parser.add_argument("--train-time", action="store_true", help="also time a full `rasa train --force`")
    args = parser.parse_args(argv)
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

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
    if args.public:
        public_texts, public_labels = read_public(args.public)
        cv = cross_validate(public_texts, public_labels)
        print(
            f"\npublic dataset {args.public}: {len(public_texts)} messages, {len(set(public_labels))} labels, "
            f"{cv['folds']}-fold macro-F1: classifier evaluate {cv['ours']:.3f}, baseline {cv['baseline']:.3f}"
        )
    else:
        print("\npublic dataset: not given (--public PATH.csv); see docs/benchmarks.md for where to get one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
