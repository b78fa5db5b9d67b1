"""Resolved tickets from a ticket file (CSV, JSON Lines, JSON or Parquet), for ``triage index
build``: which rows count as solved, each field from its column, and storing them.

It reads files with pandas (the training data loader), so it lives with the offline work,
which nothing serving imports; the records are built and stored by
:mod:`triage.service.ingestion`, as those the API receives.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from triage.service.ingestion import (
    IndexReport,
    Progress,
    index_resolved,
    resolved_record,
    serving_embedder,
)
from triage.settings import Settings
from triage.store.records import TicketRecord
from triage.store.schema import utcnow
from triage.training.data import encoding_note, read_table
from triage.training.resolved_columns import ResolvedColumns


@dataclass(frozen=True)
class ResolvedRows:
    """A file's solved tickets as records, and how many rows were left out as not solved."""

    records: list[TicketRecord]
    skipped: int
    notes: tuple[str, ...] = ()  # what was assumed about the file, for the person running it


def resolved_rows(frame: pd.DataFrame, columns: ResolvedColumns, *, source: object) -> ResolvedRows:
    """The solved rows of ``frame`` as records; ``source`` names the file in errors
    (ValueError: no id column, or neither a subject nor a body column)."""
    mapping = columns.fields
    if mapping["id"] not in frame.columns:
        raise ValueError(
            f"{source} has no {mapping['id']!r} column; name the id column with "
            "--column id=COLUMN (ids make re-runs idempotent)"
        )
    if mapping["subject"] not in frame.columns and mapping["body"] not in frame.columns:
        raise ValueError(f"{source} has neither a subject nor a body column")
    skipped = 0
    if columns.status in frame.columns and not columns.all_resolved:
        solved = {value.lower() for value in columns.solved}
        keep = frame[columns.status].astype(str).str.strip().str.lower().isin(solved)
        skipped = int((~keep).sum())
        frame = frame[keep]
    frame = frame.astype(object).where(pd.notna(frame), None)
    now = utcnow()
    records = [_record(row, mapping, now) for row in frame.to_dict("records")]
    return ResolvedRows(records, skipped, _assumptions(frame, columns, source))


def _assumptions(frame: pd.DataFrame, columns: ResolvedColumns, source: object) -> tuple[str, ...]:
    """What a file without a status or a resolution column is taken to mean."""
    notes = []
    if columns.status not in frame.columns and not columns.all_resolved:
        notes.append(
            f"{source} has no {columns.status!r} column: every row is taken as a resolved "
            "ticket (--all-resolved says so and silences this; --status-column names another "
            "column)"
        )
    if columns.fields["resolution"] not in frame.columns:
        notes.append(
            f"{source} has no {columns.fields['resolution']!r} column: similar tickets will "
            "show no resolution (--column resolution=COLUMN names it)"
        )
    return tuple(notes)


def _record(row: Mapping[Hashable, Any], mapping: Mapping[str, str], now: datetime) -> TicketRecord:
    def value(name: str) -> str | None:
        raw = row.get(mapping[name])
        return None if raw is None or str(raw).strip() == "" else str(raw)

    resolved = value("resolved_at")
    return resolved_record(
        str(value("id")),
        now=now,
        subject=value("subject"),
        body=value("body"),
        resolution=value("resolution"),
        category=value("category"),
        tier=value("tier"),
        # A time without a zone in a file is UTC.
        resolved_at=pd.Timestamp(resolved, tz="UTC").to_pydatetime() if resolved else None,
        tenant=value("tenant"),
        visibility=value("visibility"),
    )


@dataclass(frozen=True)
class FileIndexReport:
    """What ``index_resolved_file`` stored, and how many rows it skipped as not solved."""

    stored: IndexReport
    skipped: int


def index_resolved_file(
    path: Path,
    columns: ResolvedColumns,
    settings: Settings,
    *,
    model_dir: Path | None = None,
    reembed: bool = False,
    progress: Progress | None = None,
    say: Callable[[str], object] = lambda _m: None,
    encoding: str | None = None,
) -> FileIndexReport:
    """Add (or update) the solved tickets of a file; running it again changes nothing.

    They are embedded by the body of the model in ``model_dir`` (default: the active, else
    the newest model). ``reembed``: the store was built with another embedder, embed every
    stored ticket again.
    """
    embedder = serving_embedder(settings, model_dir)
    frame = read_table(path, encoding)
    if note := encoding_note(frame, path):
        say(note)
    rows = resolved_rows(frame, columns, source=path)
    for note in rows.notes:
        say(note)
    stored = index_resolved(rows.records, embedder, settings, reembed=reembed, progress=progress)
    return FileIndexReport(stored, rows.skipped)
