"""A damaged SQLite file (issue 24): refused at start in one line, 503 when found later.

Before: a file with overwritten pages started (``readyz`` 200) and took writes; a file
damaged in its header started with a traceback.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.faults.serving import TRIAGE, free_port, serve_env
from triage.core.errors import StoreCorruptError
from triage.settings import Settings
from triage.store.database import Database


def _filled(path: Path) -> Path:
    with Database(f"sqlite:///{path}") as database:
        database.upgrade()
        with database.begin() as connection:
            connection.execute(sa.text("CREATE TABLE filler (id INTEGER PRIMARY KEY, t TEXT)"))
            for _ in range(2_000):
                connection.execute(sa.text("INSERT INTO filler (t) VALUES (:t)"), {"t": "x" * 400})
    return path


def _damage(path: Path) -> None:
    """Garbage over the middle of every page of the file's second half (headers kept)."""
    data = bytearray(path.read_bytes())
    page = 4096
    for start in range(len(data) // 2 // page * page, len(data) - page, page):
        data[start + 8 : start + 400] = b"\xa5" * 392
    path.write_bytes(bytes(data))


def test_a_damaged_file_is_refused_at_open_naming_the_problem(tmp_path: Path) -> None:
    path = _filled(tmp_path / "triage.db")
    Database.from_settings(Settings(data_dir=tmp_path)).dispose()  # intact: opens
    _damage(path)
    with pytest.raises(StoreCorruptError) as refused:
        Database.from_settings(Settings(data_dir=tmp_path))
    assert re.fullmatch(
        r"the database .+ is damaged \(On tree page \d+ .+\); restore .+", refused.value.message
    )
    assert "\n" not in refused.value.message


def test_with_the_check_off_a_damaged_page_read_later_is_a_503_error(tmp_path: Path) -> None:
    _damage(_filled(tmp_path / "triage.db"))
    database = Database.from_settings(Settings(data_dir=tmp_path, integrity_check=False))
    with (
        pytest.raises(StoreCorruptError, match="the database is damaged"),  # 503 store_corrupt
        database.begin() as connection,
    ):
        connection.execute(sa.text("SELECT count(t) FROM filler")).all()
    database.dispose()


@pytest.mark.parametrize("where", ["pages", "header"])
def test_serve_refuses_a_damaged_database_with_one_line(
    artifact_dir: Path, tmp_path: Path, where: str
) -> None:
    models_dir = tmp_path / "models"
    shutil.copytree(artifact_dir, models_dir / artifact_dir.name)
    path = _filled(tmp_path / "triage.db")
    if where == "pages":
        _damage(path)
    else:
        path.write_bytes(b"\x00" * 100 + path.read_bytes()[100:])
    result = subprocess.run(
        [TRIAGE, "serve"],
        env=serve_env(models_dir, f"sqlite:///{path}", tmp_path, free_port()),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error [")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("error [store_corrupt]: the database ")
    assert "is damaged (" in errors[0]
    assert "Traceback" not in result.stderr
