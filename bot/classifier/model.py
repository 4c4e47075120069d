"""A text classifier with a ranked, probabilistic answer."""

from __future__ import annotations

import math
import pickle
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import sparse
from scipy.special import expit

from bot.classifier.features import build_vectorizer, has_subject


@dataclass(frozen=True)
class Ranked:
    label: str
    confidence: float


class TextClassifier:
    """Character/word TF-IDF (also of the first line, when the messages have titles) + a linear SVM
    whose scores are calibrated into probabilities.

    The SVM separates categories best on short complaints; the calibration (Platt scaling fitted on
    the SVM's scores over 3 folds) turns its scores into confidences that mean something, which the
    dialogue needs to decide between stating a category and asking the resident to choose.

    Trained on titled messages (a city's tickets, a web board), the SVM that ranks is the one
    trained on every example, the folds serving only to fit the calibration, so no third of the
    examples is left out of the model that answers. Trained on one-line chat messages (the
    assistant's own examples) it is the average of the three calibrated fold SVMs, each trained on
    two thirds of the examples: the model the dialogue's confidence thresholds were set on. So it
    is, too, when the examples are too few for the fold scores to calibrate the whole model."""

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
        self.__dict__.pop("_scorer", None)
        self.__dict__.pop("_reader", None)
        self.encoder = LabelEncoder().fit(list(labels))
        subjects = any(has_subject(text) for text in texts)
        model = (
            CalibratedClassifierCV(LinearSVC(), cv=min(self.folds, fewest), ensemble=not subjects)
            if fewest >= 2
            else LinearSVC()  # a label with one example cannot be calibrated; rank by raw scores
        )
        self.pipeline = Pipeline([("features", build_vectorizer(subjects)), ("model", model)])
        self.pipeline.fit(list(texts), self.encoder.transform(list(labels)))
        if subjects and fewest >= 2 and _calibration_falls(model):
            # Too few examples to read the fold scores: a higher SVM score would mean a lower
            # confidence. Average the calibrated fold models instead, which dilutes such a fold.
            model.set_params(ensemble=True)
            self.pipeline.fit(list(texts), self.encoder.transform(list(labels)))
        return self

    @property
    def labels(self) -> List[str]:
        return list(self.encoder.classes_)

    def rank(self, text: str) -> List[Ranked]:
        return self.rank_many([text])[0]

    def rank_many(self, texts: Sequence[str]) -> List[List[Ranked]]:
        return self.rank_features(self.features(texts))

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_scorer", None)  # both worked out again from the fitted model after loading
        state.pop("_reader", None)
        return state

    def features(self, texts: Sequence[str]) -> Any:
        """The messages as the model reads them: one sparse row of TF-IDF features each.

        What the fitted FeatureUnion's `transform` returns, without its joblib dispatch, which
        costs more than the vectorisers themselves for the one message of a chat turn."""
        union = self.pipeline.named_steps["features"]
        if "_reader" not in self.__dict__:
            self._reader = _TfidfReader.of(union)
        if self._reader is not None:
            return self._reader.transform(texts)
        if union.transformer_weights or union.n_jobs not in (None, 1):
            return union.transform(list(texts))
        parts = [vectorizer.transform(list(texts)) for _name, vectorizer in union.transformer_list]
        return sparse.hstack(parts).tocsr()

    def rank_features(self, features: Any) -> List[List[Ranked]]:
        """Every label for each row of `features` (from `features()`), surest first."""
        model = self.pipeline.named_steps["model"]
        if "_scorer" not in self.__dict__:
            self._scorer = _CalibratedLinear.of(model)
        if self._scorer is not None:
            scores = self._scorer.predict_proba(features)
        elif hasattr(model, "predict_proba"):
            scores = model.predict_proba(features)
        else:
            raw = model.decision_function(features)
            raw = raw.reshape(features.shape[0], -1) if raw.ndim == 1 else raw
            exp = np.exp(raw - raw.max(axis=1, keepdims=True))
            scores = exp / exp.sum(axis=1, keepdims=True)
        classes = self.encoder.classes_
        ranked = []
        for row in scores:
            order = row.argsort()[::-1]
            ranked.append([Ranked(str(classes[i]), float(row[i])) for i in order])
        return ranked

    def reads_as(self, other: "TextClassifier") -> bool:
        """Whether both read a message into the same features: the same vectorisers, fitted to the
        same vocabularies and weights (two labellings of the same messages, such as category and
        urgency), so one `features()` serves both."""
        ours, theirs = (c.pipeline.named_steps["features"] for c in (self, other))
        return ours is theirs or pickle.dumps(ours) == pickle.dumps(theirs)

    def predict(self, texts: Sequence[str]) -> List[str]:
        return [r[0].label for r in self.rank_many(texts)]


class _TfidfReader:
    """A fitted FeatureUnion of TfidfVectorizers, read into their vocabularies and idf weights once.

    Its `transform` is scikit-learn's (1.1) arithmetic for each vectoriser — the analyser's
    features counted over the vocabulary, 1 + log of each count (sublinear_tf), times the
    feature's idf, the row scaled to unit length — side by side in one row, without the input
    checks, sparse matrix products and copies scikit-learn makes for every call, which for the one
    message of a chat turn cost several times the arithmetic. The same features (tests compare
    them)."""

    def __init__(self, parts: List[Tuple[Any, Dict[str, int], Any, bool, int]], width: int) -> None:
        self.parts, self.width = parts, width

    @classmethod
    def of(cls, union: Any) -> Optional["_TfidfReader"]:
        """The arrays of `union`, or None where its answer is not this arithmetic (weights, other
        transformers or options): scikit-learn then answers itself."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        if union.transformer_weights or union.n_jobs not in (None, 1):
            return None
        parts, width = [], 0
        for _name, vectorizer in union.transformer_list:
            if (
                type(vectorizer) is not TfidfVectorizer
                or vectorizer.binary
                or vectorizer.norm != "l2"
                or not vectorizer.use_idf
                or np.dtype(vectorizer.dtype) != np.float64
            ):
                return None
            idf = np.asarray(vectorizer.idf_, dtype=np.float64)
            parts.append((vectorizer.build_analyzer(), vectorizer.vocabulary_, idf, vectorizer.sublinear_tf, width))
            width += len(vectorizer.vocabulary_)
        return cls(parts, width)

    def transform(self, texts: Sequence[str]) -> Any:
        data: List[Any] = []
        indices: List[Any] = []
        indptr = [0]
        for text in texts:
            filled = indptr[-1]
            for analyze, vocabulary, idf, sublinear, offset in self.parts:
                counts: Dict[int, int] = {}
                for feature in analyze(text):
                    column = vocabulary.get(feature)
                    if column is not None:
                        counts[column] = counts.get(column, 0) + 1
                if not counts:
                    continue
                columns = np.array(sorted(counts), dtype=np.int64)
                values = np.array([counts[c] for c in columns.tolist()], dtype=np.float64)
                if sublinear:
                    np.log(values, values)
                    values += 1
                values *= idf[columns]
                total = 0.0
                # summed from the last column to the first, the order the product by the idf leaves
                # them in for scikit-learn's normalize: the same length to the last bit
                for value in reversed(values.tolist()):
                    total += value * value
                values /= math.sqrt(total)
                data.append(values)
                indices.append(columns + offset)
                filled += len(columns)
            indptr.append(filled)
        if not data:
            return sparse.csr_matrix((len(texts), self.width), dtype=np.float64)
        return sparse.csr_matrix(
            (np.concatenate(data), np.concatenate(indices).astype(np.int32), np.array(indptr, dtype=np.int32)),
            shape=(len(texts), self.width),
        )


class _CalibratedLinear:
    """A fitted `CalibratedClassifierCV` of linear SVMs with Platt sigmoids, read into arrays once.

    Its `predict_proba` is scikit-learn's (1.1) arithmetic — every fold's SVM scores, each label's
    sigmoid, each fold's probabilities normalised to sum to one (uniform where all are zero), the
    folds averaged — with the scores of all folds in one matrix product, and without the input
    checks and label encoding scikit-learn repeats on every call, which for the one message of a
    chat turn cost several times the arithmetic. The same probabilities (tests compare them)."""

    def __init__(self, weights: Any, bias: Any, a: Any, b: Any, present: Any, folds: int, labels: int) -> None:
        self.weights, self.bias, self.a, self.b, self.present = weights, bias, a, b, present
        self.folds, self.labels = folds, labels

    @classmethod
    def of(cls, model: Any) -> Optional["_CalibratedLinear"]:
        """The arrays of `model`, or None where its answer is not this arithmetic (another
        calibration, two labels, another estimator): scikit-learn then answers itself."""
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.svm import LinearSVC

        if not isinstance(model, CalibratedClassifierCV) or model.method != "sigmoid":
            return None
        labels = len(model.classes_)
        folds = model.calibrated_classifiers_
        if labels < 3 or not folds:
            return None
        columns, bias, a, b, present = [], [], [], [], []
        for fold in folds:
            svm = fold.base_estimator
            if not isinstance(svm, LinearSVC) or len(svm.classes_) < 3:
                return None
            weights = np.zeros((labels, svm.coef_.shape[1]))
            offsets, slopes, shifts, known = (np.zeros(labels) for _ in range(4))
            for row, label in enumerate(np.searchsorted(model.classes_, svm.classes_)):
                calibrator = fold.calibrators[row]
                weights[label] = svm.coef_[row]
                offsets[label] = svm.intercept_[row]
                slopes[label], shifts[label], known[label] = calibrator.a_, calibrator.b_, 1.0
            columns.append(weights)
            bias.append(offsets)
            a.append(slopes)
            b.append(shifts)
            present.append(known)
        return cls(
            np.ascontiguousarray(np.vstack(columns).T),
            np.concatenate(bias),
            np.concatenate(a),
            np.concatenate(b),
            np.concatenate(present),
            len(folds),
            labels,
        )

    def predict_proba(self, features: Any) -> Any:
        scores = features @ self.weights + self.bias
        proba = (expit(-(self.a * scores + self.b)) * self.present).reshape(-1, self.folds, self.labels)
        total = proba.sum(axis=2, keepdims=True)
        proba = np.divide(proba, total, out=np.full_like(proba, 1 / self.labels), where=total != 0)
        proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0
        mean = proba[:, 0].copy()
        for fold in range(1, self.folds):
            mean += proba[:, fold]
        return mean / self.folds


def _calibration_falls(model: Any) -> bool:
    """Whether a label's Platt sigmoid falls as the SVM's score rises (1 / (1 + exp(a·score + b))
    with a ≥ 0), which the scores of folds with only a few examples per label can produce."""
    return any(
        calibrator.a_ >= 0
        for calibrated in getattr(model, "calibrated_classifiers_", [])
        for calibrator in calibrated.calibrators
    )


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
