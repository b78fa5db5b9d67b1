"""PNG figures of a training run: reliability diagram, precision–coverage, confusion matrix.

Drawn on ``matplotlib.figure.Figure`` objects, never through pyplot: no global backend is
switched, so a notebook that trains a model keeps its inline plots, and no figure is left
open in pyplot's registry.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np

_MAX_CONFUSION_LABELS = 40


def render_plots(metrics: Mapping[str, Any]) -> dict[str, bytes]:
    """Every head's figures as PNG bytes, by file name."""
    written: dict[str, bytes] = {}
    for head, report in metrics["heads"].items():
        figure, axis = _figure(4.2)
        bins = report["calibration"]["reliability"]
        axis.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect")
        axis.plot(
            [b["confidence"] for b in bins],
            [b["accuracy"] for b in bins],
            marker="o",
            label=f"{head} (ECE {report['calibration']['ece']:.3f})",
        )
        axis.set(xlabel="confidence", ylabel="accuracy", xlim=(0, 1), ylim=(0, 1))
        axis.set_title(f"Reliability: {head}")
        axis.legend(loc="upper left")
        written[f"{head}-reliability.png"] = _png(figure)

        figure, axis = _figure(4.2)
        curve = report["precision_coverage"]
        axis.plot([p["coverage"] for p in curve], [p["precision"] for p in curve])
        target = report.get("operating_points", {}).get("target_precision")
        if target:
            axis.axhline(target, linestyle="--", color="grey", linewidth=1)
        axis.set(xlabel="coverage (share answered)", ylabel="precision", xlim=(0, 1))
        axis.set_title(f"Precision vs coverage: {head}")
        written[f"{head}-precision-coverage.png"] = _png(figure)

        labels = report["confusion_matrix"]["labels"]
        if len(labels) <= _MAX_CONFUSION_LABELS:
            matrix = np.asarray(report["confusion_matrix"]["matrix"], dtype=float)
            rows = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
            size = 3 + 0.32 * len(labels)
            figure, axis = _figure(size)
            axis.imshow(rows, cmap="Blues", vmin=0, vmax=1)
            axis.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
            axis.set_yticks(range(len(labels)), labels, fontsize=7)
            axis.set(xlabel="predicted", ylabel="true")
            axis.set_title(f"Confusion (row-normalised): {head}")
            written[f"{head}-confusion.png"] = _png(figure)
    return written


def _figure(size: float) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(size, size), dpi=100)
    FigureCanvasAgg(figure)  # the figure draws to an in-memory raster: PNG files only
    return figure, figure.add_subplot()


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
