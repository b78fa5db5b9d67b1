"""``triage index``: the store of resolved tickets behind similar-ticket search."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from triage.cli.app import DataOpt, EncodingOpt, fail, model_path, say
from triage.core.errors import TriageError
from triage.settings import get_settings
from triage.training.resolved_columns import RESOLVED_FIELDS, ResolvedColumns

index_app = typer.Typer(help="The store of resolved tickets behind similar-ticket search.")

ModelOpt = Annotated[
    str | None,
    typer.Option(help="Embed with this model's embedder (version or path); default: served."),
]
ColumnOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--column",
        help="FIELD=COLUMN, repeatable, for files with other column names "
        f"(fields: {', '.join(RESOLVED_FIELDS)}).",
    ),
]
ReembedOpt = Annotated[
    bool,
    typer.Option(help="The store was built with another embedder: embed every ticket again."),
]
StatusColumnOpt = Annotated[
    str, typer.Option(help="If the file has this column, keep only resolved rows.")
]
ResolvedStatusOpt = Annotated[
    list[str] | None,
    typer.Option(
        help="Values of the status column that mean solved (repeatable).", show_default=False
    ),
]

EngineOpt = Annotated[
    str | None,
    typer.Option(
        help="local or ray: embed in batches and bulk-load (COPY into pgvector), resumable: "
        "a killed run continues where it stopped (ray: pip install 'triage[scale]'). "
        "Without it: the one-process path.",
        show_default=False,
    ),
]
AddressOpt = Annotated[
    str | None,
    typer.Option(
        help="--engine ray: the cluster to join (auto, ray://HOST:10001); default: "
        "a Ray started on this machine."
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(min=1, help="--engine ray: embedding actors (default: one per CPU)."),
]

AllResolvedOpt = Annotated[
    bool,
    typer.Option(
        "--all-resolved",
        help="Every row is a resolved ticket, whatever its status column says (without a "
        "status column this is assumed, and said).",
    ),
]


@contextmanager
def _bar(description: str, total: int | None) -> Iterator[Callable[[int], object]]:
    from tqdm import tqdm

    with tqdm(total=total, desc=description, unit="ticket") as bar:
        yield bar.update


@index_app.command("build")
def index_build(
    data: DataOpt,
    model: ModelOpt = None,
    column: ColumnOpt = None,
    reembed: ReembedOpt = False,
    status_column: StatusColumnOpt = "status",
    resolved_status: ResolvedStatusOpt = None,
    all_resolved: AllResolvedOpt = False,
    encoding: EncodingOpt = None,
    engine: EngineOpt = None,
    address: AddressOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Add (or update) resolved tickets from a file; running it again changes nothing.

    Rows whose status column says the ticket is not solved (default: anything but
    resolved, closed, solved, done) are skipped; a file without one is taken as all
    resolved, and the command says so (--all-resolved: on purpose).
    """
    from triage.training.resolved_file import index_resolved_file

    try:
        columns = ResolvedColumns.parse(
            column or [], status=status_column, solved=resolved_status, all_resolved=all_resolved
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    settings = get_settings()
    if engine is not None:
        _scale_build(data, columns, model, reembed, encoding, engine, address, workers)
        return
    try:
        report = index_resolved_file(
            data,
            columns,
            settings,
            model_dir=model_path(model) if model else None,
            reembed=reembed,
            progress=_bar,
            say=say,
            encoding=encoding,
        )
    except TriageError as exc:
        raise fail(exc) from exc
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    stored = report.stored
    typer.echo(
        f"{stored.stored} tickets in {stored.database} ({stored.backend}): "
        f"{stored.embedded} embedded, {stored.unchanged} unchanged; "
        f"{report.skipped} rows skipped as not resolved"
    )


def _scale_build(
    data: Path,
    columns: ResolvedColumns,
    model: str | None,
    reembed: bool,
    encoding: str | None,
    engine: str,
    address: str | None,
    workers: int | None,
) -> None:
    """``--engine local|ray``: :mod:`triage.scale.index_build`."""
    from triage.core.registry import served_model_dir
    from triage.scale.bodies import BodySpec
    from triage.scale.index_build import build_index, resolved_file_records
    from triage.scale.ray_engine import ENGINES

    if engine not in ENGINES:
        raise typer.BadParameter(f"one of {', '.join(ENGINES)}", param_hint="--engine")
    if reembed:
        raise typer.BadParameter(
            "--reembed embeds the stored tickets again, one process: run it without --engine",
            param_hint="--reembed",
        )
    settings = get_settings()
    try:
        records, skipped = resolved_file_records(data, columns, settings, encoding, say)
        body = BodySpec(
            model_dir=model_path(model) if model else served_model_dir(settings.models_dir),
            embedder_path=settings.embedder_path,
        )
        with _bar("indexing", len(records)) as done:
            report = build_index(
                records,
                body,
                settings,
                engine=engine,  # checked against ENGINES above
                address=address,
                workers=workers,
                after_chunk=lambda _n, size: done(size),
            )
    except TriageError as exc:
        raise fail(exc) from exc
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(
        f"{report.tickets} tickets in {report.database} ({report.backend}, {report.method}, "
        f"engine {report.engine}): {report.embedded} embedded in {report.chunks} chunk(s), "
        f"{report.already_stored} already stored; {skipped} rows skipped as not resolved"
    )
