"""What a trained head can promise: which classes it may decide automatically, and what it
lacks for the others.

Read off the same per-class precision curves and thresholds the decisions use, so the
statement in the model card, in ``GET /v1/model`` and the decisions the service makes cannot
disagree. A head with too few tickets is a normal case: it suggests, and says how many more
labelled tickets a class needs before an automatic decision can be trusted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from triage.core.decisions import PrecisionCurve, correct_predictions_needed

COLD_START = "cold start"


@dataclass(frozen=True)
class Evidence:
    """The evidence rules a head was trained under (``TrainConfig``)."""

    min_threshold_support: int  # training tickets a class needs for a precision curve at all
    cold_start_below: int  # median tickets a class below which the centroid vote answers
    mode: str  # "trained" or "cold start"
    # Thresholds on a one-sided lower confidence bound at this level (None: point estimates).
    confidence_level: float | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        level = data.get("confidence_level")
        return cls(
            int(data["min_threshold_support"]),
            int(data["cold_start_below"]),
            str(data["mode"]),
            None if level is None else float(level),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "min_threshold_support": self.min_threshold_support,
            "cold_start_below": self.cold_start_below,
            "mode": self.mode,
            "confidence_level": self.confidence_level,
        }


@dataclass(frozen=True)
class HeadPromise:
    auto_classes: tuple[str, ...]  # classes with a threshold: automatic decisions possible
    short_of_tickets: dict[str, int]  # class -> more training tickets it needs for a threshold
    short_of_precision: tuple[str, ...]  # enough tickets, but the target precision not met
    statement: str

    @property
    def auto(self) -> bool:
        return bool(self.auto_classes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "auto": self.auto,
            "auto_classes": list(self.auto_classes),
            "short_of_tickets": dict(self.short_of_tickets),
            "short_of_precision": list(self.short_of_precision),
            "statement": self.statement,
        }


def tickets_needed(evidence: Evidence, target_precision: float | None) -> int:
    """Labelled training tickets a class needs at the least before it may decide ``auto``:
    the support below which it gets no curve, and, for thresholds on a lower confidence bound,
    the correct out-of-fold predictions that bound needs to reach the target."""
    needed = evidence.min_threshold_support
    if evidence.confidence_level is not None and target_precision is not None:
        needed = max(needed, correct_predictions_needed(target_precision))
    return needed


def head_promise(
    labels: Sequence[str],
    curves: Mapping[str, PrecisionCurve],
    thresholds: Mapping[str, float | None],
    evidence: Evidence,
    target_precision: float | None,
) -> HeadPromise:
    """What a head with these classes, curves (training support) and thresholds (for
    ``target_precision``) can promise."""
    auto = tuple(label for label in labels if thresholds.get(label) is not None)
    parents = tuple(p for p, t in thresholds.items() if t is not None and p not in labels)
    needed = tickets_needed(evidence, target_precision)
    short = {
        label: needed - curves[label].support
        for label in labels
        if label not in auto and label in curves and curves[label].support < needed
    }
    unproven = tuple(label for label in labels if label not in auto and label not in short)
    parts = [_auto_part(labels, auto, parents)]
    if short:
        counts = sorted(curves[label].support for label in short)
        parts.append(
            f"{_classes(len(short))} of {len(labels)} "
            f"{'has' if len(short) == 1 else 'have'} {_span(counts)} training tickets; a class "
            f"needs at least {needed}{_why_needed(needed, evidence, target_precision)}: "
            f"{_span(sorted(short.values()))} more labelled tickets per class"
        )
    if unproven:
        bound = evidence.confidence_level
        parts.append(
            f"{_classes(len(unproven))} with enough tickets "
            f"{'does' if len(unproven) == 1 else 'do'} not reach the target precision"
            + ("" if target_precision is None else f" {target_precision:g}")
            + ("" if bound is None else f" with {bound:.0%} confidence")
            + " out of fold at any threshold ("
            + ", ".join(unproven[:5])
            + (" …" if len(unproven) > 5 else "")
            + ")"
        )
    if evidence.mode == COLD_START:
        parts.append(
            "answers come from the class-centroid vote (cold start: the median class has fewer "
            f"than {evidence.cold_start_below} training tickets)"
        )
    return HeadPromise(auto, short, unproven, "; ".join(parts) + ".")


def _why_needed(needed: int, evidence: Evidence, target: float | None) -> str:
    level = evidence.confidence_level
    if needed == evidence.min_threshold_support or target is None or level is None:
        return " before its threshold can be trusted"
    return f", all predicted right out of fold, for precision {target:g} at {level:.0%} confidence"


def _auto_part(labels: Sequence[str], auto: Sequence[str], parents: Sequence[str]) -> str:
    if not auto and not parents:
        return "No `auto` decisions, only suggestions (and reviews below the floor)"
    if len(auto) == len(labels):
        return "`auto` decisions possible for every class above its threshold"
    named = [*auto, *(f"{p} (parent)" for p in parents)]
    return (
        f"`auto` decisions possible for {len(named)} of {len(labels)} classes "
        f"({', '.join(named[:5])}{' …' if len(named) > 5 else ''}); the others are only suggested"
    )


def _span(values: Sequence[int]) -> str:
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low} to {high}"


def _classes(n: int) -> str:
    return f"{n} class" if n == 1 else f"{n} classes"
