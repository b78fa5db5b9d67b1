"""Latency percentiles, one definition for every benchmark: the nearest rank."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence


def timed(call: Callable[[], object], repeat: int) -> list[float]:
    """Wall seconds of each of ``repeat`` calls in a row."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def percentile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0 < q <= 1) of values sorted in ascending order:
    the smallest value with at least ``q`` of all values at or below it."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def percentiles(values: Sequence[float], digits: int = 1) -> dict[str, float]:
    """p50, p90, p99, max and mean of ``values`` in their own unit (empty: all zero)."""
    if not values:
        return {"p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0, "mean": 0.0}
    ordered = sorted(values)
    return {
        "p50": round(percentile(ordered, 0.50), digits),
        "p90": round(percentile(ordered, 0.90), digits),
        "p99": round(percentile(ordered, 0.99), digits),
        "max": round(ordered[-1], digits),
        "mean": round(sum(ordered) / len(ordered), digits),
    }
