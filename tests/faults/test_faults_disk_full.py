"""The disk fills while the vector index snapshot is written: the previous snapshot survives."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from usearch.index import Index

from triage.core.embeddings import HashingEmbedder
from triage.similar.service import SimilarService
from triage.similar.vector_index import VectorIndex
from triage.store.database import Database
from triage.store.records import TicketRecord

DIM = 16
THRESHOLD = 50  # exact below, HNSW above


def _vectors(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)


def _disk_full() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _fill_disk_during_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both snapshot formats write half their bytes, then the disk is full."""
    real_savez, real_save = np.savez, Index.save

    def savez(handle: Any, *args: Any, **kwargs: Any) -> None:
        real_savez(handle, *args, **kwargs)
        handle.truncate(handle.tell() // 2)
        raise _disk_full()

    def save(self: Index, path: str | os.PathLike[str], *args: Any, **kwargs: Any) -> None:
        real_save(self, path, *args, **kwargs)
        os.truncate(path, os.path.getsize(path) // 2)
        raise _disk_full()

    monkeypatch.setattr(np, "savez", savez)
    monkeypatch.setattr(Index, "save", save)


@pytest.mark.parametrize("size", [20, 200], ids=["exact", "hnsw"])
def test_a_full_disk_fails_the_save_and_keeps_the_previous_snapshot(
    size: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "vectors" / "index"
    index = VectorIndex(DIM, hnsw_threshold=THRESHOLD)
    index.upsert(np.arange(size), _vectors(size, seed=0))
    index.save(path)
    before = path.read_bytes()
    index.upsert(np.arange(size, 2 * size), _vectors(size, seed=1))

    _fill_disk_during_writes(monkeypatch)
    with pytest.raises(OSError, match="No space left") as failure:
        index.save(path)
    assert failure.value.errno == errno.ENOSPC
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["index"]  # no half-written file
    loaded = VectorIndex.load(path, hnsw_threshold=THRESHOLD)
    assert len(loaded) == size
    keys, _ = loaded.search(_vectors(1, seed=0), 1)
    assert keys[0][0] == 0  # the first stored vector finds itself


def test_a_full_disk_at_shutdown_loses_no_ticket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    snapshot = tmp_path / "vectors" / "index"
    embedder = HashingEmbedder(64)
    subjects = ["printer paper jam", "vpn disconnects", "outlook password", "disk full"]
    with Database(f"sqlite:///{tmp_path / 'triage.db'}") as database:
        database.upgrade()
        first = SimilarService.open(database, embedder, snapshot=snapshot, hnsw_threshold=8)
        first.add([TicketRecord(f"T{i}", subject=f"{subjects[i % 4]} {i}") for i in range(12)])
        first.close()
        files = [snapshot, snapshot.with_name("index.json"), snapshot.with_name("index.subject")]
        before = [f.read_bytes() for f in files]

        second = SimilarService.open(database, embedder, snapshot=snapshot, hnsw_threshold=8)
        second.add([TicketRecord("LATE", subject="keyboard spills coffee")])
        _fill_disk_during_writes(monkeypatch)
        with pytest.raises(OSError, match="No space left"):
            second.search_backend.save()  # type: ignore[attr-defined]
        with caplog.at_level(logging.WARNING, "triage"):
            second.close()  # a shutdown (or a model swap) goes on; the snapshot is a cache
        monkeypatch.undo()
        assert any("not written" in r.getMessage() for r in caplog.records)
        assert [f.read_bytes() for f in files] == before
        # No temporary file left: the three files of the snapshot and nothing else.
        assert sorted(p.name for p in snapshot.parent.iterdir()) == [
            "index",
            "index.json",
            "index.subject",
        ]

        # The next start loads the old snapshot and replays what came after it.
        third = SimilarService.open(database, embedder, snapshot=snapshot, hnsw_threshold=8)
        assert len(third.search_backend.index) == 13  # type: ignore[attr-defined]
        query = third.embed([third.text("keyboard spills coffee", None)])[0]
        assert third.find(query, k=1).similar[0].ticket.record.ticket_id == "LATE"


def test_a_full_disk_while_writing_the_sidecar_leaves_a_consistent_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = tmp_path / "vectors" / "index"
    embedder = HashingEmbedder(64)
    with Database(f"sqlite:///{tmp_path / 'triage.db'}") as database:
        database.upgrade()
        first = SimilarService.open(database, embedder, snapshot=snapshot)
        first.add([TicketRecord(f"T{i}", subject=f"printer jam {i}") for i in range(5)])
        first.close()
        first_seq = snapshot.with_name("index.json").read_text()

        second = SimilarService.open(database, embedder, snapshot=snapshot)
        second.add([TicketRecord("LATE", subject="keyboard spills coffee")])
        second.delete("T0")
        real_write_text = Path.write_text

        def write_text(self: Path, *args: Any, **kwargs: Any) -> int:
            if self.name.endswith(".json.tmp"):
                real_write_text(self, '{"se', encoding="utf-8")
                raise _disk_full()
            return real_write_text(self, *args, **kwargs)

        monkeypatch.setattr(Path, "write_text", write_text)
        with pytest.raises(OSError, match="No space left"):
            second.search_backend.save()  # type: ignore[attr-defined]
        monkeypatch.undo()
        # The index file is new, its sidecar old: loading replays changes it already holds.
        assert snapshot.with_name("index.json").read_text() == first_seq
        assert sorted(p.name for p in snapshot.parent.iterdir()) == [
            "index",
            "index.json",
            "index.subject",
        ]
        third = SimilarService.open(database, embedder, snapshot=snapshot)
        ids = {
            m.ticket.record.ticket_id
            for m in third.find(third.embed(["printer jam"])[0], k=10, min_score=-1).similar
        }
        assert ids == {"T1", "T2", "T3", "T4", "LATE"}
