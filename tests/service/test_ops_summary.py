"""The leadership report on the hand-written history of report_history.py: 2–5 November
against 30 October–2 November, figures worked out by hand (see test_reports.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service.report_history import HISTORY, T5_LATE, T5_RESOLVED, UNTIL
from triage.api.staff.ops_page import render_ops_report
from triage.service.ops_summary import OpsReport, ops_report
from triage.service.reports import ReportService
from triage.store.database import Database
from triage.store.events import EventStore


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> OpsReport:
    path: Path = tmp_path_factory.mktemp("ops") / "triage.db"
    with Database(f"sqlite:///{path}") as database:
        database.upgrade()
        EventStore(database).add([*HISTORY, T5_RESOLVED, *T5_LATE])
        return ops_report(ReportService(database), days=3, until=UNTIL)


def test_each_headline_figure_against_the_period_before(report: OpsReport) -> None:
    figures = {c.figure: (c.current, c.previous, c.trend) for c in report.changes}
    # New: 2 Nov 4 + 3 Nov 2 + 4 Nov 1 = 7; before, only T0 (1 Nov 10:00) = 1: worse.
    assert figures["new"] == (7, 1, "worse")
    # Resolved: 3 + 2 + 1 = 6; nothing resolved 30 Oct–2 Nov: better.
    assert figures["resolved"] == (6, 0, "better")
    # Open at the end: T3, T4, T7, T8 = 4; at 2 Nov 00:00: T0, T8 = 2.
    assert figures["backlog"] == (4, 2, "worse")
    # Median hours 8, 5 of 6 at L1; nothing resolved before: no comparison.
    assert figures["median_hours"] == (8.0, None, None)
    assert figures["share_resolved_at_l1"] == (0.8333, None, None)
    # L1→L2: T2 of the 6 started at L1 = 0.1667; before, T0 alone, not escalated: 0.
    assert figures["rate_l1_l2"] == (0.1667, 0.0, "worse")
    # Reopened: T9 of the 6 resolved.
    assert figures["share_reopened"] == (0.1667, None, None)
    notable = [c.figure for c in report.notable]
    assert notable == ["new", "resolved", "backlog", "rate_l1_l2"]


@pytest.mark.parametrize(
    ("lang", "sentence"),
    [
        ("en", "New tickets rose from 1 to 7 (+600 %). Worse."),
        ("id", "Tiket baru naik dari 1 menjadi 7 (+600 %). Lebih buruk."),
    ],
)
def test_the_html_needs_nothing_else(report: OpsReport, lang: str, sentence: str) -> None:
    html = render_ops_report(report, lang=lang, generated=UNTIL)
    assert sentence in html
    assert f'<html lang="{lang}">' in html
    assert "<svg" in html
    assert "<style>" in html
    # Self-contained: no script, no stylesheet, image or font fetched from anywhere.
    for fetched in ("<script", "<link", "src=", "url(", "@import", "http://", "https://"):
        assert fetched not in html
