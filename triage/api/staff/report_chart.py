"""The volume report as an SVG bar chart (new and resolved per period) with the backlog as a
line, its geometry computed here: the template only draws it, no script and no library."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    period: str
    kind: str  # new, resolved


@dataclass(frozen=True)
class VolumeChart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    bars: list[Bar]
    backlog: str  # SVG polyline points
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]


def _nice_top(value: int) -> int:
    for step in (5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000):
        if value <= step * 4:
            return -(-max(value, 1) // step) * step
    return value


def volume_chart(
    rows: Sequence[dict[str, Any]], *, width: int = 720, height: int = 220
) -> VolumeChart:
    """Rows of the ungrouped volume report (period, new, resolved, backlog), oldest first."""
    left, right, top, bottom = 44.0, width - 12.0, 10.0, height - 24.0
    peak = _nice_top(max([1, *(max(r["new"], r["resolved"], r["backlog"]) for r in rows)]))
    slot = (right - left) / max(1, len(rows))
    bar = max(1.0, min(14.0, slot * 0.4))

    def y(value: float) -> float:
        return round(bottom - value / peak * (bottom - top), 1)

    bars, line = [], []
    for i, row in enumerate(rows):
        middle = left + slot * (i + 0.5)
        for offset, kind in ((-bar, "new"), (0.0, "resolved")):
            value = int(row[kind])
            bars.append(
                Bar(
                    round(middle + offset, 1),
                    y(value),
                    round(bar, 1),
                    round(bottom - y(value), 1),
                    value,
                    row["period"],
                    kind,
                )
            )
        line.append(f"{round(middle, 1)},{y(row['backlog'])}")
    every = max(1, len(rows) // 6)
    return VolumeChart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        bars=bars,
        backlog=" ".join(line),
        y_ticks=[(y(peak * k / 4), str(peak * k // 4)) for k in range(5)],
        x_ticks=[
            (round(left + slot * (i + 0.5), 1), row["period"][5:])
            for i, row in enumerate(rows)
            if i % every == 0
        ],
    )
