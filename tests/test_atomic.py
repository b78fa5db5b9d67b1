"""Atomic writes leave the old file or directory whole when they fail, and no leftovers."""

import errno
import os
from pathlib import Path

import pytest

from triage.core.atomic import fsync_dir, publish_dir, replace_text, staging_dir


def test_a_replaced_file_has_the_new_text_and_no_temporary_beside_it(tmp_path: Path) -> None:
    target = tmp_path / "ACTIVE"
    target.write_text("v1\n")
    replace_text(target, "v2\n")
    assert target.read_text() == "v2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ACTIVE"]


def test_a_replacement_that_cannot_reach_the_disk_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "manifest.json"
    target.write_text('{"old": true}')

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        replace_text(target, '{"new": true}')
    assert target.read_text() == '{"old": true}'


def test_a_staged_directory_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    final = tmp_path / "v1"

    def interrupted_save() -> None:
        with staging_dir(final) as staging:
            (staging / "half.txt").write_text("half")
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        interrupted_save()
    assert list(tmp_path.iterdir()) == []

    with staging_dir(final) as staging:
        (staging / "whole.txt").write_text("whole")
        publish_dir(staging, final)
    assert [p.name for p in tmp_path.iterdir()] == ["v1"]
    assert (final / "whole.txt").read_text() == "whole"


def test_a_directory_that_cannot_be_flushed_fails_unless_best_effort(tmp_path: Path) -> None:
    missing = tmp_path / "gone"
    with pytest.raises(FileNotFoundError):
        fsync_dir(missing)
    fsync_dir(missing, best_effort=True)
