"""The embedded vector search: HNSW above its threshold, snapshots, replay, embedder checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.core.embeddings import HashingEmbedder
from triage.core.errors import StoreMismatchError
from triage.similar.service import SimilarService
from triage.store.database import Database
from triage.store.records import TicketRecord

TOPICS = ["printer paper jam", "vpn disconnects", "outlook password prompt", "disk full"]


def records(n: int, prefix: str = "T") -> list[TicketRecord]:
    return [
        TicketRecord(f"{prefix}{i}", subject=f"{TOPICS[i % 4]} case {i}", category=str(i % 4))
        for i in range(n)
    ]


def test_snapshot_then_replay_of_later_changes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    snapshot = tmp_path / "vectors" / "index"
    embedder = HashingEmbedder(64)
    with Database(url) as database:
        database.upgrade()
        first = SimilarService.open(database, embedder, snapshot=snapshot, hnsw_threshold=8)
        first.add(records(40))
        assert first.search_backend.index.mode == "hnsw"  # type: ignore[attr-defined]
        first.close()  # writes the snapshot
        assert snapshot.exists()

        # Another process writes after the snapshot: one added, one deleted.
        other = SimilarService.open(database, embedder, hnsw_threshold=8)
        other.add([TicketRecord("NEW", subject="keyboard spills coffee")])
        other.delete("T1")

        second = SimilarService.open(database, embedder, snapshot=snapshot, hnsw_threshold=8)
        index = second.search_backend.index  # type: ignore[attr-defined]
        assert len(index) == 40  # 40 from the snapshot, +1 -1 replayed
        query = second.embed([second.text("keyboard spills coffee", None)])[0]
        assert second.find(query, k=1).similar[0].ticket.record.ticket_id == "NEW"
        vpn = second.embed([second.text("vpn disconnects case 1", None)])[0]
        found = {m.ticket.record.ticket_id for m in second.find(vpn, k=40, min_score=-1).similar}
        assert "T1" not in found
        assert len(found) == 40


def test_a_selective_filter_still_finds_k(tmp_path: Path) -> None:
    with Database(f"sqlite:///{tmp_path / 'triage.db'}") as database:
        database.upgrade()
        service = SimilarService.open(database, HashingEmbedder(64), hnsw_threshold=8)
        service.add(records(200))
        service.add([TicketRecord("RARE", subject="printer paper jam rare", category="rare")])
        query = service.embed([service.text("printer paper jam", None)])[0]
        found = service.find(query, k=5, category="rare", min_score=-1).similar
        assert [m.ticket.record.ticket_id for m in found] == ["RARE"]


def test_vectors_of_another_embedder_are_refused(tmp_path: Path) -> None:
    with Database(f"sqlite:///{tmp_path / 'triage.db'}") as database:
        database.upgrade()
        SimilarService.open(database, HashingEmbedder(64)).add(records(3))
        with pytest.raises(StoreMismatchError, match="triage index build"):
            SimilarService.open(database, HashingEmbedder(32))


def test_open_duplicates_are_scanned_exactly_without_the_graph(tmp_path: Path) -> None:
    # Open tickets are few (kept for the duplicate window): every find used to widen the
    # graph search twice (to 40, then 400 candidates) before scanning them.
    with Database(f"sqlite:///{tmp_path / 'triage.db'}") as database:
        database.upgrade()
        service = SimilarService.open(database, HashingEmbedder(64), hnsw_threshold=8)
        service.add(records(200))
        text = "printer paper jam case 4"
        vector = service.embed([service.text(text, None)])[0]
        service.remember_open(TicketRecord("OPEN-1", subject=text), vector)
        index = service.search_backend.index  # type: ignore[attr-defined]
        searched: list[int] = []
        search = index.search

        def counted(queries: object, k: int = 10) -> object:
            searched.append(k)
            return search(queries, k)

        index.search = counted
        found = service.find(vector, k=5)
        assert [m.ticket.record.ticket_id for m in found.duplicates] == ["OPEN-1"]
        assert "T4" in [m.ticket.record.ticket_id for m in found.similar]
        assert searched == [20]  # the resolved search only: max(2 x 5, 20) candidates
        service.close()
