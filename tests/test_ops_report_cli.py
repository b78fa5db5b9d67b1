"""``triage ops-report``: the leadership report written from the configured database."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.service.report_history import HISTORY
from triage.cli import app
from triage.settings import get_settings
from triage.store.database import Database
from triage.store.events import EventStore

runner = CliRunner()


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_writes_the_period_in_indonesian(tmp_path: Path) -> None:
    with Database.from_settings(get_settings()) as database:
        database.upgrade()
        EventStore(database).add(HISTORY)
    output = tmp_path / "ops.html"
    args = ["ops-report", "--since", "3d", "--until", "2026-11-05", "-o", str(output)]
    result = runner.invoke(app, [*args, "--lang", "id"])
    assert result.exit_code == 0, result.output
    html = output.read_text(encoding="utf-8")
    assert "2026-11-02 00:00 sampai 2026-11-05 00:00 (3 hari)" in html
    assert "Tiket baru naik dari 1 menjadi 6 (+500 %)." in html  # T5's created event held back


@pytest.mark.parametrize("since", ["0d", "30", "2y", "400d"])
def test_a_period_it_cannot_read_is_refused(tmp_path: Path, since: str) -> None:
    result = runner.invoke(app, ["ops-report", "--since", since, "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 2
    assert "--since" in result.output
    assert not (tmp_path / "x.html").exists()
