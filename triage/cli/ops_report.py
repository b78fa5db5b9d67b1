"""``triage ops-report``: the leadership report, one self-contained HTML file.

Its own command rather than ``triage report ops``: ``triage report MODEL`` takes a model
version as its argument, so ``ops`` there would name a model (and a model may be called so).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from triage.cli.app import fail, say
from triage.core.errors import TriageError
from triage.settings import get_settings

_PERIOD = re.compile(r"^\s*(\d+)\s*([dw])\s*$")


def period_days(value: str) -> int:
    """``30d`` or ``4w`` as a number of days (1 to 366)."""
    found = _PERIOD.match(value.lower())
    days = int(found.group(1)) * (7 if found.group(2) == "w" else 1) if found else 0
    if not 1 <= days <= 366:
        raise typer.BadParameter(
            f"{value!r}: give days or weeks, e.g. 7d, 30d or 4w (at most a year)",
            param_hint="--since",
        )
    return days


def ops_report(
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path(
        "ops.html"
    ),
    since: Annotated[
        str, typer.Option(help="The period, ending at --until: days or weeks (7d, 30d, 4w).")
    ] = "7d",
    until: Annotated[
        datetime | None,
        typer.Option(help="The end of the period (UTC; default: now).", formats=["%Y-%m-%d"]),
    ] = None,
    lang: Annotated[str, typer.Option(help="en (English) or id (Bahasa Indonesia).")] = "en",
) -> None:
    """The reports of a period, charted, with what changed since the period before it, as one
    HTML file that needs nothing else (no script, no network)."""
    from triage.api.staff.ops_page import render_ops_report
    from triage.service.ops_summary import ops_report as build
    from triage.service.reports import ReportService
    from triage.store.database import Database
    from triage.store.schema import utcnow

    days = period_days(since)
    if lang not in ("en", "id"):
        raise typer.BadParameter(f"{lang!r}: en or id", param_hint="--lang")
    end = until.replace(tzinfo=UTC) if until is not None else utcnow()
    try:
        with Database.from_settings(get_settings()) as database:
            report = build(ReportService(database), days=days, until=end)
    except TriageError as exc:
        raise fail(exc) from exc
    output.write_text(render_ops_report(report, lang=lang, generated=utcnow()), encoding="utf-8")
    say(f"wrote {output} ({days} days to {end:%Y-%m-%d %H:%M} UTC, {lang})")
