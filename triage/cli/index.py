"""``triage index``: the store of resolved tickets behind similar-ticket search."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
