"""A trained triage model: one embedding body and one scikit-learn head per label."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from triage.decisions import PrecisionCurve
from triage.embeddings import Embedder
from triage.explain import Explanation, explain_label
from triage.features import feature_frame
from triage.neighbours import NeighbourIndex


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

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", "unsaved"))

    def labels(self, head: str) -> list[str]:
        return [str(label) for label in self.heads[head].classes_]

    def _frames(self, texts: Sequence[str], **encode: Any) -> tuple[np.ndarray, pd.DataFrame]:
        embeddings = self.embedder.encode(texts, **encode)
        return embeddings, feature_frame(texts, embeddings)

    def predict_proba(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> dict[str, np.ndarray]:
        """Probabilities per head, rows in the order of ``texts``, columns in ``labels(head)``."""
        _, frame = self._frames(texts, batch_size=batch_size, show_progress=show_progress)
        return {name: head.predict_proba(frame) for name, head in self.heads.items()}

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
            embeddings, frame = self._frames(texts)
        else:
            frame = feature_frame(texts, embeddings)
        results: list[dict[str, HeadPrediction]] = [{} for _ in texts]
        for name, head in self.heads.items():
            labels = self.labels(name)
            for i, (row, result) in enumerate(zip(head.predict_proba(frame), results, strict=True)):
                best = int(np.argmax(row))
                explanation = None
                if explain:
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
