"""A small line chart of daily precision and coverage, drawn as inline SVG by the template.

No script and no chart library: the geometry is computed here, the template draws lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from triage.service.live_quality import DayQuality

__all__ = ["Chart", "DayQuality", "Point", "Series", "line_chart"]


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: float
    day: date


@dataclass(frozen=True)
class Series:
    name: str
    segments: list[str]  # SVG polyline "points"; a day without a value breaks the line
    points: list[Point]


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    series: list[Series]
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]


def line_chart(days: Sequence[DayQuality], *, width: int = 360, height: int = 150) -> Chart:
    """Precision and coverage (0–1) per day, left to right, oldest first."""
    left, right, top, bottom = 36.0, width - 20.0, 8.0, height - 22.0
    step = (right - left) / max(1, len(days) - 1)

    def x(i: int) -> float:
        return round(left + i * step, 1)

    def y(value: float) -> float:
        return round(bottom - value * (bottom - top), 1)

    series = []
    for name in ("precision", "coverage"):
        points: list[Point] = []
        segments: list[str] = []
        current: list[str] = []
        for i, day in enumerate(days):
            value = getattr(day, name)
            if value is None:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            point = Point(x(i), y(value), value, day.day)
            points.append(point)
            current.append(f"{point.x},{point.y}")
        if current:
            segments.append(" ".join(current))
        series.append(Series(name, segments, points))
    return Chart(
        width=width,
        height=height,
        left=left,
        top=top,
        right=right,
        bottom=bottom,
        series=series,
        x_ticks=[(x(i), f"{d.day.day:02d}/{d.day.month:02d}") for i, d in enumerate(days)],
        y_ticks=[(y(v), f"{round(v * 100)}%") for v in (0.0, 0.5, 1.0)],
    )
