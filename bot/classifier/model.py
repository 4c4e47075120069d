"""A text classifier with a ranked, probabilistic answer."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence

from bot.classifier.features import build_vectorizer


@dataclass(frozen=True)
class Ranked:
    label: str
    confidence: float


class TextClassifier:
    """Character/word TF-IDF + multinomial logistic regression.

    Logistic regression gives probabilities that mean something, which the dialogue needs to
    decide between stating a category and asking the resident to choose."""

    def __init__(self, c: float = 20.0) -> None:
        self.c = c
        self.pipeline = None

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> "TextClassifier":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline

        if len(set(labels)) < 2:
            raise ValueError("need examples of at least two labels to train a classifier")
        self.pipeline = Pipeline(
            [
                ("features", build_vectorizer()),
                ("model", LogisticRegression(C=self.c, max_iter=2000, class_weight="balanced")),
            ]
        )
        self.pipeline.fit(list(texts), list(labels))
        return self

    @property
    def labels(self) -> List[str]:
        return list(self.pipeline.classes_)

    def rank(self, text: str) -> List[Ranked]:
        return self.rank_many([text])[0]

    def rank_many(self, texts: Sequence[str]) -> List[List[Ranked]]:
        probabilities = self.pipeline.predict_proba(list(texts))
        classes = self.pipeline.classes_
        ranked = []
        for row in probabilities:
            order = row.argsort()[::-1]
            ranked.append([Ranked(str(classes[i]), float(row[i])) for i in order])
        return ranked

    def predict(self, texts: Sequence[str]) -> List[str]:
        return [r[0].label for r in self.rank_many(texts)]


def evaluate(train_texts, train_labels, test_texts, test_labels) -> Dict:
    """Train on one set, score on another: accuracy, macro-F1 and per-label figures."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    model = TextClassifier().fit(train_texts, train_labels)
    predicted = model.predict(test_texts)
    labels = sorted(set(test_labels) | set(train_labels))
    precision, recall, f1, support = precision_recall_fscore_support(
        test_labels, predicted, labels=labels, zero_division=0
    )
    present = [lab for lab in labels if lab in set(test_labels)]
    return {
        "accuracy": round(float(accuracy_score(test_labels, predicted)), 4),
        "macro_f1": round(float(f1_score(test_labels, predicted, labels=present, average="macro", zero_division=0)), 4),
        "n_train": len(train_texts),
        "n_test": len(test_texts),
        "per_label": {
            lab: {"precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4), "support": int(s)}
            for lab, p, r, f, s in zip(labels, precision, recall, f1, support)
            if s or lab in set(train_labels)
        },
    }
