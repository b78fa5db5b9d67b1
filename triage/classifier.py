"""Classification heads: scikit-learn pipelines with calibrated probabilities.

A head reads a feature frame (see :mod:`triage.features`), combines word and character
TF-IDF with the sentence embedding, and fits a linear classifier whose scores are turned
into probabilities by temperature scaling fitted on cross-validated predictions.
"""

from __future__ import annotations

from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from triage.features import TEXT_COLUMN, lexical_and_semantic_features


def build_head(
    *,
    C: float = 0.3,
    embedding_weight: float = 1.0,
    calibration_folds: int = 3,
    class_weight: str | None = None,
    seed: int = 0,
) -> Pipeline:
    """The shipped head: TF-IDF words + chars + embedding → calibrated linear SVM."""
    svm = LinearSVC(C=C, class_weight=class_weight, random_state=seed)
    return Pipeline(
        [
            ("features", lexical_and_semantic_features(embedding_weight=embedding_weight)),
            (
                "classifier",
                CalibratedClassifierCV(
                    svm, method="temperature", cv=calibration_folds, ensemble=False
                ),
            ),
        ]
    )


def build_baseline() -> Pipeline:
    """The plain reference: word 1–2-gram TF-IDF and logistic regression on the text alone.

    It is the baseline the datasets' published figures use, so every report can say by how
    much the shipped head beats it.
    """
    return Pipeline(
        [
            (
                "features",
                ColumnTransformer([("words", TfidfVectorizer(ngram_range=(1, 2)), TEXT_COLUMN)]),
            ),
            ("classifier", LogisticRegression(max_iter=2000)),
        ]
    )
