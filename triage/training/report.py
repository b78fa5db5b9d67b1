"""One self-contained evaluation report (HTML or Markdown) of a saved model artifact."""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triage.core.artifacts import read_manifest, read_metrics

Table = tuple[list[str], list[list[str]]]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _sections(path: Path) -> tuple[str, list[tuple[str, list[Table | Path | str]]]]:
    manifest = read_manifest(path)  # verifies every checksum first
    metrics = read_metrics(path, manifest)
    title = f"triage model {manifest['version']}"
    sections: list[tuple[str, list[Table | Path | str]]] = [
        ("Overview", [_overview(manifest, metrics)])
    ]
    for head, report in metrics["heads"].items():
        sections.append((f"Head: {head}", _head_items(path, head, report)))
    return title, sections


def _overview(manifest: dict[str, Any], metrics: dict[str, Any]) -> Table:
    split = metrics["split"]
    data, embedder, timing = manifest["training_data"], manifest["embedder"], metrics["timing"]
    return (
        ["", ""],
        [
            ["created", str(manifest.get("created_at"))],
            ["embedder", f"{embedder.get('name')} ({embedder.get('dim')} dimensions)"],
            [
                "training data",
                f"{data['file']} ({data['rows_used']} rows, sha256 {data['sha256'][:12]}…)",
            ],
            [
                "evaluated on",
                f"{split.get('n_evaluated', split['n_test'])} tickets ({split['method']})",
            ],
            [
                "training time",
                f"{timing['total_seconds']} s (embedding {timing['embed_seconds']} s)",
            ],
        ],
    )


def _head_items(path: Path, head: str, report: dict[str, Any]) -> list[Table | Path | str]:
    points = report["operating_points"]
    decisions: Table = (
        ["decision", "share", "precision"],
        [[name, _pct(d["share"]), _pct(d["precision"])] for name, d in points["test"].items()],
    )
    per_class: Table = (
        ["class", "precision", "recall", "F1", "support", "auto threshold"],
        [
            [
                label,
                _num(c["precision"]),
                _num(c["recall"]),
                _num(c["f1"]),
                str(c["support"]),
                _num(points["thresholds"].get(label)),
            ]
            for label, c in report["per_class"].items()
        ],
    )
    items: list[Table | Path | str] = [
        _head_summary(head, report),
        f"Decisions at target precision {points['target_precision']:.2f} "
        f"(suggest floor {points['suggest_floor']:.2f}):",
        decisions,
        per_class,
    ]
    for column, groups in report.get("slices", {}).items():
        items.append(f"By {column}:")
        items.append(
            (
                [column, "n", "accuracy", "macro-F1"],
                [
                    [v, str(g["n"]), _pct(g["accuracy"]), _num(g["macro_f1"])]
                    for v, g in groups.items()
                ],
            )
        )
    for kind in ("reliability", "precision-coverage", "confusion"):
        figure = path / "report" / f"{head}-{kind}.png"
        if figure.is_file():
            items.append(figure)
    return items


def _head_summary(head: str, report: dict[str, Any]) -> Table:
    base = report["baselines"]
    return (
        ["metric", head, "TF-IDF + LR", "majority"],
        [
            [
                "accuracy",
                _pct(report["accuracy"]),
                _pct(base["tfidf_logreg"]["accuracy"]),
                _pct(base["majority"]["accuracy"]),
            ],
            [
                "macro-F1",
                _num(report["macro_f1"]),
                _num(base["tfidf_logreg"]["macro_f1"]),
                _num(base["majority"]["macro_f1"]),
            ],
            ["weighted F1", _num(report["weighted_f1"]), "", ""],
            ["ECE", _num(report["calibration"]["ece"]), "", ""],
            ["Brier", _num(report["calibration"]["brier"]), "", ""],
            ["log loss", _num(report["calibration"]["log_loss"]), "", ""],
        ],
    )


def _data_uri(figure: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(figure.read_bytes()).decode()


def _markdown_table(table: Table) -> str:
    header, rows = table
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _html_table(table: Table) -> str:
    header, rows = table
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


@dataclass(frozen=True)
class _Format:
    heading: Callable[[int, str], str]
    image: Callable[[Path], str]
    text: Callable[[str], str]
    table: Callable[[Table], str]
    join: str


_MARKDOWN = _Format(
    heading=lambda level, text: f"{'#' * level} {text}",
    image=lambda figure: f"![{figure.stem}]({_data_uri(figure)})",
    text=lambda text: text,
    table=_markdown_table,
    join="\n\n",
)
_HTML = _Format(
    heading=lambda level, text: f"<h{level}>{html.escape(text)}</h{level}>",
    image=lambda figure: f'<img alt="{html.escape(figure.stem)}" src="{_data_uri(figure)}">',
    text=lambda text: f"<p>{html.escape(text)}</p>",
    table=_html_table,
    join="",
)
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ccc;"
    "padding:.2rem .6rem;text-align:left}img{max-width:100%;margin:.5rem 1rem .5rem 0}"
)


def render_report(path: Path, *, fmt: str = "html") -> str:
    """The artifact's evaluation as one file; figures are embedded, nothing is linked."""
    if fmt not in {"html", "markdown"}:
        raise ValueError(f"unknown report format {fmt!r}: use html or markdown")
    style = _HTML if fmt == "html" else _MARKDOWN
    title, sections = _sections(path)
    parts = [style.heading(1, title)]
    for name, items in sections:
        parts.append(style.heading(2, name))
        for item in items:
            if isinstance(item, Path):
                parts.append(style.image(item))
            elif isinstance(item, str):
                parts.append(style.text(item))
            else:
                parts.append(style.table(item))
    body = style.join.join(parts)
    if fmt == "markdown":
        return body + "\n"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title><style>{_STYLE}</style></head><body>{body}</body></html>\n"
    )
