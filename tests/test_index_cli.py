"""``triage index build``: resolved rows only, idempotent, found by the API afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import SAMPLE_DATA
from triage.api.app import create_app
from triage.service import TriageService
from triage.settings import Settings


def build(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    triage = str(Path(sys.executable).with_name("triage"))
    return subprocess.run(
        [triage, "index", "build", "--data", str(SAMPLE_DATA), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_index_build_is_idempotent_and_serves(
    tmp_path: Path, artifact_dir: Path, service: TriageService
) -> None:
    env = {
        **os.environ,
        "TRIAGE_MODELS_DIR": str(artifact_dir.parent),
        "TRIAGE_DATA_DIR": str(tmp_path / "var"),
    }
    first = build(env)
    assert first.returncode == 0, first.stderr
    assert "505 tickets" in first.stdout
    assert "505 embedded, 0 unchanged; 155 rows skipped as not resolved" in first.stdout
    again = build(env)
    assert "0 embedded, 505 unchanged" in again.stdout

    settings = Settings(models_dir=artifact_dir.parent, data_dir=tmp_path / "var")
    with TestClient(create_app(settings, service=service)) as client:
        found = client.post("/v1/similar", json={"subject": "printer paper jam", "k": 3}).json()
    assert len(found["similar"]) == 3
    assert all(m["resolution"] for m in found["similar"])


def test_index_build_names_a_missing_id_column(tmp_path: Path, artifact_dir: Path) -> None:
    env = {**os.environ, "TRIAGE_MODELS_DIR": str(artifact_dir.parent)}
    result = build(env, "--column", "id=ticket_number")
    assert result.returncode == 2
    assert "--column id=COLUMN" in result.stderr


def test_index_build_says_when_it_takes_every_row_as_resolved(
    tmp_path: Path, artifact_dir: Path
) -> None:
    env = {
        **os.environ,
        "TRIAGE_MODELS_DIR": str(artifact_dir.parent),
        "TRIAGE_DATA_DIR": str(tmp_path / "var"),
    }
    export = tmp_path / "export.csv"
    export.write_text("id,subject,resolution\nA-1,VPN drops,Reinstalled the client\n")
    assumed = build(env, "--data", str(export))
    assert assumed.returncode == 0, assumed.stderr
    assert "has no 'status' column: every row is taken as a resolved ticket" in assumed.stderr
    assert "1 tickets" in assumed.stdout
    explicit = build(env, "--data", str(export), "--all-resolved")
    assert explicit.returncode == 0, explicit.stderr
    assert "status" not in explicit.stderr
