"""The champion/challenger gate: a new model replaces the served one only if no head got worse.

A head both models have passes if the challenger's macro-F1 is at least the champion's minus
the tolerance (the boundary passes). A head only the champion has fails: promoting would stop
the service answering it. A head only the challenger has passes, with nothing to compare.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Scores are rounded to 4 decimals: a difference equal to the tolerance must not fail on the
# last bit of a float.
_EPSILON = 1e-9


@dataclass(frozen=True)
class HeadComparison:
    """Held-out macro-F1 of one head in both models, and whether it passes."""

    head: str
    champion: float | None
    challenger: float | None
    passed: bool
    note: str

    @property
    def delta(self) -> float | None:
        if self.champion is None or self.challenger is None:
            return None
        return round(self.challenger - self.champion, 4)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    heads: tuple[HeadComparison, ...]
    reason: str


def judge(
    champion: Mapping[str, float | None], challenger: Mapping[str, float], *, tolerance: float
) -> Verdict:
    """Compare the two models' held-out macro-F1 per head (None: a head not scored)."""
    heads = []
    for head in [*champion, *(h for h in challenger if h not in champion)]:
        old, new = champion.get(head), challenger.get(head)
        if head not in challenger:
            heads.append(HeadComparison(head, old, None, False, "the challenger has no such head"))
        elif head not in champion or old is None:
            heads.append(HeadComparison(head, None, new, True, "new head: nothing to compare"))
        elif new is not None and new >= old - tolerance - _EPSILON:
            heads.append(HeadComparison(head, old, new, True, "ok"))
        else:
            heads.append(HeadComparison(head, old, new, False, f"worse by more than {tolerance:g}"))
    failed = [h for h in heads if not h.passed]
    if not failed:
        reason = f"macro-F1 no worse than the champion's minus {tolerance:g} on every head"
    else:
        reason = "; ".join(_failure(h, tolerance) for h in failed)
    return Verdict(passed=not failed, heads=tuple(heads), reason=reason)


def _failure(head: HeadComparison, tolerance: float) -> str:
    if head.challenger is None:
        return f"{head.head}: the challenger has no {head.head} head (the service answers it now)"
    assert head.champion is not None
    return (
        f"{head.head}: macro-F1 {head.challenger:.4f} is {head.champion - head.challenger:.4f} "
        f"below the champion's {head.champion:.4f} (tolerance {tolerance:g})"
    )


def render_table(heads: tuple[HeadComparison, ...]) -> str:
    """The comparison as a plain-text table, one head per line."""

    def cell(value: float | None, signed: bool = False) -> str:
        if value is None:
            return "—"
        return f"{value:+.4f}" if signed else f"{value:.4f}"

    width = max([4, *(len(h.head) for h in heads)])
    lines = [f"{'head':<{width}}  {'champion':>9}  {'challenger':>10}  {'delta':>8}  verdict"]
    for h in heads:
        lines.append(
            f"{h.head:<{width}}  {cell(h.champion):>9}  {cell(h.challenger):>10}  "
            f"{cell(h.delta, signed=True):>8}  {h.note}"
        )
    return "\n".join(lines)
