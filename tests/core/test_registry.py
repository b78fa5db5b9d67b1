"""Which version is served when models/ACTIVE names one that is not saved (issue 24).

Before: ``active_version`` passed over the missing name and the newest version was served,
without a word, so a rollback (ACTIVE pointed back at an older version, then the directory
restored without it) was silently undone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from triage.cli.app import app
from triage.core.errors import ModelNotFoundError
from triage.core.registry import (
    ACTIVE,
    dangling_active,
    keep_served,
    pin_first_served,
    served_model_dir,
)

OLD, NEW, GONE = "20261101-000000-aaaaaaaa", "20261201-000000-bbbbbbbb", "20261115-000000-cccccccc"


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    for version in (OLD, NEW):
        (tmp_path / version).mkdir()
        (tmp_path / version / "manifest.json").write_text("{}")
    return tmp_path


def test_an_active_that_names_a_missing_version_is_refused_not_replaced(
    models_dir: Path,
) -> None:
    (models_dir / ACTIVE).write_text(GONE + "\n")
    assert dangling_active(models_dir) == GONE
    with pytest.raises(ModelNotFoundError, match=f"names '{GONE}', which is not saved") as err:
        served_model_dir(models_dir)
    assert f"saved: {NEW}, {OLD}" in err.value.message
    assert "triage activate VERSION" in err.value.message
    # Pinned with TRIAGE_MODEL_VERSION: that one is served.
    assert served_model_dir(models_dir, OLD) == models_dir / OLD


def test_training_and_serving_leave_a_dangling_active_as_it_is(models_dir: Path) -> None:
    (models_dir / ACTIVE).write_text(GONE + "\n")
    keep_served(models_dir)
    assert not pin_first_served(models_dir, NEW)
    assert (models_dir / ACTIVE).read_text().strip() == GONE


def test_a_missing_or_valid_active_is_not_dangling(models_dir: Path) -> None:
    assert dangling_active(models_dir) is None
    assert served_model_dir(models_dir) == models_dir / NEW  # no ACTIVE: the newest
    (models_dir / ACTIVE).write_text(OLD + "\n")
    assert dangling_active(models_dir) is None
    assert served_model_dir(models_dir) == models_dir / OLD


def test_serve_stops_with_one_line(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from triage.settings import get_settings

    (models_dir / ACTIVE).write_text(GONE + "\n")
    monkeypatch.setenv("TRIAGE_MODELS_DIR", str(models_dir))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    assert f"names '{GONE}', which is not saved" in result.output
    assert "Traceback" not in result.output
