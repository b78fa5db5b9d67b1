"""Operating points: when a prediction is acted on automatically, suggested, or sent to a human.

Each class of each head has a precision curve measured on out-of-fold predictions of the
training data (never the test split): for every confidence level, the precision of the
predictions of that class at or above it. For a target precision the class threshold is the
lowest confidence whose precision still meets the target. Then per prediction:

- ``auto``: confidence at or above the class threshold: act on it;
- ``suggest``: below the threshold but at or above the floor: show it to staff as a suggestion;
- ``review``: below the floor, or a class without a usable threshold below the floor:
  the model abstains and the ticket goes to a human at L1 triage.

Hierarchical labels (``hardware/printer``): when a leaf misses its threshold because its
siblings share the confidence, the parent (``hardware``) is answered instead if the summed
probability of its subtree clears the parent's own threshold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

SEPARATOR = "/"


class Decision(StrEnum):
    AUTO = "auto"
    SUGGEST = "suggest"
    REVIEW = "review"


@dataclass(frozen=True)
class PrecisionCurve:
    """Confidence levels (descending) with the precision of predictions at or above each."""

    confidences: tuple[float, ...]
    precisions: tuple[float, ...]
    support: int
    excluded: str | None = None

    def threshold_for(self, target_precision: float) -> float | None:
        """Lowest confidence whose precision meets the target; None if none does."""
        if self.excluded:
            return None
        best = None
        for confidence, precision in zip(self.confidences, self.precisions, strict=True):
            if precision >= target_precision:
                best = confidence
        return best

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PrecisionCurve:
        return cls(
            confidences=tuple(float(c) for c in data["confidences"]),
            precisions=tuple(float(p) for p in data["precisions"]),
            support=int(data["support"]),
            excluded=data.get("excluded"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "confidences": list(self.confidences),
            "precisions": list(self.precisions),
            "support": self.support,
            "excluded": self.excluded,
        }


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

    def decide(
        self, label: str, confidence: float, distribution: Mapping[str, float] | None = None
    ) -> Outcome:
        threshold = self.thresholds.get(label)
        if threshold is not None and confidence >= threshold:
            return Outcome(label, confidence, threshold, Decision.AUTO)
        for parent in ancestors(label) if distribution else []:
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
    return HeadPolicy(thresholds=thresholds, floor=floor)
