"""``triage keys``: API keys."""

from __future__ import annotations

from typing import Annotated

import typer

keys_app = typer.Typer(help="API keys.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who the key is for, e.g. zammad.")],
    scope: Annotated[
        list[str] | None,
        typer.Option(help="classify (default), feedback, reports or admin; repeatable."),
    ] = None,
    tenant: Annotated[
        list[str] | None,
        typer.Option(help="Bind the key to this tenant (repeatable); default: every tenant."),
    ] = None,
    rate_per_minute: Annotated[
        int | None, typer.Option(min=1, help="Requests a minute at most, per process.")
    ] = None,
    max_job_tickets: Annotated[
        int | None, typer.Option(min=1, help="Tickets in one job at most.")
    ] = None,
) -> None:
    """Make a new API key: prints the key once, and the hashed entry for TRIAGE_API_KEYS."""
    from triage.core.auth import ApiKey, Scope, hash_key, new_key

    try:
        scopes = {Scope(s) for s in scope or ["classify"]}
    except ValueError as exc:
        raise typer.BadParameter(
            "use classify, feedback, reports or admin", param_hint="--scope"
        ) from exc
    key = new_key()
    entry = ApiKey(
        name=name,
        sha256=hash_key(key),
        scopes=scopes,
        tenants=tenant or None,
        rate_per_minute=rate_per_minute,
        max_job_tickets=max_job_tickets,
    )
    typer.echo(f"key (shown once, store it in the client): {key}")
    typer.echo("add to TRIAGE_API_KEYS (a JSON list):")
    typer.echo(entry.model_dump_json(exclude_none=True))
