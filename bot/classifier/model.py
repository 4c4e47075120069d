"""A text classifier with a ranked, probabilistic answer."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, List, Sequence

import numpy as np

from bot.classifier.features import build_vectorizer, has_subject


@dataclass(frozen=True)
class Ranked:
    label: str
    confidence: float


class TextClassifier:
    """Character/word TF-IDF (also of the first line, when the messages have titles) + a linear SVM
    whose scores are calibrated into probabilities.

    The SVM separates categories best on short complaints; the calibration (Platt scaling over
    3 folds) turns its scores into confidences that mean something, which the dialogue needs to
    decide between stating a category and asking the resident to choose."""

    def __init__(self, folds: int = 3) -> None:
        self.folds = folds
        self.pipeline: Any = None  # a fitted scikit-learn Pipeline after fit()
        self.encoder: Any = None  # a fitted LabelEncoder after fit()

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> "TextClassifier":
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import LabelEncoder
        from sklearn.svm import LinearSVC

        if len(set(labels)) < 2:
            raise ValueError("need examples of at least two labels to train a classifier")
        fewest = min(Counter(labels).values())
        self.encoder = LabelEncoder().fit(list(labels))
        model = (
            CalibratedClassifierCV(LinearSVC(), cv=min(self.folds, fewest))
            if fewest >= 2
            else LinearSVC()  # a label with one example cannot be calibrated; rank by raw scores
        )
        subjects = any(has_subject(text) for text in texts)
        self.pipeline = Pipeline([("features", build_vectorizer(subjects)), ("model", model)])
        self.pipeline.fit(list(texts), self.encoder.transform(list(labels)))
        return self

    @property
    def labels(self) -> List[str]:
        return list(self.encoder.classes_)

    def rank(self, text: str) -> List[Ranked]:
        return self.rank_many([text])[0]

    def rank_many(self, texts: Sequence[str]) -> List[List[Ranked]]:
        model = self.pipeline.named_steps["model"]
        if hasattr(model, "predict_proba"):
            scores = self.pipeline.predict_proba(list(texts))
        else:
            raw = self.pipeline.decision_function(list(texts))
            raw = raw.reshape(len(texts), -1) if raw.ndim == 1 else raw
            exp = np.exp(raw - raw.max(axis=1, keepdims=True))
            scores = exp / exp.sum(axis=1, keepdims=True)
        classes = self.encoder.classes_
        ranked = []
        for row in scores:
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
            lab: {
                "precision": round(float(p), 4),
                "recall": round(float(r), 4),
                "f1": round(float(f), 4),
                "support": int(s),
            }
            for lab, p, r, f, s in zip(labels, precision, recall, f1, support)
            if s or lab in set(train_labels)
        },
    }
