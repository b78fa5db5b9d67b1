"""Operating points: when a prediction is acted on automatically, suggested, or sent to a human.

Each class of each head has a precision curve measured on out-of-fold predictions of the
training data (never the test split): for every confidence level, how many predictions of
that class lie at or above it, their precision, and a one-sided lower confidence bound on
that precision (Clopper–Pearson, 95 %). For a target precision the class threshold is the
lowest confidence whose *lower bound* still meets the target, so that the promise holds on
tickets the model has never seen, not only on the rows that chose it; a class without that
much evidence has no threshold and is never decided automatically. Then per prediction:

- ``auto``: confidence at or above the class threshold, and the ticket passes the model's
  auto gate (:mod:`triage.core.auto_gate`: enough content, not unlike every training ticket);
- ``suggest``: below the threshold but at or above the floor: show it to staff as a suggestion;
- ``review``: below the floor, or a class without a usable threshold below the floor:
  the model abstains and the ticket goes to a human at L1 triage.

Hierarchical labels (``hardware/printer``): when a leaf misses its threshold because its
siblings share the confidence, the parent (``hardware``) is answered instead if the summed
probability of its subtree clears the parent's own threshold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

SEPARATOR = "/"


class Decision(StrEnum):
    AUTO = "auto"
    SUGGEST = "suggest"
    REVIEW = "review"


# The one-sided confidence of the lower bounds stored with every curve.
CONFIDENCE_LEVEL = 0.95
# The defaults of training (TrainConfig) and serving (Settings) alike, defined once here.
DEFAULT_TARGET_PRECISION = 0.95
DEFAULT_SUGGEST_FLOOR = 0.5


@dataclass(frozen=True)
class PrecisionCurve:
    """Confidence levels (descending) with the precision of predictions at or above each.

    ``counts``: how many out-of-fold predictions lie at or above each level;
    ``lower_bounds``: the one-sided ``CONFIDENCE_LEVEL`` lower bound on each precision.
    Curves of models trained before bounds existed have neither: their thresholds rest on
    the point estimate (``guaranteed`` is False).
    """

    confidences: tuple[float, ...]
    precisions: tuple[float, ...]
    support: int
    excluded: str | None = None
    counts: tuple[int, ...] = ()
    lower_bounds: tuple[float, ...] = ()

    @property
    def guaranteed(self) -> bool:
        return len(self.lower_bounds) == len(self.confidences) and bool(self.lower_bounds)

    def threshold_for(self, target_precision: float) -> float | None:
        """Lowest confidence whose precision (its lower bound, where known) meets the target;
        None if none does."""
        if self.excluded:
            return None
        evidence = self.lower_bounds if self.guaranteed else self.precisions
        best = None
        for confidence, precision in zip(self.confidences, evidence, strict=True):
            if precision >= target_precision:
                best = confidence
        return best

    def why_no_threshold(self, target_precision: float) -> str | None:
        """In plain words, why this class never decides automatically; None if it can."""
        if self.excluded:
            return f"excluded: {self.excluded}"
        if self.threshold_for(target_precision) is not None:
            return None
        if not self.confidences:
            return "never predicted out of fold"
        needed = correct_predictions_needed(target_precision)
        if self.support < needed:
            return (
                f"not enough evidence: {CONFIDENCE_LEVEL:.0%} confidence in precision "
                f"{target_precision:g} needs at least {needed} correct out-of-fold predictions "
                f"of the class; it has {self.support} labelled tickets"
            )
        if not self.guaranteed:
            return f"out-of-fold precision stays below {target_precision:g}"
        best = max(range(len(self.lower_bounds)), key=lambda i: self.lower_bounds[i])
        return (
            f"out-of-fold precision never reaches {target_precision:g} with "
            f"{CONFIDENCE_LEVEL:.0%} confidence: at best {self.precisions[best]:.3f} on "
            f"{self.counts[best]} predictions (lower bound {self.lower_bounds[best]:.3f})"
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PrecisionCurve:
        return cls(
            confidences=tuple(float(c) for c in data["confidences"]),
            precisions=tuple(float(p) for p in data["precisions"]),
            support=int(data["support"]),
            excluded=data.get("excluded"),
            counts=tuple(int(n) for n in data.get("counts", ())),
            lower_bounds=tuple(float(b) for b in data.get("lower_bounds", ())),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "confidences": list(self.confidences),
            "precisions": list(self.precisions),
            "support": self.support,
            "excluded": self.excluded,
            "counts": list(self.counts),
            "lower_bounds": list(self.lower_bounds),
        }


def correct_predictions_needed(target_precision: float) -> int:
    """The fewest predictions, all correct, whose Clopper–Pearson lower bound reaches the
    target: ``(1 - CONFIDENCE_LEVEL) ** (1 / n) >= target`` (59 for 0.95)."""
    if not 0 < target_precision < 1:
        return 1
    return math.ceil(math.log(1 - CONFIDENCE_LEVEL) / math.log(target_precision))


def ancestors(label: str) -> list[str]:
    """Parents of a hierarchical label, nearest first: ``a/b/c`` → ``[a/b, a]``."""
    parts = label.split(SEPARATOR)
    return [SEPARATOR.join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]


def subtree_mass(distribution: Mapping[str, float], parent: str) -> float:
    """Probability of ``parent``: the sum over every label below it."""
    prefix = parent + SEPARATOR
    return sum(p for label, p in distribution.items() if label.startswith(prefix))


@dataclass(frozen=True)
class Outcome:
    """What a head answers: possibly a parent label when its children split the confidence."""

    label: str
    confidence: float
    threshold: float | None
    decision: Decision
    fallback: bool = False


@dataclass(frozen=True)
class HeadPolicy:
    """Per-class thresholds of one head, and the floor below which it abstains."""

    thresholds: dict[str, float | None]
    floor: float
    target_precision: float | None = None

    def decide(
        self,
        label: str,
        confidence: float,
        distribution: Mapping[str, float] | None = None,
        *,
        allow_auto: bool = True,
    ) -> Outcome:
        """The decision for a top label; ``allow_auto`` False (the auto gate refused the
        ticket) caps it at a suggestion."""
        threshold = self.thresholds.get(label)
        if allow_auto and threshold is not None and confidence >= threshold:
            return Outcome(label, confidence, threshold, Decision.AUTO)
        for parent in ancestors(label) if distribution and allow_auto else []:
            parent_threshold = self.thresholds.get(parent)
            mass = subtree_mass(distribution or {}, parent)
            if parent_threshold is not None and mass >= parent_threshold:
                return Outcome(parent, mass, parent_threshold, Decision.AUTO, fallback=True)
        decision = Decision.SUGGEST if confidence >= self.floor else Decision.REVIEW
        return Outcome(label, confidence, threshold, decision)


def build_policy(
    curves: Mapping[str, PrecisionCurve],
    *,
    target_precision: float,
    floor: float,
    overrides: Mapping[str, float] | None = None,
) -> HeadPolicy:
    """Thresholds for a target precision; ``overrides`` pins a class's threshold by hand."""
    thresholds = {label: curve.threshold_for(target_precision) for label, curve in curves.items()}
    for label, value in (overrides or {}).items():
        thresholds[label] = value
    return HeadPolicy(thresholds=thresholds, floor=floor, target_precision=target_precision)
