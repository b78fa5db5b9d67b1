"""Classification heads: scikit-learn pipelines with calibrated probabilities.

A head reads a feature frame (see :mod:`triage.core.features`), combines word and character
TF-IDF with the sentence embedding, and fits a linear SVM whose scores become probabilities
by temperature scaling fitted on out-of-fold scores. The out-of-fold probabilities are kept
(``oof_proba_``): training uses them to set per-class operating points without touching the
test split and without fitting the head again.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from triage.core.features import TEXT_COLUMN, lexical_and_semantic_features

_ABSENT_SCORE = -10.0  # score of a class missing from a training fold: never the answer


class CalibratedLinearSVC(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A linear SVM with temperature-scaled probabilities.

    ``fit`` scores every training row with a model that did not see it (``folds``-fold
    cross-validation), fits one temperature on those scores by maximum likelihood, then
    fits the final SVM on all rows. Temperature scaling keeps the SVM's ranking (and so its
    accuracy) and only makes the confidence honest.
    """

    def __init__(
        self,
        C: float = 0.3,
        class_weight: str | dict[str, float] | None = None,
        folds: int = 3,
        random_state: int = 0,
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.folds = folds
        self.random_state = random_state

    def _svm(self) -> LinearSVC:
        return LinearSVC(C=self.C, class_weight=self.class_weight, random_state=self.random_state)

    def _scores(self, svm: LinearSVC, X: Any) -> np.ndarray:
        raw = svm.decision_function(X)
        if raw.ndim == 1:  # binary: one margin for the positive class
            raw = np.column_stack([-raw / 2, raw / 2])
        if len(svm.classes_) == len(self.classes_):
            return np.asarray(raw)
        scores = np.full((raw.shape[0], len(self.classes_)), _ABSENT_SCORE)
        scores[:, np.searchsorted(self.classes_, svm.classes_)] = raw
        return scores

    def fit(self, X: Any, y: Any) -> Self:
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError("a head needs at least two classes")
        oof = np.zeros((len(y), len(self.classes_)))
        # As many folds as the largest class can fill (a cold-start set of two tickets per
        # class gets two): stratification needs at least one ticket of it per fold.
        folds = max(2, min(self.folds, int(np.unique(y, return_counts=True)[1].max())))
        splitter = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
        with warnings.catch_warnings():
            # Classes rarer than the number of folds are expected; they score low where absent.
            warnings.filterwarnings("ignore", message="The least populated class")
            splits = list(splitter.split(np.zeros(len(y)), y))
        for train, held_out in splits:
            seen = np.unique(y[train])
            if len(seen) < 2:
                # A fold that saw one class (a class of one or two tickets in a tiny set) can
                # only answer that class.
                oof[held_out] = _ABSENT_SCORE
                oof[held_out, np.searchsorted(self.classes_, seen[0])] = 0.0
                continue
            svm = self._svm().fit(X[train], y[train])
            oof[held_out] = self._scores(svm, X[held_out])
        truth = np.searchsorted(self.classes_, y)
        self.temperature_ = _fit_temperature(oof, truth)
        self.oof_proba_ = softmax(oof / self.temperature_, axis=1).astype(np.float32)
        self.estimator_ = self._svm().fit(X, y)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return self._scores(self.estimator_, X)

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(softmax(self.decision_function(X) / self.temperature_, axis=1))

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.classes_[self.decision_function(X).argmax(axis=1)])


def _fit_temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    """The temperature T minimising the log loss of softmax(scores / T)."""

    def nll(log_t: float) -> float:
        log_p = log_softmax(scores / np.exp(log_t), axis=1)
        return float(-log_p[np.arange(len(truth)), truth].mean())

    result = minimize_scalar(nll, bounds=(-6.0, 4.0), method="bounded")
    return float(np.exp(result.x))


def build_head(
    *,
    C: float = 0.3,
    embedding_weight: float = 1.0,
    calibration_folds: int = 3,
    class_weight: str | None = None,
    seed: int = 0,
) -> Pipeline:
    """The shipped head: TF-IDF words + chars + embedding → temperature-calibrated linear SVM."""
    return Pipeline(
        [
            ("features", lexical_and_semantic_features(embedding_weight=embedding_weight)),
            (
                "classifier",
                CalibratedLinearSVC(
                    C=C, class_weight=class_weight, folds=calibration_folds, random_state=seed
                ),
            ),
        ]
    )


# Settings compared by ``fit_head``: regularisation, and class weighting for skewed sets.
TUNING_GRID: tuple[dict[str, Any], ...] = tuple(
    {"C": C, "class_weight": weight} for weight in (None, "balanced") for C in (0.3, 1.0)
)


@dataclass(frozen=True)
class TuningResult:
    """The chosen classifier settings and every candidate's out-of-fold macro-F1."""

    params: dict[str, Any]
    candidates: list[dict[str, Any]]


def fit_head(
    X: Any,
    y: Any,
    *,
    grid: Sequence[Mapping[str, Any]] = TUNING_GRID,
    embedding_weight: float = 1.0,
    calibration_folds: int = 3,
    seed: int = 0,
) -> tuple[Pipeline, TuningResult]:
    """Fit the features once, then keep the classifier setting with the best out-of-fold
    macro-F1 (with a one-setting grid: just fit it, and report its out-of-fold score).

    Selection uses only the training rows (each scored by a model that did not see it), so
    the held-out test split stays untouched.
    """
    y = np.asarray(y)
    features = lexical_and_semantic_features(embedding_weight=embedding_weight)
    matrix = features.fit_transform(X)
    best: tuple[float, CalibratedLinearSVC, dict[str, Any]] | None = None
    candidates = []
    for params in grid:
        classifier = CalibratedLinearSVC(**params, folds=calibration_folds, random_state=seed).fit(
            matrix, y
        )
        predicted = classifier.classes_[classifier.oof_proba_.argmax(axis=1)]
        score = float(f1_score(y, predicted, average="macro"))
        candidates.append({**params, "oof_macro_f1": round(score, 4)})
        if best is None or score > best[0]:
            best = (score, classifier, dict(params))
    assert best is not None, "the tuning grid is empty"
    head = Pipeline([("features", features), ("classifier", best[1])])
    return head, TuningResult(params=best[2], candidates=candidates)


def build_baseline() -> Pipeline:
    """The plain reference: word 1–2-gram TF-IDF and logistic regression on the text alone.

    C=10 reproduces the published baselines of the evaluation sets (Kaggle IT tickets
    macro-F1 0.870, Banking77 accuracy 0.895), so every report says by how much the shipped
    head beats the same recipe.
    """
    return Pipeline(
        [
            (
                "features",
                ColumnTransformer([("words", TfidfVectorizer(ngram_range=(1, 2)), TEXT_COLUMN)]),
            ),
            ("classifier", LogisticRegression(C=10.0, max_iter=3000)),
        ]
    )
