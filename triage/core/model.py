"""A trained triage model: one embedding body and one scikit-learn head per label.

With the heads' NumPy form (:mod:`triage.core.linear_heads`) a model answers without importing
scikit-learn, SciPy or pandas; the pickled pipelines are then only read for explanations.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from triage.core.auto_gate import AutoGate
from triage.core.blas_threads import one_blas_thread
from triage.core.decisions import PrecisionCurve
from triage.core.drift import HeadReference
from triage.core.embeddings import Embedder
from triage.core.explain import Explanation, explain_label
from triage.core.features import EMBEDDING_PREFIX, TEXT_COLUMN, feature_frame
from triage.core.linear_heads import LinearHeads
from triage.core.neighbours import NeighbourIndex, NeighbourQuery
from triage.core.refinement import Refinement

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

Features = Callable[[Sequence[str], np.ndarray], Any]


def direct_features(head: Pipeline) -> Features | None:
    """The head's feature step as a function of (texts, embeddings), bypassing pandas.

    For a one-ticket request, ``ColumnTransformer`` spends most of its time validating and
    indexing the 385-column frame, not computing TF-IDF; calling its fitted parts directly
    gives the very same matrix in a fraction of the time. Only the layout built by
    ``lexical_and_semantic_features`` (TF-IDF on the text column, the embedding columns
    passed through, sparse output) is taken this way; any other head gets ``None``.
    """
    import scipy.sparse as sp
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer

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
    # Why the auto gate refuses an automatic decision for this ticket (None: it does not).
    auto_blocked: str | None = None


class TriageModel:
    """Embeds tickets once and asks every head for calibrated probabilities.

    ``heads`` may load lazily (a mapping whose keys are known before its pipelines are
    read); with ``linear`` given, only explanations read them. ``refinements``: per head, the
    neighbour-vote blend and top-label calibration applied after it (:mod:`triage.core.refinement`).
    ``drift_reference``: per head, its answers on the training rows (:mod:`triage.core.drift`);
    None for artifacts trained without one. ``gate``: the auto gate (:mod:`triage.core.auto_gate`),
    None for artifacts trained before it existed.
    """

    def __init__(
        self,
        embedder: Embedder,
        heads: Mapping[str, Pipeline],
        *,
        curves: Mapping[str, Mapping[str, PrecisionCurve]] | None = None,
        neighbours: NeighbourIndex | None = None,
        manifest: Mapping[str, Any] | None = None,
        linear: LinearHeads | None = None,
        refinements: Mapping[str, Refinement] | None = None,
        drift_reference: Mapping[str, HeadReference] | None = None,
        gate: AutoGate | None = None,
    ) -> None:
        if not heads:
            raise ValueError("a triage model needs at least one head")
        if linear is not None and set(linear.heads) != set(heads):
            raise ValueError("the linear heads and the pipelines name different heads")
        self.refinements = dict(refinements or {})
        if unknown := set(self.refinements) - set(heads):
            raise ValueError(f"refinements for heads the model lacks: {sorted(unknown)}")
        if neighbours is None and any(r.uses_vote for r in self.refinements.values()):
            raise ValueError("a head blends a neighbour vote but the model has no neighbours")
        self.embedder = embedder
        self.heads = heads if isinstance(heads, LazyMapping) else dict(heads)
        # Per head and class: precision by confidence, measured out of fold at training time.
        self.curves = {head: dict(c) for head, c in (curves or {}).items()}
        self.neighbours = neighbours
        self.manifest: dict[str, Any] = dict(manifest or {})
        self.linear = linear
        self.drift_reference = None if drift_reference is None else dict(drift_reference)
        for name, reference in (self.drift_reference or {}).items():
            if name not in self.heads or list(reference.labels) != self.labels(name):
                raise ValueError(f"the drift reference of {name!r} does not match its head")
        self.gate = gate
        for name, check in (gate.distances if gate is not None else {}).items():
            if name not in self.heads or list(check.labels) != self.labels(name):
                raise ValueError(
                    f"the auto gate's distance check of {name!r} does not match its head"
                )
        self._direct_cache: dict[str, Features | None] | None = None

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", "unsaved"))

    def labels(self, head: str) -> list[str]:
        if self.linear is not None:
            return list(self.linear.labels(head))
        return [str(label) for label in self.heads[head].classes_]

    @property
    def _direct(self) -> dict[str, Features | None]:
        if self._direct_cache is None:
            self._direct_cache = {name: direct_features(head) for name, head in self.heads.items()}
        return self._direct_cache

    def _head_proba(
        self, name: str, texts: Sequence[str], embeddings: np.ndarray, frame: pd.DataFrame | None
    ) -> np.ndarray:
        head, direct = self.heads[name], self._direct[name]
        if direct is not None:
            return np.asarray(head.steps[-1][1].predict_proba(direct(texts, embeddings)))
        if frame is None:
            frame = feature_frame(texts, embeddings)
        return np.asarray(head.predict_proba(frame))

    def _query(self, embeddings: np.ndarray) -> NeighbourQuery | None:
        """The texts' search of the neighbours, shared by every head's vote and the gate."""
        return None if self.neighbours is None else self.neighbours.query(embeddings)

    def _proba(
        self,
        texts: Sequence[str],
        embeddings: np.ndarray,
        frame: pd.DataFrame | None,
        query: NeighbourQuery | None = None,
    ) -> dict[str, np.ndarray]:
        if query is None:
            query = self._query(embeddings)
        if self.linear is not None:
            raw = self.linear.predict_proba(texts, embeddings)
        else:
            if frame is None and not all(self._direct.values()):
                frame = feature_frame(texts, embeddings)
            raw = {name: self._head_proba(name, texts, embeddings, frame) for name in self.heads}
        return {name: self._refine(name, proba, query) for name, proba in raw.items()}

    def _refine(self, name: str, proba: np.ndarray, query: NeighbourQuery | None) -> np.ndarray:
        refinement = self.refinements.get(name)
        if refinement is None:
            return proba
        vote = None
        if refinement.uses_vote:
            assert query is not None  # __init__ checked that the model has neighbours
            vote = query.vote(
                name,
                self.labels(name),
                k=refinement.vote_k,
                sharpness=refinement.vote_sharpness,
                kind=refinement.vote_kind,
            )
        return refinement.apply(proba, vote)

    def predict_proba(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> dict[str, np.ndarray]:
        """Probabilities per head, rows in the order of ``texts``, columns in ``labels(head)``."""
        embeddings = self.embedder.encode(texts, batch_size=batch_size, show_progress=show_progress)
        return self._proba(texts, embeddings, None)

    def proba_from_embeddings(
        self, texts: Sequence[str], embeddings: np.ndarray
    ) -> dict[str, np.ndarray]:
        """As ``predict_proba``, for texts already embedded (by this or an equivalent body)."""
        return self._proba(texts, embeddings, None)

    def auto_blocks(
        self,
        texts: Sequence[str],
        embeddings: np.ndarray,
        probabilities: Mapping[str, np.ndarray] | None = None,
        query: NeighbourQuery | None = None,
    ) -> dict[str, list[str | None]]:
        """Per head and ticket, why the auto gate refuses the head an automatic decision
        (None: it does not). ``probabilities``: the heads' answers, when the caller has them
        (the distance check looks at the label each head predicts); ``query``: the texts'
        search of the neighbours, when the caller has one."""
        if self.gate is None:
            return {name: [None] * len(texts) for name in self.heads}
        if query is None:
            query = self._query(embeddings)
        similarity = None
        if self.gate.min_similarity is not None and query is not None:
            similarity = query.nearest_similarity().tolist()
        ticket = self.gate.reasons(texts, similarity)
        if self.gate.distances and probabilities is None:
            probabilities = self._proba(texts, embeddings, None, query)
        predicted = {}
        if probabilities is not None:
            for name in self.heads:
                if name in self.gate.distances:
                    labels = self.labels(name)
                    top = np.argmax(probabilities[name], axis=1).tolist()
                    predicted[name] = [labels[i] for i in top]
        far = self.gate.heads_reasons(embeddings, predicted) if predicted else {}
        return {
            name: list(ticket)
            if name not in far
            else [t if t is not None else f for t, f in zip(ticket, far[name], strict=True)]
            for name in self.heads
        }

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

        On one BLAS thread, as the body's forward pass: the gate's whitening products and
        the neighbour search are small, and OpenBLAS's other threads spent more CPU waiting
        for them than they saved (batches of 64 at 2 threads: ~740 µs of the calling thread
        per ticket for the model's answer against ~340 µs on one; ``benchmarks/batch_profile``).
        """
        with one_blas_thread():
            return self._predict(
                texts, explain=explain, neighbours=neighbours, embeddings=embeddings
            )

    def _predict(
        self,
        texts: Sequence[str],
        *,
        explain: bool,
        neighbours: int,
        embeddings: np.ndarray | None,
    ) -> list[dict[str, HeadPrediction]]:
        if embeddings is None:
            embeddings = self.embedder.encode(texts)
        # The frame is only needed for explanations.
        frame = feature_frame(texts, embeddings) if explain else None
        query = self._query(embeddings)
        probabilities = self._proba(texts, embeddings, frame, query)
        blocked = self.auto_blocks(texts, embeddings, probabilities, query)
        results: list[dict[str, HeadPrediction]] = [{} for _ in texts]
        for name in self.heads:
            labels = self.labels(name)
            # Python floats once per head (the values float() gives, without a NumPy scalar
            # per probability), and every row's top label in one call.
            rows = probabilities[name].tolist()
            tops = np.argmax(probabilities[name], axis=1).tolist()
            for i, (row, best, result) in enumerate(zip(rows, tops, results, strict=True)):
                explanation = None
                if frame is not None:
                    explanation = explain_label(self.heads[name], frame.iloc[[i]], labels[best])
                    if self.neighbours is not None:
                        explanation.neighbours.extend(
                            self.neighbours.nearest(embeddings[i], neighbours)
                        )
                result[name] = HeadPrediction(
                    label=labels[best],
                    confidence=row[best],
                    distribution=dict(zip(labels, row, strict=True)),
                    explanation=explanation,
                    auto_blocked=blocked[name][i],
                )
        return results


class LazyMapping(Mapping[str, Any]):
    """Named values read on first use (once, thread-safe): the pickled heads of a model
    whose NumPy form answers, so a serving process never unpickles them unless asked."""

    def __init__(self, names: Sequence[str], load: Callable[[str], Any]) -> None:
        self._names = list(names)
        self._load = load
        self._values: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> Any:
        if name not in self._names:
            raise KeyError(name)
        value = self._values.get(name)
        if value is None:
            with self._lock:
                value = self._values.get(name)
                if value is None:
                    value = self._values[name] = self._load(name)
        return value

    def __contains__(self, name: object) -> bool:
        return name in self._names  # without loading (Mapping's default would read it)

    def __iter__(self) -> Any:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)
