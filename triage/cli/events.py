"""``triage events``: a helpdesk's history of tickets loaded as events, for the reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from triage.cli.app import EncodingOpt, fail, parse_labels, say
from triage.core.errors import TriageError
from triage.settings import get_settings

events_app = typer.Typer(
    help="Ticket lifecycle events, which the reports are made from.", no_args_is_help=True
)

ColumnOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--column",
        help="FIELD=COLUMN, repeatable: read FIELD (ticket_id, kind, at, created_at, "
        "resolved_at, tenant, channel, category, tier, priority, group, agent, language, "
        "source, id) from COLUMN.",
    ),
]


@events_app.command("import")
def import_events(
    file: Annotated[Path, typer.Argument(help="CSV, JSON Lines, JSON or Parquet export.")],
    column: ColumnOpt = None,
    encoding: EncodingOpt = None,
) -> None:
    """Load a helpdesk export: one row per event (with a kind column), or one per ticket
    (created_at, and resolved_at once solved). Importing a file again adds nothing."""
    from triage.service.event_rows import events_from_rows
    from triage.service.events import EventRecorder
    from triage.store.database import Database
    from triage.training.data import encoding_note, read_table

    try:
        columns = parse_labels(column) or {}
    except typer.BadParameter as exc:
        raise typer.BadParameter(str(exc.message), param_hint="--column") from None
    try:
        frame = read_table(file, encoding)
        if note := encoding_note(frame, file):
            say(note)
        rows: list[dict[str, Any]] = [
            {str(k): v for k, v in row.items()}
            for row in frame.astype(object).where(frame.notna(), None).to_dict("records")
        ]
        with Database.from_settings(get_settings()) as database:
            done = EventRecorder.for_database(database).import_events(
                events_from_rows(rows, columns)
            )
    except TriageError as exc:
        raise fail(exc) from exc
    say(f"{file.name}: {done.stored} events stored, {done.duplicates} already there")
    typer.echo(
        json.dumps({"stored": done.stored, "duplicates": done.duplicates, "tickets": done.tickets})
    )
