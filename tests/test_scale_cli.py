"""The scale-out commands in one process (``--engine local``; Ray's own tests are in
tests/scale/): ``triage index build --engine local`` resumable on SQLite, ``triage jobs
classify`` writing Parquet, and a clear error for a file it cannot read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tests.conftest import SAMPLE_DATA
from triage.cli import app
from triage.settings import get_settings

runner = CliRunner()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, artifact_dir: Path) -> Iterator[None]:
    monkeypatch.setenv("TRIAGE_MODELS_DIR", str(artifact_dir.parent))
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_index_build_engine_local_stores_once(env: None) -> None:
    first = runner.invoke(app, ["index", "build", "--data", str(SAMPLE_DATA), "--engine", "local"])
    assert first.exit_code == 0, first.output
    assert "505 tickets" in first.stdout
    assert "upsert, engine local): 505 embedded in 1 chunk(s), 0 already stored" in first.stdout
    again = runner.invoke(app, ["index", "build", "--data", str(SAMPLE_DATA), "--engine", "local"])
    assert "0 embedded in 0 chunk(s), 505 already stored" in again.stdout


def test_jobs_classify_writes_every_heads_answer(env: None, tmp_path: Path) -> None:
    backlog = tmp_path / "backlog.jsonl"
    frame = pd.read_csv(SAMPLE_DATA, dtype=str).head(40)[["id", "subject", "body"]]
    frame.to_json(backlog, orient="records", lines=True)
    out = tmp_path / "answers.parquet"
    result = runner.invoke(app, ["jobs", "classify", str(backlog), str(out)])
    assert result.exit_code == 0, result.output
    assert "40 tickets classified" in result.stdout
    table = pq.read_table(out)
    assert table.column_names[:3] == ["id", "model_version", "category"]
    assert {"tier", "tier_confidence", "tier_decision", "error"} <= set(table.column_names)
    assert table["id"].to_pylist() == frame["id"].tolist()
    assert table["error"].null_count == 40


def test_jobs_classify_refuses_an_unknown_format(env: None, tmp_path: Path) -> None:
    (tmp_path / "backlog.xlsx").write_text("x")
    result = runner.invoke(
        app, ["jobs", "classify", str(tmp_path / "backlog.xlsx"), str(tmp_path / "o.parquet")]
    )
    assert result.exit_code == 2
    assert ".csv, .jsonl (JSON Lines) or .parquet" in result.output
