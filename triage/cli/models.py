"""Commands on a saved model: ``evaluate``, ``predict``, ``report`` and ``export-onnx``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from triage.cli.app import (
    DataOpt,
    EncodingOpt,
    LabelOpt,
    ModelArg,
    TextColumnsOpt,
    fail,
    model_path,
    parse_columns,
    parse_labels,
    say,
)
from triage.core.errors import TriageError
from triage.settings import get_settings


def evaluate(
    model: ModelArg,
    data: DataOpt,
    text_columns: TextColumnsOpt = None,
    label: LabelOpt = None,
    encoding: EncodingOpt = None,
    output: Annotated[Path | None, typer.Option(help="Also write the full report as JSON.")] = None,
) -> None:
    """Evaluate a saved model on a labelled ticket file (every row is used)."""
    from triage.core.artifacts import load_model
    from triage.service import policies_from_settings
    from triage.training.evaluate_model import UnknownHeadError, evaluate_file

    settings = get_settings()
    try:
        loaded = load_model(
            model_path(model), embedder_path=settings.embedder_path, threads=settings.threads
        )
        report = evaluate_file(
            loaded,
            data,
            policies_from_settings(loaded, settings),
            text_columns=parse_columns(text_columns),
            labels=parse_labels(label),
            encoding=encoding,
            say=say,
        )
    except UnknownHeadError as exc:
        raise typer.BadParameter(str(exc), param_hint="--label") from exc
    except TriageError as exc:
        raise fail(exc) from exc
    for head, result in report.items():
        auto = result["decisions"]["auto"]
        # Nothing decided automatically has no precision: "n/a", never 0.
        precision = "n/a" if auto["precision"] is None else f"{auto['precision']:.4f}"
        typer.echo(
            f"{head}: accuracy {result['accuracy']:.4f}  macro-F1 {result['macro_f1']:.4f}  "
            f"ECE {result['calibration']['ece']:.4f}  auto {auto['share']:.1%} at precision "
            f"{precision}  (n={result['n']})"
        )
        if unseen := result.get("unseen_labels"):
            typer.echo(f"  {_unseen_note(unseen)}")
    if output:
        output.write_text(json.dumps({"model": loaded.version, "heads": report}, indent=2))


def _unseen_note(unseen: dict[str, int]) -> str:
    listed = ", ".join(f"{label!r} ({count})" for label, count in unseen.items())
    return (
        f"{sum(unseen.values())} ticket(s) carry labels the model never saw: {listed}; "
        "counted as errors in accuracy and macro-F1, left out of the log loss"
    )


def activate(
    version: Annotated[str, typer.Argument(help="A saved version's name (see GET /v1/models).")],
) -> None:
    """Serve a saved version: verified first, then named in models/ACTIVE, which restarts and
    running services (within TRIAGE_MODEL_WATCH_SECONDS) follow."""
    from triage.core.artifacts import load_model, resolve_model_dir
    from triage.core.registry import active_version, set_active

    settings = get_settings()
    before = active_version(settings.models_dir)
    try:
        path = resolve_model_dir(settings.models_dir, version)
        load_model(path, embedder_path=settings.embedder_path, threads=settings.threads)
        set_active(settings.models_dir, version)
    except TriageError as exc:
        raise fail(exc) from exc
    say(f"{version} is now active (was {before or 'none'})")
    if settings.model_version and settings.model_version != version:
        say(f"note: TRIAGE_MODEL_VERSION pins {settings.model_version} where it is set")


def predict(
    model: ModelArg,
    text: Annotated[str, typer.Argument(help="Ticket text ('-' reads standard input).")],
    subject: Annotated[str | None, typer.Option(help="Subject line, if separate.")] = None,
) -> None:
    """Classify one ticket and print the result as JSON, as POST /v1/classify answers."""
    from triage.core.artifacts import load_model
    from triage.service import Ticket, TriageService, classification_dict, policies_from_settings

    settings = get_settings()
    body = sys.stdin.read() if text == "-" else text
    try:
        loaded = load_model(
            model_path(model), embedder_path=settings.embedder_path, threads=settings.threads
        )
        service = TriageService(
            loaded,
            policies=policies_from_settings(loaded, settings),
            max_text_chars=settings.max_text_chars,
        )
        result = service.classify(Ticket(subject=subject, body=body))
    except TriageError as exc:
        raise fail(exc) from exc
    printed = classification_dict(result)
    typer.echo(json.dumps(printed, indent=2, ensure_ascii=False))


def report(
    model: ModelArg,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="html or markdown, figures embedded (default: from the --output extension, "
            ".md or .markdown for markdown; else html).",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Write here (default: standard output).")
    ] = None,
) -> None:
    """Render a model's evaluation as one self-contained HTML or Markdown file."""
    from triage.training.report import render_report

    if fmt is None:
        markdown = output is not None and output.suffix.lower() in {".md", ".markdown"}
        fmt = "markdown" if markdown else "html"
    if fmt not in {"html", "markdown"}:
        raise typer.BadParameter("use html or markdown", param_hint="--format")
    try:
        text = render_report(model_path(model), fmt=fmt)
    except TriageError as exc:
        raise fail(exc) from exc
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        say(f"wrote {output}")


PrecisionOpt = Annotated[
    str,
    typer.Option(
        help="auto: int8 if its vectors keep a mean cosine >= 0.99 to fp32, else fp32; "
        "int8 (fail instead of falling back); fp32."
    ),
]
SampleDataOpt = Annotated[
    Path | None,
    typer.Option(
        help="Ticket file whose texts check the export (default: built-in sample tickets)."
    ),
]
ReplaceOpt = Annotated[bool, typer.Option(help="Replace the ONNX body the model already has.")]


def export_onnx(
    model: ModelArg,
    precision: PrecisionOpt = "auto",
    sample_data: SampleDataOpt = None,
    replace: ReplaceOpt = False,
) -> None:
    """Add the embedding body to a saved model as int8 ONNX, so it is served without torch."""
    from triage.training.export_onnx import Precision
    from triage.training.onnx_body import OnnxBodyExistsError, SampleDataError, add_onnx_body

    precisions: dict[str, Precision] = {"auto": "auto", "int8": "int8", "fp32": "fp32"}
    if precision not in precisions:
        raise typer.BadParameter("use auto, int8 or fp32", param_hint="--precision")
    settings = get_settings()
    try:
        path = model_path(model)
        spec = add_onnx_body(
            path,
            precision=precisions[precision],
            sample_data=sample_data,
            replace=replace,
            embedder_path=settings.embedder_path,
            threads=settings.threads,
            say=say,
        )
    except OnnxBodyExistsError as exc:
        say(f"{exc}; --replace replaces it")
        raise typer.Exit(code=1) from exc
    except SampleDataError as exc:
        raise typer.BadParameter(str(exc), param_hint="--sample-data") from exc
    except TriageError as exc:
        raise fail(exc) from exc
    typer.echo(json.dumps({"model": path.name, **spec["quality"]}, indent=2))
    say(f"{path}: the service now embeds with the {spec['precision']} ONNX body")
