"""Resolved tickets from a ticket file: which rows are stored, and how their fields are read."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from triage.core.errors import DataValidationError
from triage.store.records import Status, Visibility
from triage.training.resolved_columns import ResolvedColumns
from triage.training.resolved_file import resolved_rows


def _frame(**columns: list[object]) -> pd.DataFrame:
    return pd.DataFrame(columns)


def test_only_solved_rows_are_kept_whatever_their_case_and_spacing() -> None:
    frame = _frame(
        id=["a", "b", "c", "d"],
        subject=["vpn", "printer", "mail", "disk"],
        status=["Resolved", " closed ", "open", "DONE"],
    )
    rows = resolved_rows(frame, ResolvedColumns(), source="tickets.csv")
    assert [r.ticket_id for r in rows.records] == ["a", "b", "d"]
    assert rows.skipped == 1
    assert all(r.status is Status.RESOLVED for r in rows.records)


def test_columns_named_otherwise_are_read_through_the_mapping() -> None:
    columns = ResolvedColumns.parse(
        ["id=key", "subject=title", "resolution=fix"], status="state", solved=["fixed"]
    )
    frame = _frame(
        key=["K1", "K2"], title=["vpn", "mail"], fix=["reboot", ""], state=["fixed", "new"]
    )
    rows = resolved_rows(frame, columns, source="x.csv")
    assert [(r.ticket_id, r.subject, r.resolution) for r in rows.records] == [
        ("K1", "vpn", "reboot")
    ]


def test_a_file_time_without_a_zone_is_utc_and_a_missing_one_is_now() -> None:
    frame = _frame(id=["a", "b"], body=["x", "y"], resolved_at=["2024-03-01 10:00", None])
    before = datetime.now(UTC)
    first, second = resolved_rows(frame, ResolvedColumns(), source="x.csv").records
    assert first.resolved_at == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    assert second.resolved_at is not None
    assert before <= second.resolved_at <= datetime.now(UTC)


def test_blank_fields_are_none_and_visibility_tenant_default() -> None:
    frame = _frame(id=["a"], subject=["  "], body=["disk full"], tenant=[None], visibility=[""])
    (record,) = resolved_rows(frame, ResolvedColumns(), source="x.csv").records
    assert record.subject is None
    assert record.tenant == ""
    assert record.visibility is Visibility.PUBLIC


@pytest.mark.parametrize(
    ("columns", "message"),
    [({"ticket": ["1"], "subject": ["x"]}, "no 'id' column"), ({"id": ["1"]}, "neither a subject")],
)
def test_a_file_without_ids_or_text_is_refused(
    columns: dict[str, list[object]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        resolved_rows(pd.DataFrame(columns), ResolvedColumns(), source="x.csv")


@pytest.mark.parametrize("item", ["nope=col", "id", "id="])
def test_a_bad_column_option_names_the_fields(item: str) -> None:
    with pytest.raises(ValueError, match="FIELD one of id, subject, body"):
        ResolvedColumns.parse([item])


def test_a_file_without_status_or_resolution_says_what_it_assumed() -> None:
    frame = _frame(id=["a", "b"], subject=["vpn", "mail"])
    rows = resolved_rows(frame, ResolvedColumns(), source="export.csv")
    assert [r.ticket_id for r in rows.records] == ["a", "b"]
    assert len(rows.notes) == 2
    assert "export.csv has no 'status' column: every row is taken as a resolved" in rows.notes[0]
    assert "--all-resolved" in rows.notes[0]
    assert "no 'resolution' column" in rows.notes[1]
    explicit = resolved_rows(frame, ResolvedColumns(all_resolved=True), source="export.csv")
    assert len(explicit.notes) == 1  # only the missing resolution is left to say


def test_all_resolved_keeps_rows_whatever_their_status() -> None:
    frame = _frame(id=["a", "b"], subject=["vpn", "mail"], status=["open", "closed"])
    columns = ResolvedColumns.parse([], all_resolved=True)
    rows = resolved_rows(frame, columns, source="x.csv")
    assert [r.ticket_id for r in rows.records] == ["a", "b"]
    assert rows.skipped == 0


def test_a_status_column_in_another_case_still_decides_and_the_note_says_how() -> None:
    # A real export's `Status` column: was silently ignored (every row indexed as resolved).
    frame = _frame(
        ID=["a", "b", "c", "d"],
        Subject=["vpn", "printer", "mail", "disk"],
        Status=["Resolved", "Open", "open", "New"],
    )
    rows = resolved_rows(frame, ResolvedColumns(), source="bugs.csv")
    assert [r.ticket_id for r in rows.records] == ["a"]
    assert rows.skipped == 3
    assert "column 'Status' read as 'status'" in rows.notes
    decided = next(note for note in rows.notes if note.startswith("resolved:"))
    assert "1 row(s) whose 'status' is one of closed, done, resolved, solved" in decided
    assert "; 3 left out: " in decided
    assert all(value in decided for value in ("Open (1)", "open (1)", "New (1)"))


def test_two_columns_equal_but_for_case_are_refused_by_name() -> None:
    frame = _frame(id=["a"], subject=["vpn"], Status=["open"], STATUS=["closed"])
    with pytest.raises(DataValidationError, match="columns 'STATUS', 'Status' all match 'status'"):
        resolved_rows(frame, ResolvedColumns(), source="x.csv")


def test_a_ticket_over_the_limit_is_indexed_by_its_leading_part_and_counted() -> None:
    frame = _frame(id=["short", "long"], subject=["vpn", "crash"], body=["down", "x" * 500])
    rows = resolved_rows(frame, ResolvedColumns(), source="bugs.csv", max_chars=100)
    short, long = rows.records
    assert (short.subject, short.body) == ("vpn", "down")
    assert long.subject == "crash"
    assert long.body == "x" * 95
    assert any(
        note.startswith("1 ticket(s) longer than 100 characters") and note.endswith(": long")
        for note in rows.notes
    )


def test_rows_without_text_are_numbered_as_training_numbers_them() -> None:
    frame = _frame(id=["a", "b", "c"], subject=["vpn", None, " "], body=["x", None, ""])
    with pytest.raises(ValueError, match=r"2 row\(s\) have no subject or body: rows 3, 4"):
        resolved_rows(frame, ResolvedColumns(), source="x.csv")
