"""Feedback written over training labels: staff's latest answer wins, one row per ticket."""

from __future__ import annotations

import pandas as pd
import pytest

from triage.core.errors import DataValidationError
from triage.store.feedback import Feedback
from triage.training.feedback_merge import merge_feedback

LABELS = {"category": "category", "tier": "tier"}


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["T1", "T2", "T3", "T2", None],
            "subject": ["printer jam", "vpn old", "mail", "vpn drops hourly", "no id"],
            "category": ["printers", "network", "email", "network_vpn", "other"],
            "tier": ["L1", "L2", "L1", "L2", "L1"],
        }
    )


def _answer(ticket: str, head: str, final: str, version: str = "v1") -> Feedback:
    return Feedback(ticket, head, "whatever", final, version)


def test_feedback_overrides_a_conflicting_label_and_the_latest_answer_wins() -> None:
    merged, report = merge_feedback(
        _frame(),
        [
            _answer("T1", "category", "hardware"),
            _answer("T1", "category", "printers_and_scanners", "v2"),  # later: wins
            _answer("T3", "tier", "L1"),  # agrees with the file
        ],
        label_columns=LABELS,
    )
    by_id = merged.set_index("id")
    assert by_id.loc["T1", "category"] == "printers_and_scanners"
    assert by_id.loc["T3", "tier"] == "L1"
    assert by_id.loc["T3", "category"] == "email"  # untouched
    assert (report.feedback, report.applied, report.overridden) == (2, 2, 1)


def test_rows_are_deduplicated_by_ticket_id_keeping_the_last() -> None:
    merged, report = merge_feedback(
        _frame(), [_answer("T2", "category", "network")], label_columns=LABELS
    )
    assert merged["id"].tolist()[:3] == ["T1", "T3", "T2"]
    assert pd.isna(merged["id"].iloc[3])  # the row without an id is kept
    t2 = merged[merged["id"] == "T2"].iloc[0]
    assert t2["subject"] == "vpn drops hourly"
    # Applied to the surviving row, where it differs from that row's label.
    assert t2["category"] == "network"
    assert (report.data_rows, report.duplicate_rows, report.overridden) == (5, 1, 1)


def test_feedback_without_a_ticket_in_the_file_or_on_an_untrained_head_is_skipped_and_said() -> (
    None
):
    merged, report = merge_feedback(
        _frame(),
        [
            _answer("T404", "category", "printers"),
            _answer("T404", "tier", "L3"),
            _answer("T1", "priority", "high"),
        ],
        label_columns=LABELS,
    )
    assert len(merged) == 4
    assert report.applied == 0
    assert (report.skipped_unknown_ticket, report.skipped_tickets) == (2, ("T404",))
    assert (report.skipped_unknown_head, report.skipped_heads) == (1, ("priority",))
    said = "\n".join(report.lines("tickets.csv"))
    assert "2 feedback label(s) on 1 ticket(s) not in tickets.csv (T404)" in said
    assert "not the ticket's text" in said
    assert "priority" in said


def test_numeric_ids_and_labels_from_json_match_text_feedback() -> None:
    frame = pd.DataFrame({"id": [101, 102], "subject": ["a", "b"], "tier": [1, 2]})
    merged, report = merge_feedback(
        frame,
        [_answer("101", "tier", "3"), _answer("102", "tier", "2")],
        label_columns={"tier": "tier"},
    )
    assert [str(v) for v in merged["tier"]] == ["3", "2"]
    assert (report.applied, report.overridden) == (2, 1)


def test_merging_needs_ticket_ids() -> None:
    with pytest.raises(DataValidationError, match="'id' column"):
        merge_feedback(_frame().drop(columns="id"), [], label_columns=LABELS)
