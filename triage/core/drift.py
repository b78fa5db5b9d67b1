"""Drift of the served predictions from the training distribution, per head.

At training time each head records a **reference**: the shares of the labels it predicts on
the training rows out of fold (refined, as served), the shares of the true training labels,
and the mean top confidence. Stored in the artifact as ``drift_reference.json``.

While serving, a **window** keeps the last N predictions of every head: counts of the
predicted labels and the sum of their confidences, updated in O(1) per ticket.

The two are compared with the **population stability index** of the predicted-label shares,
``PSI = sum((current - reference) * ln(current / reference))``; the common reading is below
0.1 stable, 0.1 to 0.2 moderate, above 0.2 significant. With n predictions and k labels an
unchanged population still scores about (k - 1) / n by sampling noise alone, so no verdict is
given before a head has enough predictions for that noise to sit well below the threshold.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from triage.core.head_files import read_heads_file, write_heads_file

FILE = "drift_reference.json"
FORMAT = 1
# Shares below this count as this (then renormalised): an empty label adds a large but
# finite term instead of an infinite one.
EPSILON = 1e-4
# The verdict waits until sampling noise alone, (k - 1) / n, is at most threshold / 5.
NOISE_MARGIN = 5
DEFAULT_WINDOW = 5_000
DEFAULT_THRESHOLD = 0.2
DEFAULT_MIN_PREDICTIONS = 500
# Confidences are summed as integers of this unit: an exact running sum, which millions of
# additions and removals cannot wear down as they would a float.
_UNIT = 1_000_000_000


def psi(reference: Sequence[float], current: Sequence[float], *, epsilon: float = EPSILON) -> float:
    """Population stability index of ``current`` shares against ``reference`` shares.

    Both are non-negative and in the same label order; each is clipped below at ``epsilon``
    and renormalised, so a label absent on one side contributes a finite amount.
    """
    expected, actual = _smoothed(reference, epsilon), _smoothed(current, epsilon)
    if expected.shape != actual.shape:
        raise ValueError(f"{expected.size} reference shares but {actual.size} current ones")
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _smoothed(shares: Sequence[float], epsilon: float) -> np.ndarray:
    values = np.asarray(shares, dtype=np.float64)
    if values.ndim != 1 or values.size == 0 or np.any(values < 0) or values.sum() <= 0:
        raise ValueError("shares must be a non-empty list of non-negative numbers, not all 0")
    clipped: np.ndarray = np.maximum(values / values.sum(), epsilon)
    normalised: np.ndarray = clipped / clipped.sum()
    return normalised


def min_predictions_for(n_labels: int, threshold: float, floor: int) -> int:
    """Predictions a head needs before its PSI is judged: ``floor``, or more for many labels."""
    return max(floor, math.ceil(NOISE_MARGIN * (n_labels - 1) / threshold))


@dataclass(frozen=True)
class HeadReference:
    """What one head's answers looked like on its training rows (out of fold)."""

    labels: tuple[str, ...]
    predicted_shares: tuple[float, ...]
    label_shares: tuple[float, ...]
    mean_confidence: float
    rows: int

    def __post_init__(self) -> None:
        n = len(self.labels)
        if n == 0 or len(set(self.labels)) != n:
            raise ValueError("a drift reference needs distinct labels")
        for shares in (self.predicted_shares, self.label_shares):
            if len(shares) != n or any(s < 0 for s in shares) or not math.isclose(sum(shares), 1):
                raise ValueError("drift reference shares: one per label, summing to 1")
        if not 0 <= self.mean_confidence <= 1 or self.rows < 1:
            raise ValueError("drift reference: mean confidence in [0, 1], at least one row")

    @classmethod
    def from_predictions(
        cls, labels: Sequence[str], proba: np.ndarray, truth: Sequence[str]
    ) -> HeadReference:
        """The reference of out-of-fold ``proba`` (columns in ``labels`` order) and the true
        labels of the same rows."""
        proba = np.asarray(proba, dtype=np.float64)
        if proba.ndim != 2 or proba.shape != (len(truth), len(labels)) or len(truth) == 0:
            raise ValueError("one row of probabilities per training label, one column per label")
        n = len(truth)
        predicted = np.bincount(proba.argmax(axis=1), minlength=len(labels))
        index = {label: i for i, label in enumerate(labels)}
        actual = np.bincount([index[str(t)] for t in truth], minlength=len(labels))
        return cls(
            labels=tuple(str(label) for label in labels),
            predicted_shares=tuple(float(c) / n for c in predicted),
            label_shares=tuple(float(c) / n for c in actual),
            mean_confidence=float(proba.max(axis=1).mean()),
            rows=n,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "predicted_shares": list(self.predicted_shares),
            "label_shares": list(self.label_shares),
            "mean_confidence": self.mean_confidence,
            "rows": self.rows,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HeadReference:
        return cls(
            labels=tuple(str(label) for label in data["labels"]),
            predicted_shares=tuple(float(s) for s in data["predicted_shares"]),
            label_shares=tuple(float(s) for s in data["label_shares"]),
            mean_confidence=float(data["mean_confidence"]),
            rows=int(data["rows"]),
        )


def save_references(root: Path, references: Mapping[str, HeadReference]) -> str:
    """Write every head's reference under the artifact directory ``root``; return the path."""
    return write_heads_file(root, FILE, FORMAT, {n: r.to_dict() for n, r in references.items()})


def load_references(root: Path) -> dict[str, HeadReference]:
    entries = read_heads_file(root, FILE, FORMAT, "drift reference")
    return {name: HeadReference.from_dict(entry) for name, entry in entries.items()}


@dataclass(frozen=True)
class WindowCounts:
    """One head's counts in a window at one moment."""

    labels: tuple[str, ...]
    counts: tuple[int, ...]
    confidence_sum: float

    @property
    def observed(self) -> int:
        return sum(self.counts)

    @property
    def mean_confidence(self) -> float | None:
        return self.confidence_sum / self.observed if self.observed else None


class PredictionWindow:
    """The last ``size`` tickets' answers of every head: label counts and confidence sums.

    Adding a ticket (and evicting the oldest) costs O(number of heads); reading a snapshot
    O(labels). Safe to use from several threads.
    """

    def __init__(self, labels: Mapping[str, Sequence[str]], size: int) -> None:
        if size < 1:
            raise ValueError("a prediction window holds at least one prediction")
        self.size = size
        self._heads = list(labels)
        self._labels = {head: tuple(str(label) for label in labels[head]) for head in labels}
        self._index = {
            head: {label: i for i, label in enumerate(ls)} for head, ls in self._labels.items()
        }
        self._lock = threading.Lock()
        # Per ticket: (label index, confidence in _UNIT) for each head, in self._heads order.
        self._entries: deque[tuple[tuple[int, int], ...]] = deque()
        self._counts = {head: [0] * len(ls) for head, ls in self._labels.items()}
        self._sums = dict.fromkeys(self._heads, 0)

    def observe(self, answers: Sequence[Mapping[str, tuple[str, float]]]) -> None:
        """Add tickets' answers, each ``{head: (label, confidence)}``, oldest first."""
        entries = [
            tuple(self._entry(head, *answer[head]) for head in self._heads) for answer in answers
        ]
        with self._lock:
            for entry in entries:
                if len(self._entries) == self.size:
                    self._move(self._entries.popleft(), -1)
                self._entries.append(entry)
                self._move(entry, 1)

    def _entry(self, head: str, label: str, confidence: float) -> tuple[int, int]:
        return self._index[head][label], round(min(max(confidence, 0.0), 1.0) * _UNIT)

    def _move(self, entry: tuple[tuple[int, int], ...], sign: int) -> None:
        for head, (label, confidence) in zip(self._heads, entry, strict=True):
            self._counts[head][label] += sign
            self._sums[head] += sign * confidence

    def snapshot(self) -> dict[str, WindowCounts]:
        """Every head's counts now, consistent with each other."""
        with self._lock:
            return {
                head: WindowCounts(
                    self._labels[head], tuple(self._counts[head]), self._sums[head] / _UNIT
                )
                for head in self._heads
            }


class DriftStatus(StrEnum):
    STABLE = "stable"  # PSI below half the threshold (0.1 with the default 0.2)
    MODERATE = "moderate"  # PSI from half the threshold up to the threshold
    DRIFTED = "drifted"  # PSI above the threshold
    INSUFFICIENT_DATA = "insufficient_data"  # too few predictions yet for a verdict
    NO_REFERENCE = "no_reference"  # the artifact has no training distribution to compare with


@dataclass(frozen=True)
class LabelShare:
    count: int
    current: float | None
    reference: float | None
    training: float | None


@dataclass(frozen=True)
class HeadDrift:
    """One head's window compared with its training reference."""

    status: DriftStatus
    psi: float | None
    threshold: float
    window: int
    observed: int
    min_predictions: int
    mean_confidence: float | None
    reference_mean_confidence: float | None
    labels: dict[str, LabelShare]

    @property
    def drifted(self) -> bool:
        return self.status is DriftStatus.DRIFTED

    @property
    def has_verdict(self) -> bool:
        return self.status in (DriftStatus.STABLE, DriftStatus.MODERATE, DriftStatus.DRIFTED)


@dataclass(frozen=True)
class DriftConfig:
    """How many predictions to keep, and when their PSI is judged a drift."""

    window: int = DEFAULT_WINDOW
    threshold: float = DEFAULT_THRESHOLD
    min_predictions: int = DEFAULT_MIN_PREDICTIONS

    def __post_init__(self) -> None:
        if not 1 <= self.min_predictions <= self.window or not self.threshold > 0:
            raise ValueError(
                "drift: 1 <= min_predictions <= window (else no verdict ever), threshold above 0"
            )


def compare(
    counts: WindowCounts, reference: HeadReference | None, config: DriftConfig
) -> HeadDrift:
    """The drift of one head's window from its reference (``None``: the artifact has none)."""
    observed = counts.observed
    needed = min_predictions_for(len(counts.labels), config.threshold, config.min_predictions)
    if reference is not None and reference.labels != counts.labels:
        raise ValueError("the drift reference and the window name different labels")
    shares = {
        label: LabelShare(
            count=count,
            current=count / observed if observed else None,
            reference=None if reference is None else reference.predicted_shares[i],
            training=None if reference is None else reference.label_shares[i],
        )
        for i, (label, count) in enumerate(zip(counts.labels, counts.counts, strict=True))
    }
    value = None
    if reference is not None and observed:
        value = psi(reference.predicted_shares, counts.counts)
    if reference is None:
        status = DriftStatus.NO_REFERENCE
    elif value is None or observed < needed:
        status = DriftStatus.INSUFFICIENT_DATA
    elif value > config.threshold:
        status = DriftStatus.DRIFTED
    elif value >= config.threshold / 2:
        status = DriftStatus.MODERATE
    else:
        status = DriftStatus.STABLE
    return HeadDrift(
        status=status,
        psi=value,
        threshold=config.threshold,
        window=config.window,
        observed=observed,
        min_predictions=needed,
        mean_confidence=counts.mean_confidence,
        reference_mean_confidence=None if reference is None else reference.mean_confidence,
        labels=shares,
    )
