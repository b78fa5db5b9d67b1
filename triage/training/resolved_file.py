"""Resolved tickets from a ticket file (CSV, JSON Lines, JSON or Parquet), for ``triage index
build``: which rows count as solved, each field from its column, and storing them.

It reads files with pandas (the training data loader), so it lives with the offline work,
which nothing serving imports; the records are built and stored by
:mod:`triage.service.ingestion`, as those the API receives.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, replace
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
from triage.training.data import encoding_note, match_columns, read_table, row_numbers
from triage.training.resolved_columns import ResolvedColumns


@dataclass(frozen=True)
class ResolvedRows:
    """A file's solved tickets as records, and how many rows were left out as not solved."""

    records: list[TicketRecord]
    skipped: int
    notes: tuple[str, ...] = ()  # what was assumed about the file, for the person running it


def resolved_rows(
    frame: pd.DataFrame, columns: ResolvedColumns, *, source: object, max_chars: int | None = None
) -> ResolvedRows:
    """The solved rows of ``frame`` as records; ``source`` names the file in errors
    (ValueError: no id column, neither a subject nor a body column, or rows without text).
    Columns match whatever their case; a ticket longer than ``max_chars`` (subject and body)
    is kept by its leading part, and the notes say how many were cut."""
    mapping = columns.fields
    frame, notes = match_columns(frame, [*mapping.values(), columns.status])
    if mapping["id"] not in frame.columns:
        raise ValueError(
            f"{source} has no {mapping['id']!r} column; name the id column with "
            "--column id=COLUMN (ids make re-runs idempotent)"
        )
    if mapping["subject"] not in frame.columns and mapping["body"] not in frame.columns:
        raise ValueError(f"{source} has neither a subject nor a body column")
    frame = frame.reset_index(drop=True)
    skipped = 0
    if columns.status in frame.columns and not columns.all_resolved:
        keep, note = _solved(frame[columns.status], columns)
        skipped = int((~keep).sum())
        frame = frame[keep]
        notes.append(note)
    _check_texts(frame, mapping, source)
    frame = frame.astype(object).where(pd.notna(frame), None)
    now = utcnow()
    records = [_record(row, mapping, now) for row in frame.to_dict("records")]
    if max_chars is not None:
        records, cut = _leading_parts(records, max_chars)
        if cut:
            notes.append(
                f"{len(cut)} ticket(s) longer than {max_chars} characters (subject and body) "
                f"are indexed by their first {max_chars}: {', '.join(cut[:5])}"
                f"{' …' if len(cut) > 5 else ''}"
            )
    return ResolvedRows(records, skipped, (*notes, *_assumptions(frame, columns, source)))


def _solved(status: pd.Series, columns: ResolvedColumns) -> tuple[pd.Series, str]:
    """Which rows the status column marks as solved, and a note saying which column and
    values decided it (with the values of the rows left out)."""
    solved = {value.lower() for value in columns.solved}
    values = status.astype(str).str.strip()
    keep = values.str.lower().isin(solved)
    others = values[~keep].value_counts()
    left_out = ", ".join(f"{value} ({n})" for value, n in others.head(8).items())
    return keep, (
        f"resolved: {int(keep.sum())} row(s) whose {columns.status!r} is one of "
        f"{', '.join(sorted(solved))} (--resolved-status chooses)"
        + (
            f"; {int((~keep).sum())} left out: {left_out}{' …' if len(others) > 8 else ''}"
            if len(others)
            else ""
        )
    )


def _check_texts(frame: pd.DataFrame, mapping: Mapping[str, str], source: object) -> None:
    """Every row needs a subject or a body; the rows without are named as training does."""
    parts = [frame[mapping[f]] for f in ("subject", "body") if mapping[f] in frame.columns]
    has_text = pd.Series(False, index=frame.index)
    for part in parts:
        has_text |= part.notna() & (part.astype(str).str.strip() != "")
    empty = [int(i) for i in frame.index[~has_text]]
    if empty:
        raise ValueError(
            f"{source}: {len(empty)} row(s) have no subject or body: rows {row_numbers(empty)}"
        )


def _leading_parts(
    records: list[TicketRecord], max_chars: int
) -> tuple[list[TicketRecord], list[str]]:
    """Each record cut to ``max_chars`` of subject and body (the subject first), and the ids
    of those that were cut."""
    kept: list[TicketRecord] = []
    cut: list[str] = []
    for record in records:
        subject, body = record.subject or "", record.body or ""
        if len(subject) + len(body) <= max_chars:
            kept.append(record)
            continue
        cut.append(record.ticket_id)
        subject = subject[:max_chars]
        body = body[: max_chars - len(subject)]
        kept.append(replace(record, subject=subject or None, body=body or None))
    return kept, cut


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
    rows = resolved_rows(frame, columns, source=path, max_chars=settings.max_text_chars)
    for note in rows.notes:
        say(note)
    stored = index_resolved(rows.records, embedder, settings, reembed=reembed, progress=progress)
    return FileIndexReport(stored, rows.skipped)
