"""Compiling fitted scikit-learn heads into their NumPy form (``triage.core.linear_heads``).

Training time only: this module reads scikit-learn's fitted objects, so nothing that serves
imports it. A head compiles when it is of the shipped layout (``triage.core.classifier``'s
``build_head``); ``largest_difference`` checks that both forms give the same probabilities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC

from triage.core.classifier import CalibratedLinearSVC
from triage.core.features import EMBEDDING_PREFIX, TEXT_COLUMN, feature_frame
from triage.core.linear_heads import EMBEDDING, LinearHead, LinearHeads, TextBlock

_ABSENT_SCORE = -10.0  # keep in step with triage.core.classifier: a class its final SVM never saw


def compile_heads(heads: Mapping[str, Any]) -> LinearHeads | None:
    """The NumPy form of fitted heads, or None when any head is not of the shipped layout
    (``triage.core.classifier.build_head``: TF-IDF blocks and the embedding passthrough in a
    ``ColumnTransformer``, then ``CalibratedLinearSVC``)."""
    text_blocks: list[TextBlock] = []
    compiled = {}
    for name, head in heads.items():
        one = _compile_head(head, text_blocks)
        if one is None:
            return None
        compiled[name] = one
    return LinearHeads(text_blocks, compiled)


def _compile_head(head: Any, text_blocks: list[TextBlock]) -> LinearHead | None:
    parts = _shipped_parts(head)
    if parts is None:
        return None
    step, classifier, svm = parts
    classes, coef, intercept = _coefficients_per_class(classifier, svm)
    blocks = _feature_blocks(step, coef, text_blocks)
    if blocks is None:
        return None
    return LinearHead(
        classes=classes,
        temperature=float(classifier.temperature_),
        intercept=intercept,
        blocks=blocks,
    )


def _shipped_parts(
    head: Any,
) -> tuple[ColumnTransformer, CalibratedLinearSVC, LinearSVC] | None:
    """The head's ``ColumnTransformer``, ``CalibratedLinearSVC`` and its ``LinearSVC``, or None
    when the head is not of the shipped layout."""

    if not isinstance(head, Pipeline) or len(head.steps) != 2:
        return None
    step, classifier = head.steps[0][1], head.steps[1][1]
    if not isinstance(step, ColumnTransformer) or not isinstance(classifier, CalibratedLinearSVC):
        return None
    svm = classifier.estimator_
    if not isinstance(svm, LinearSVC):
        return None
    return step, classifier, svm


def _coefficients_per_class(classifier: Any, svm: Any) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The head's classes, its coefficients (classes × features) and intercepts, one row per
    class of the head, as ``CalibratedLinearSVC._scores`` computes them."""
    coef = np.asarray(svm.coef_, dtype=np.float64)
    intercept = np.asarray(svm.intercept_, dtype=np.float64)
    if coef.shape[0] == 1:  # binary: the margin split as in CalibratedLinearSVC._scores
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    classes = [str(c) for c in classifier.classes_]
    # Columns of classes the final SVM did not see score _ABSENT_SCORE, as in _scores.
    columns = np.searchsorted(classifier.classes_, svm.classes_)
    full_coef = np.zeros((len(classes), coef.shape[1]))
    full_coef[columns] = coef
    full_intercept = np.full(len(classes), _ABSENT_SCORE)
    full_intercept[columns] = intercept
    return classes, full_coef, full_intercept


def _feature_blocks(
    step: Any, coef: np.ndarray, text_blocks: list[TextBlock]
) -> list[tuple[int, float, np.ndarray]] | None:
    """The coefficients cut into the ``ColumnTransformer``'s blocks (features × classes each),
    with their weights; None when a block or the total width is not the shipped layout."""
    weights = step.transformer_weights or {}
    blocks: list[tuple[int, float, np.ndarray]] = []
    start = 0
    for block_name, transformer, selected in step.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        found = _block_id_and_width(transformer, selected, text_blocks)
        if found is None:
            return None
        block_id, width = found
        coef_block = np.ascontiguousarray(coef[:, start : start + width].T)
        blocks.append((block_id, float(weights.get(block_name, 1.0)), coef_block))
        start += width
    if start != coef.shape[1]:
        return None
    return blocks


def _block_id_and_width(
    transformer: Any, selected: Any, text_blocks: list[TextBlock]
) -> tuple[int, int] | None:
    """Which block one transformer is (a shared TF-IDF block, added to ``text_blocks`` the
    first time, or the embedding) and how many features it makes; None if it is neither."""

    if isinstance(selected, str) and selected == TEXT_COLUMN:
        text_block = _text_block(transformer)
        if text_block is None:
            return None
        block_id = next(
            (i for i, b in enumerate(text_blocks) if b.same_as(text_block)), len(text_blocks)
        )
        if block_id == len(text_blocks):
            text_blocks.append(text_block)
        return block_id, len(text_block.terms)
    if (
        (transformer == "passthrough" or isinstance(transformer, FunctionTransformer))
        and getattr(transformer, "func", None) is None
        and list(selected) == [f"{EMBEDDING_PREFIX}{i}" for i in range(len(selected))]
    ):
        return EMBEDDING, len(selected)
    return None


def _text_block(vectorizer: Any) -> TextBlock | None:

    if type(vectorizer) is not TfidfVectorizer:
        return None
    supported = (
        vectorizer.analyzer in ("word", "char_wb")
        and vectorizer.input == "content"
        and vectorizer.preprocessor is None
        and vectorizer.tokenizer is None
        and vectorizer.stop_words is None
        and vectorizer.strip_accents is None
        and not vectorizer.binary
        and vectorizer.use_idf
        and vectorizer.norm in ("l1", "l2", None)
        and vectorizer.dtype in (np.float64, "float64")
    )
    if not supported:
        return None
    terms = [""] * len(vectorizer.vocabulary_)
    for term, index in vectorizer.vocabulary_.items():
        terms[index] = term
    return TextBlock(
        analyzer=vectorizer.analyzer,
        ngram_range=tuple(vectorizer.ngram_range),
        token_pattern=vectorizer.token_pattern,
        lowercase=bool(vectorizer.lowercase),
        sublinear_tf=bool(vectorizer.sublinear_tf),
        norm=vectorizer.norm,
        terms=terms,
        idf=np.asarray(vectorizer.idf_, dtype=np.float64),
    )


def largest_difference(
    linear: LinearHeads, heads: Mapping[str, Any], texts: Sequence[str], embeddings: np.ndarray
) -> float:
    """The largest absolute difference between the two forms' probabilities on ``texts``."""

    if not len(texts):
        return 0.0
    frame = feature_frame(texts, embeddings)
    compiled = linear.predict_proba(texts, embeddings)
    return max(
        float(np.abs(np.asarray(head.predict_proba(frame)) - compiled[name]).max())
        for name, head in heads.items()
    )
