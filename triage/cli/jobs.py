"""``triage jobs``: backlogs classified offline, in batches, one process or on Ray."""

from __future__ import annotations

from typing import Annotated

import typer

from triage.cli.app import fail, model_path
from triage.core.errors import TriageError
from triage.settings import get_settings

jobs_app = typer.Typer(help="Backlogs classified offline, in batches, here or on Ray.")


@jobs_app.command("classify")
def jobs_classify(
    source: Annotated[
        str,
        typer.Argument(
            metavar="INPUT",
            help="CSV, JSON Lines or Parquet with id, subject and/or body: a path or a URI "
            "pyarrow opens (s3://, gs://, hdfs://).",
        ),
    ],
    output: Annotated[
        str, typer.Argument(metavar="OUTPUT", help="The Parquet file to write (path or URI).")
    ],
    engine: Annotated[
        str, typer.Option(help="local (one process) or ray (pip install 'triage[scale]').")
    ] = "local",
    address: Annotated[
        str | None, typer.Option(help="--engine ray: the cluster to join (auto, ray://HOST:10001).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="--engine ray: actors (default: one per CPU).")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model version or path (default: the served one).")
    ] = None,
) -> None:
    """Classify every ticket of INPUT; write OUTPUT as Parquet: id, model_version, and per head
    its answer, confidence and decision (error: why a row was not classified)."""
    from triage.core.registry import served_model_dir
    from triage.scale.classify_job import classify_backlog
    from triage.scale.ray_engine import ENGINES

    if engine not in ENGINES:
        raise typer.BadParameter(f"one of {', '.join(ENGINES)}", param_hint="--engine")
    settings = get_settings()
    try:
        model_dir = (
            model_path(model)
            if model
            else served_model_dir(settings.models_dir, settings.model_version)
        )
        report = classify_backlog(
            source,
            output,
            model_dir,
            settings,
            engine=engine,  # checked against ENGINES above
            address=address,
            workers=workers,
        )
    except TriageError as exc:
        raise fail(exc) from exc
    typer.echo(
        f"{report.tickets} tickets classified by {report.model_version} "
        f"({', '.join(report.heads)}; engine {report.engine}) into {report.output}"
        + (f"; {report.failed} with an error instead" if report.failed else "")
    )
