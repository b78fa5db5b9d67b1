"""The vector snapshot must belong to the database it is loaded with (issue 24).

Before: a database restored from a copy taken before 30 writes, with the newer snapshot left in
``vectors/``, loaded that snapshot (its change 33 > the database's 0) and, after 5 more
writes, answered "giraffe elevator outage" with the new "penguin scanner broken" tickets at
0.89, across restarts, with nothing logged. A corrupt snapshot stopped start-up.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from triage.core.embeddings import HashingEmbedder
from triage.similar.service import SimilarService
from triage.store.database import Database
from triage.store.records import TicketRecord

EMBEDDER = HashingEmbedder(64)


def _open(path: Path, snapshot: Path) -> tuple[Database, SimilarService]:
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    return database, SimilarService.open(database, EMBEDDER, snapshot=snapshot, hnsw_threshold=8)


def _top(service: SimilarService, text: str) -> tuple[str, float]:
    query = service.embed([service.text(text, None)])[0]
    best = service.find(query, k=1, min_score=-1.0).similar[0]
    return best.ticket.record.ticket_id, best.score


def _index_size(service: SimilarService) -> int:
    return len(service.search_backend.index)  # type: ignore[attr-defined]


def test_a_restored_database_is_not_searched_with_a_newer_snapshot(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db, snapshot = tmp_path / "triage.db", tmp_path / "vectors" / "index"
    database, service = _open(db, snapshot)
    service.add([TicketRecord(f"G{i}", subject=f"giraffe elevator outage {i}") for i in range(3)])
    service.close()
    database.dispose()
    shutil.copy(db, tmp_path / "backup.db")  # a backup, taken with the server stopped

    database, service = _open(db, snapshot)
    service.add([TicketRecord(f"P{i}", subject=f"penguin scanner broken {i}") for i in range(30)])
    service.close()  # the snapshot now holds 33 vectors, at change 33
    database.dispose()

    shutil.copy(tmp_path / "backup.db", db)  # restored; vectors/ kept
    with caplog.at_level(logging.WARNING, "triage"):
        database, service = _open(db, snapshot)
    assert any("not used" in r.getMessage() for r in caplog.records)
    service.add([TicketRecord(f"N{i}", subject=f"penguin scanner broken {i}") for i in range(5)])
    assert _index_size(service) == 8  # the database's 3 + 5, not the snapshot's 33
    ticket, score = _top(service, "giraffe elevator outage 1")
    assert ticket.startswith("G")
    assert score > 0.9
    service.close()
    database.dispose()
    database, service = _open(db, snapshot)  # and across a restart
    assert _index_size(service) == 8
    assert _top(service, "giraffe elevator outage 1")[0].startswith("G")
    service.close()
    database.dispose()


def test_a_snapshot_from_another_database_is_not_loaded(tmp_path: Path) -> None:
    snapshot = tmp_path / "vectors" / "index"
    database, service = _open(tmp_path / "a.db", snapshot)
    service.add([TicketRecord(f"A{i}", subject=f"printer jam {i}") for i in range(4)])
    service.close()
    database.dispose()
    database, service = _open(tmp_path / "b.db", snapshot)  # same vectors/, another database
    assert _index_size(service) == 0
    service.close()
    database.dispose()


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_corrupt_snapshot_is_rebuilt_not_fatal(tmp_path: Path, damage: str) -> None:
    db, snapshot = tmp_path / "triage.db", tmp_path / "vectors" / "index"
    database, service = _open(db, snapshot)
    service.add([TicketRecord(f"T{i}", subject=f"vpn drops {i}") for i in range(12)])
    service.close()
    database.dispose()
    data = snapshot.read_bytes()
    snapshot.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"\x00junk" * 50)
    # Before: the truncated graph raised RuntimeError out of start-up (exit 3).
    database, service = _open(db, snapshot)
    assert _index_size(service) == 12
    assert _top(service, "vpn drops 3")[0] == "T3"
    service.close()
    database.dispose()


@pytest.mark.parametrize("where", [0.25, 0.5, 0.75])
def test_a_snapshot_with_a_flipped_byte_is_rebuilt_not_loaded(
    tmp_path: Path, where: float, caplog: pytest.LogCaptureFixture
) -> None:
    """A byte flipped inside the graph file still parses: before the sidecar carried the files'
    sha256, such a snapshot was searched as it was, and some flips (3 of 12 offsets tried on
    a 12-ticket graph) crashed the loading process with a segmentation fault."""
    db, snapshot = tmp_path / "triage.db", tmp_path / "vectors" / "index"
    database, service = _open(db, snapshot)
    service.add([TicketRecord(f"T{i}", subject=f"vpn drops {i}") for i in range(12)])
    service.close()
    database.dispose()
    data = bytearray(snapshot.read_bytes())
    data[int(len(data) * where)] ^= 0xFF
    snapshot.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="triage.similar.search"):
        database, service = _open(db, snapshot)
    assert "does not match its checksum" in caplog.text
    assert _index_size(service) == 12
    assert all(_top(service, f"vpn drops {i}")[0] == f"T{i}" for i in range(12))
    service.close()
    database.dispose()
