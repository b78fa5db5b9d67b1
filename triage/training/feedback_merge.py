"""Training rows with staff feedback applied: the label staff chose wins over the file's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import pandas as pd

from triage.core.errors import DataValidationError
from triage.settings import Settings
from triage.store.database import Database
from triage.store.feedback import Feedback, FeedbackStore

_SHOWN = 5


@dataclass(frozen=True)
class StoredFeedback:
    """The latest staff answer per ticket and head, and the database they were read from."""

    answers: list[Feedback]
    source: str  # the database, described without its password


def read_feedback(settings: Settings) -> StoredFeedback:
    """Staff feedback from the configured database (migrated first, as the service does)."""
    with Database.from_settings(settings) as database:
        return StoredFeedback(FeedbackStore(database).latest(), database.describe())


@dataclass(frozen=True)
class FeedbackMerge:
    """What merging feedback into a training frame did, in counts."""

    data_rows: int  # rows read from the file
    duplicate_rows: int  # rows dropped because a later row has the same ticket id
    feedback: int  # feedback labels considered: the latest per ticket and head
    applied: int  # of those, on a ticket of the file and a head being trained
    overridden: int  # of the applied, those that changed the file's label
    skipped_unknown_ticket: int  # labels on tickets absent from the file (no text to train on)
    skipped_unknown_head: int  # labels on heads this training does not learn
    skipped_tickets: tuple[str, ...]  # those tickets' ids, sorted
    skipped_heads: tuple[str, ...]

    def lines(self, data_name: str) -> list[str]:
        """The report, one line per fact worth saying."""
        lines = [
            f"{self.data_rows} rows from {data_name}"
            + (
                f", {self.duplicate_rows} dropped as repeats of a later row's id"
                if self.duplicate_rows
                else ""
            )
            + f"; {self.feedback} feedback label(s): {self.applied} applied, "
            f"{self.overridden} of them overriding the file's label"
        ]
        if self.skipped_unknown_ticket:
            ids = ", ".join(self.skipped_tickets[:_SHOWN])
            more = len(self.skipped_tickets) - _SHOWN
            lines.append(
                f"skipped {self.skipped_unknown_ticket} feedback label(s) on "
                f"{len(self.skipped_tickets)} ticket(s) not in {data_name} ({ids}"
                f"{f' and {more} more' if more > 0 else ''}): the feedback store keeps the label "
                "staff chose, not the ticket's text; add those tickets to the file to train on them"
            )
        if self.skipped_unknown_head:
            lines.append(
                f"skipped {self.skipped_unknown_head} feedback label(s) on head(s) not being "
                f"trained: {', '.join(self.skipped_heads)}"
            )
        return lines

    def to_dict(self) -> dict[str, object]:
        record = asdict(self)
        record["skipped_tickets"] = list(self.skipped_tickets)
        record["skipped_heads"] = list(self.skipped_heads)
        return record


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def merge_feedback(
    frame: pd.DataFrame,
    feedback: Sequence[Feedback],
    *,
    label_columns: Mapping[str, str],
    id_column: str = "id",
) -> tuple[pd.DataFrame, FeedbackMerge]:
    """``frame`` with one row per ticket id and the feedback labels written over its own.

    Of rows sharing an id the last one is kept (a later export row is the newer one); rows
    without an id are kept as they are. ``feedback`` is in the order it was given: of several
    answers on the same ticket and head the last wins. Feedback on a ticket absent from
    ``frame`` is skipped and counted, since there is no text to learn it from.
    """
    if id_column not in frame.columns:
        raise DataValidationError(
            f"merging feedback needs ticket ids: the file has no {id_column!r} column"
        )
    ids = frame[id_column].map(_cell)
    repeated = ids.duplicated(keep="last") & (ids != "")
    merged = frame.loc[~repeated].reset_index(drop=True)
    ids = ids[~repeated].reset_index(drop=True)
    row_of = {ticket: row for row, ticket in ids.items() if ticket}

    latest = {(item.ticket_id.strip(), item.head): item.final for item in feedback}
    applied = overridden = 0
    unknown_tickets: dict[str, int] = {}
    unknown_heads: dict[str, int] = {}
    for column in {label_columns[head] for _, head in latest if head in label_columns}:
        # Labels may be read as numbers (JSON); feedback labels are text.
        merged[column] = merged[column].astype(object)
    for (ticket, head), final in latest.items():
        if head not in label_columns:
            unknown_heads[head] = unknown_heads.get(head, 0) + 1
        elif ticket not in row_of:
            unknown_tickets[ticket] = unknown_tickets.get(ticket, 0) + 1
        else:
            column, row = label_columns[head], row_of[ticket]
            applied += 1
            if _cell(merged.at[row, column]) != final.strip():
                overridden += 1
                merged.at[row, column] = final.strip()
    report = FeedbackMerge(
        data_rows=len(frame),
        duplicate_rows=int(repeated.sum()),
        feedback=len(latest),
        applied=applied,
        overridden=overridden,
        skipped_unknown_ticket=sum(unknown_tickets.values()),
        skipped_unknown_head=sum(unknown_heads.values()),
        skipped_tickets=tuple(sorted(unknown_tickets)),
        skipped_heads=tuple(sorted(unknown_heads)),
    )
    return merged, report
