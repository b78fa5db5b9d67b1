"""``triage events import``: a helpdesk export, with its own column names, becomes events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from triage.cli import app
from triage.service.reports import ReportQuery, ReportService
from triage.settings import get_settings
from triage.store.database import Database

runner = CliRunner()


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _resolution(group_by: str) -> list[dict[str, object]]:
    with Database.from_settings(get_settings()) as database:
        query = ReportQuery(
            since=datetime(2026, 11, 1, tzinfo=UTC),
            until=datetime(2026, 12, 1, tzinfo=UTC),
            group_by=group_by,
        )
        return ReportService(database).run("resolution", query).rows


def test_a_ticket_export_with_its_own_column_names(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    # A: opened 2 Nov 08:00, closed 10:00 (2 h); B: opened 2 Nov 09:00, closed 3 Nov 09:00
    # (24 h); C: open. Median of 2 and 24: 13 h; p90: 2 + 0.9 * 22 = 21.8 h.
    export.write_text(
        "Number,Opened,Closed,Team,Level\n"
        "A,2026-11-02 08:00:00+00:00,2026-11-02 10:00:00+00:00,desk,L1\n"
        "B,2026-11-02T09:00:00Z,2026-11-03T09:00:00Z,desk,L2\n"
        "C,2026-11-04T09:00:00Z,,infra,L1\n"
    )
    mapping = ["ticket_id=Number", "created_at=Opened", "resolved_at=Closed", "group=Team"]
    options = [opt for pair in mapping for opt in ("--column", pair)]
    options += ["--column", "tier=Level"]
    first = runner.invoke(app, ["events", "import", str(export), *options])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout.strip().splitlines()[-1]) == {
        "stored": 5,
        "duplicates": 0,
        "tickets": 3,
    }
    again = runner.invoke(app, ["events", "import", str(export), *options])
    assert json.loads(again.stdout.strip().splitlines()[-1])["duplicates"] == 5
    assert _resolution("group") == [
        {
            "group": "desk",
            "resolved": 2,
            "median_hours": 13.0,
            "p90_hours": 21.8,
            "resolved_at_l1": 1,
            "share_resolved_at_l1": 0.5,
        }
    ]


def test_an_event_export_and_a_bad_row(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    rows = [
        {"ticket": "X", "kind": "resolved", "at": "2026-11-05T12:00:00Z"},
        {"ticket": "X", "kind": "created", "at": "2026-11-05T06:00:00Z", "tier": "L1"},
    ]
    events.write_text("".join(json.dumps(row) + "\n" for row in rows))
    done = runner.invoke(app, ["events", "import", str(events), "--column", "ticket_id=ticket"])
    assert done.exit_code == 0, done.output
    assert _resolution("tier")[0]["median_hours"] == 6.0
    bad = tmp_path / "bad.csv"
    bad.write_text("ticket_id,kind,at\nY,created,yesterday\n")
    refused = runner.invoke(app, ["events", "import", str(bad)])
    assert refused.exit_code == 2
    assert "row 1: at 'yesterday' is not an ISO 8601 time" in refused.output


def test_the_sample_data_loads_as_a_history_with_agents_groups_and_channels() -> None:
    import csv

    from tests.conftest import SAMPLE_DATA

    with SAMPLE_DATA.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    done = runner.invoke(app, ["events", "import", str(SAMPLE_DATA), "--column", "ticket_id=id"])
    assert done.exit_code == 0, done.output
    solved = sum(1 for row in rows if row["resolved_at"])
    assert json.loads(done.stdout.strip().splitlines()[-1])["stored"] == len(rows) + solved
    with Database.from_settings(get_settings()) as database:
        query = ReportQuery(
            since=datetime(2025, 1, 1, tzinfo=UTC),
            until=datetime(2026, 12, 1, tzinfo=UTC),
            bucket="month",
            group_by="channel",
        )
        volume = ReportService(database).run("volume", query).rows
    by_channel = {}
    for row in volume:
        by_channel[row["channel"]] = by_channel.get(row["channel"], 0) + row["new"]
    assert by_channel == {
        channel: sum(1 for row in rows if row["channel"] == channel)
        for channel in ("api", "chat", "email", "phone", "web")
    }
