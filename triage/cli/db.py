"""``triage db``: the database of feedback, jobs and resolved tickets."""

from __future__ import annotations

import typer

from triage.settings import get_settings

db_app = typer.Typer(
    help="The database of feedback, jobs and resolved tickets.", no_args_is_help=True
)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations (the service also does this when it starts)."""
    from triage.store.database import Database

    with Database.from_settings(get_settings()) as database:
        typer.echo(f"{database.describe()}: at revision {database.revision()}")
