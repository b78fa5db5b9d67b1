"""Why a head chose a label: the contribution of each feature block and of the words.

A head's score for a class is linear in its features (word TF-IDF, character TF-IDF and the
sentence embedding, each weighted), so the score splits exactly into per-feature
contributions ``value × weight × coefficient``. The explanation lists the words that pushed
the chosen label most and the total of each block.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from triage.core.neighbours import Neighbour

if TYPE_CHECKING:  # scikit-learn, SciPy and pandas load only when an explanation is asked for
    import pandas as pd
    from sklearn.pipeline import Pipeline


@dataclass(frozen=True)
class TermWeight:
    term: str
    weight: float


@dataclass(frozen=True)
class Explanation:
    """Top words for the label and the share of the score from each feature block."""

    terms: list[TermWeight]
    blocks: dict[str, float]
    neighbours: list[Neighbour] = field(default_factory=list)


_VOCABULARIES: weakref.WeakKeyDictionary[Any, np.ndarray] = weakref.WeakKeyDictionary()


def _vocabulary(vectorizer: Any) -> np.ndarray:
    # Building the feature-name array costs tens of ms on a large vocabulary: once per head.
    names = _VOCABULARIES.get(vectorizer)
    if names is None:
        names = _VOCABULARIES[vectorizer] = vectorizer.get_feature_names_out()
    return names


def explain_label(head: Pipeline, frame: pd.DataFrame, label: str, *, top: int = 8) -> Explanation:
    """Explain ``label`` for the single ticket in ``frame`` (one row)."""
    from scipy import sparse

    from triage.core.classifier import CalibratedLinearSVC

    features = head.named_steps["features"]
    classifier: CalibratedLinearSVC = head.named_steps["classifier"]
    svm = classifier.estimator_
    coef = svm.coef_
    index = int(np.searchsorted(classifier.classes_, label))
    if coef.shape[0] == 1:  # binary: the one row is the positive class, its negation the other
        row_coef = coef[0] if index == 1 else -coef[0]
        bias = float(svm.intercept_[0]) * (1 if index == 1 else -1) / 2
        row_coef = row_coef / 2
    else:
        row_coef = coef[index]
        bias = float(svm.intercept_[index])
    x = sparse.csr_matrix(features.transform(frame))
    contributions = x.multiply(row_coef).tocsr()
    blocks = {"bias": round(bias, 4)}
    terms: list[TermWeight] = []
    for name, block_slice in features.output_indices_.items():
        if block_slice.stop == block_slice.start:
            continue
        part = contributions[:, block_slice]
        blocks[name] = round(float(part.sum()), 4)
        if name == "words":
            vocabulary = _vocabulary(features.named_transformers_["words"])
            values = part.toarray().ravel()
            for j in np.argsort(-values)[:top]:
                if values[j] <= 0:
                    break
                terms.append(TermWeight(str(vocabulary[j]), round(float(values[j]), 4)))
    return Explanation(terms=terms, blocks=blocks)
