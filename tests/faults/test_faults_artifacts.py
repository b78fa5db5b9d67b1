"""Corrupt or tampered model artifacts: refused at start-up and at activation, never served.

tests/test_artifacts.py checks the loader file by file and tests/api/test_models.py one
replaced head at activation; here: a truncated, a missing and a re-checksummed file through
the activation endpoint and the ACTIVE watcher, and the real ``triage serve`` start-up.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.faults.serving import TRIAGE, free_port, serve_env
from triage.api.app import create_app
from triage.core.artifacts import MANIFEST
from triage.core.registry import ACTIVE
from triage.settings import Settings

TICKET = {"subject": "Printer on 3rd floor jams"}
DAMAGED = "19990101-000000-damaged0"  # older than the good version: not served by default


def _truncate(artifact: Path) -> str:
    path = artifact / "neighbours.npz"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return r"neighbours\.npz does not match its checksum"


def _remove(artifact: Path) -> str:
    (artifact / "heads" / "linear.json").unlink()
    return r"heads/linear\.json is missing"


def _rechecksum(artifact: Path) -> str:
    # Someone edits the manifest instead of the file: the file no longer matches either.
    manifest = json.loads((artifact / MANIFEST).read_text())
    manifest["files"]["operating_points.json"] = "0" * 64
    (artifact / MANIFEST).write_text(json.dumps(manifest))
    return r"operating_points\.json does not match its checksum"


DAMAGES: dict[str, Callable[[Path], str]] = {
    "truncated": _truncate,
    "missing": _remove,
    "manifest edited": _rechecksum,
}


def _models(artifact_dir: Path, root: Path, damage: Callable[[Path], str]) -> tuple[Path, str]:
    """A models directory with the good version and a damaged copy of it (and why it fails)."""
    models_dir = root / "models"
    shutil.copytree(artifact_dir, models_dir / artifact_dir.name)
    damaged = models_dir / DAMAGED
    shutil.copytree(artifact_dir, damaged)
    manifest = json.loads((damaged / MANIFEST).read_text())
    manifest["version"] = DAMAGED
    (damaged / MANIFEST).write_text(json.dumps(manifest))
    return models_dir, damage(damaged)


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_activating_a_damaged_version_is_refused_and_the_served_one_stays(
    damage: Callable[[Path], str], artifact_dir: Path, tmp_path: Path
) -> None:
    models_dir, reason = _models(artifact_dir, tmp_path, damage)
    settings = Settings(models_dir=models_dir, data_dir=tmp_path / "var", model_watch_seconds=0)
    with TestClient(create_app(settings)) as client:
        response = client.post(f"/v1/models/{DAMAGED}/activate")
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "artifact_invalid"
        assert error["message"].startswith(f"<models>/{DAMAGED}")  # never the absolute path
        assert re.search(reason, error["message"]), error["message"]
        assert client.post("/v1/classify", json=TICKET).json()["model_version"] == (
            artifact_dir.name
        )
        assert client.get("/readyz").json()["model_version"] == artifact_dir.name
    # ACTIVE names the version served first, never the refused one: a restart serves it too.
    assert (models_dir / ACTIVE).read_text().strip() == artifact_dir.name


def test_an_active_pointer_to_a_damaged_version_is_not_followed(
    artifact_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    models_dir, _ = _models(artifact_dir, tmp_path, _truncate)
    settings = Settings(models_dir=models_dir, data_dir=tmp_path / "var", model_watch_seconds=0.05)
    with TestClient(create_app(settings)) as client, caplog.at_level(logging.ERROR, "triage"):
        # Another process (or an operator) points ACTIVE at the damaged copy.
        (models_dir / ACTIVE).write_text(DAMAGED + "\n")
        deadline = time.monotonic() + 10
        while not any("cannot be served" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "the watcher never looked at ACTIVE"
            time.sleep(0.05)
        assert client.post("/v1/classify", json=TICKET).json()["model_version"] == (
            artifact_dir.name
        )
    refusals = [r.getMessage() for r in caplog.records if "cannot be served" in r.getMessage()]
    assert len(refusals) == 1  # tried once, not every 50 ms
    assert "neighbours.npz does not match its checksum" in refusals[0]


def test_serve_refuses_to_start_on_a_truncated_artifact_with_one_line(
    artifact_dir: Path, tmp_path: Path
) -> None:
    models_dir = tmp_path / "models"
    shutil.copytree(artifact_dir, models_dir / artifact_dir.name)
    _truncate(models_dir / artifact_dir.name)
    result = subprocess.run(
        [TRIAGE, "serve"],
        env=serve_env(models_dir, f"sqlite:///{tmp_path / 'triage.db'}", tmp_path, free_port()),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error [")]
    assert errors == [
        f"error [artifact_invalid]: {models_dir / artifact_dir.name / 'neighbours.npz'} does "
        f"not match its checksum in {models_dir / artifact_dir.name / MANIFEST}: the file is "
        "corrupt or was modified; retrain or restore the artifact"
    ]
    assert "Traceback" not in result.stderr
