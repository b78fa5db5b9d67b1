"""A trained triage model: one embedding body and one scikit-learn head per label."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from triage.decisions import PrecisionCurve
from triage.embeddings import Embedder
from triage.explain import Explanation, explain_label
from triage.features import EMBEDDING_PREFIX, TEXT_COLUMN, feature_frame
from triage.neighbours import NeighbourIndex

Features = Callable[[Sequence[str], np.ndarray], Any]


def direct_features(head: Pipeline) -> Features | None:
    """The head's feature step as a function of (texts, embeddings), bypassing pandas.

    For a one-ticket request, ``ColumnTransformer`` spends most of its time validating and
    indexing the 385-column frame, not computing TF-IDF; calling its fitted parts directly
    gives the very same matrix in a fraction of the time. Only the layout built by
    ``lexical_and_semantic_features`` (TF-IDF on the text column, the embedding columns
    passed through, sparse output) is taken this way; any other head gets ``None``.
    """
    step = head.steps[0][1] if len(head.steps) == 2 else None
    if not isinstance(step, ColumnTransformer) or not getattr(step, "sparse_output_", False):
        return None
    weights = step.transformer_weights or {}
    # (transformer or None for the embeddings, weight) per block, in the step's order.
    blocks: list[tuple[Any, float]] = []
    for name, transformer, columns in step.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        weight = float(weights.get(name, 1.0))
        if (
            isinstance(columns, str)
            and columns == TEXT_COLUMN
            and hasattr(transformer, "vocabulary_")
        ):
            blocks.append((transformer, weight))
        elif (
            isinstance(transformer, FunctionTransformer)
            and transformer.func is None
            and list(columns) == [f"{EMBEDDING_PREFIX}{i}" for i in range(len(columns))]
        ):
            blocks.append((None, weight))
        else:
            return None

    def features(texts: Sequence[str], embeddings: np.ndarray) -> Any:
        matrices = []
        for transformer, weight in blocks:
            block = (
                sp.csr_matrix(embeddings) if transformer is None else transformer.transform(texts)
            )
            matrices.append(block if weight == 1.0 else block * weight)
        return sp.hstack(matrices).tocsr()

    return features


@dataclass(frozen=True)
class HeadPrediction:
    """One head's answer for one ticket: the top label, its confidence, all probabilities."""

    label: str
    confidence: float
    distribution: dict[str, float]
    explanation: Explanation | None = None


class TriageModel:
    """Embeds tickets once and asks every head for calibrated probabilities."""

    def __init__(
        self,
        embedder: Embedder,
        heads: Mapping[str, Pipeline],
        *,
        curves: Mapping[str, Mapping[str, PrecisionCurve]] | None = None,
        neighbours: NeighbourIndex | None = None,
        manifest: Mapping[str, Any] | None = None,
    ) -> None:
        if not heads:
            raise ValueError("a triage model needs at least one head")
        self.embedder = embedder
        self.heads = dict(heads)
        # Per head and class: precision by confidence, measured out of fold at training time.
        self.curves = {head: dict(c) for head, c in (curves or {}).items()}
        self.neighbours = neighbours
        self.manifest: dict[str, Any] = dict(manifest or {})
        self._direct = {name: direct_features(head) for name, head in self.heads.items()}

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", "unsaved"))

    def labels(self, head: str) -> list[str]:
        return [str(label) for label in self.heads[head].classes_]

    def _head_proba(
        self, name: str, texts: Sequence[str], embeddings: np.ndarray, frame: pd.DataFrame | None
    ) -> np.ndarray:
        head, direct = self.heads[name], self._direct[name]
        if direct is not None:
            return np.asarray(head.steps[-1][1].predict_proba(direct(texts, embeddings)))
        if frame is None:
            frame = feature_frame(texts, embeddings)
        return np.asarray(head.predict_proba(frame))

    def predict_proba(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> dict[str, np.ndarray]:
        """Probabilities per head, rows in the order of ``texts``, columns in ``labels(head)``."""
        embeddings = self.embedder.encode(texts, batch_size=batch_size, show_progress=show_progress)
        frame = None if all(self._direct.values()) else feature_frame(texts, embeddings)
        return {name: self._head_proba(name, texts, embeddings, frame) for name in self.heads}

    def predict(
        self,
        texts: Sequence[str],
        *,
        explain: bool = False,
        neighbours: int = 5,
        embeddings: np.ndarray | None = None,
    ) -> list[dict[str, HeadPrediction]]:
        """The answer of every head for each text, optionally with its explanation.

        ``embeddings``: the texts' vectors from ``self.embedder``, when the caller has them.
        """
        if embeddings is None:
            embeddings = self.embedder.encode(texts)
        # The frame is only needed for explanations and for heads of another layout.
        frame = None
        if explain or not all(self._direct.values()):
            frame = feature_frame(texts, embeddings)
        results: list[dict[str, HeadPrediction]] = [{} for _ in texts]
        for name, head in self.heads.items():
            labels = self.labels(name)
            proba = self._head_proba(name, texts, embeddings, frame)
            for i, (row, result) in enumerate(zip(proba, results, strict=True)):
                best = int(np.argmax(row))
                explanation = None
                if frame is not None and explain:
                    explanation = explain_label(head, frame.iloc[[i]], labels[best])
                    if self.neighbours is not None:
                        explanation.neighbours.extend(
                            self.neighbours.nearest(embeddings[i], neighbours)
                        )
                result[name] = HeadPrediction(
                    label=labels[best],
                    confidence=float(row[best]),
                    distribution={label: float(p) for label, p in zip(labels, row, strict=True)},
                    explanation=explanation,
                )
        return results
