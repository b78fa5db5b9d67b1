"""Hybrid similar-ticket search: the full-text index beside the vectors, and the fusion.

Each test runs on both backends (``store_url``: SQLite + the in-process index, PostgreSQL +
pgvector); the migration test on SQLite and a plain PostgreSQL (``database_url``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from alembic import command

from triage.core.embeddings import HashingEmbedder
from triage.similar.service import SimilarService
from triage.store.database import Database
from triage.store.records import Filters, Status, TicketRecord
from triage.store.schema import tickets, utcnow


class ConceptEmbedder:
    """Texts that share a concept share a direction; any other text gets a random one.

    A stand-in for a multilingual body: a ticket and its translation embed alike, and the
    dense ranking owes nothing to shared words.
    """

    def __init__(self, concepts: dict[str, Sequence[str]], dim: int = 32) -> None:
        self.dim = dim
        self.identity: dict[str, Any] = {"kind": "concepts", "name": "concepts", "dim": dim}
        self._concept = {text: name for name, texts in concepts.items() for text in texts}

    def _direction(self, key: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
        vector = np.random.default_rng(seed).normal(size=self.dim)
        return np.asarray(vector / np.linalg.norm(vector), dtype=np.float32)

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        out = []
        for text in texts:
            concept = self._concept.get(text)
            if concept is None:
                out.append(self._direction("text:" + text))
            else:  # near the concept, not on it: translations are close, not identical
                mixed = self._direction("concept:" + concept) + 0.3 * self._direction(text)
                out.append(mixed / np.linalg.norm(mixed))
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)


@pytest.fixture
def database(store_url: str) -> Iterator[Database]:
    with Database(store_url) as database:
        database.upgrade()
        yield database


def _lexical_ids(service: SimilarService, text: str, status: Status = Status.RESOLVED) -> list[str]:
    hits = service.lexical.search(text, 10, Filters(status))
    found = service.store.fetch([row for row, _ in hits])
    return [found[row].record.ticket_id for row, _ in hits]


def _found(service: SimilarService, text: str, *, hybrid: bool = True, k: int = 5) -> list[str]:
    vector = service.embed([service.text(text, None)])[0]
    result = service.find(vector, text=text if hybrid else None, k=k, min_score=-1.0)
    return [m.ticket.record.ticket_id for m in result.similar]


def test_the_full_text_index_follows_every_write(database: Database) -> None:
    service = SimilarService.open(database, HashingEmbedder(64))
    service.add([TicketRecord("A", subject="Printer jams", body="paper stuck in tray 2")])
    assert _lexical_ids(service, "tray") == ["A"]
    service.add([TicketRecord("A", subject="Printer jams", body="toner smears on every page")])
    assert _lexical_ids(service, "tray") == []
    assert _lexical_ids(service, "toner") == ["A"]
    assert service.delete("A") == 1
    assert _lexical_ids(service, "toner") == []
    # Open tickets: purged ones leave the index too.
    opened = TicketRecord("O", subject="Scanner offline since Monday", status=Status.OPEN)
    service.remember_open(opened, service.embed(["Scanner offline since Monday"])[0])
    assert _lexical_ids(service, "scanner", Status.OPEN) == ["O"]
    service.store.purge_open(utcnow())
    assert _lexical_ids(service, "scanner", Status.OPEN) == []
    service.close()


def test_a_rolled_back_write_leaves_no_index_entry(database: Database) -> None:
    service = SimilarService.open(database, HashingEmbedder(64))
    service.add([TicketRecord("A", subject="keyboard", body="keys stick")])
    now = utcnow()

    def half_done() -> None:
        with database.begin() as connection:
            connection.execute(
                tickets.update().where(tickets.c.ticket_id == "A").values(body="zanzibar")
            )
            connection.execute(
                tickets.insert().values(
                    tenant="",
                    ticket_id="B",
                    status="resolved",
                    visibility="public",
                    subject="zanzibar",
                    text_sha256="",
                    embedding=np.ones(64, dtype=np.float32).tobytes(),
                    created_at=now,
                    updated_at=now,
                )
            )
            raise RuntimeError("the request failed half-way")

    with pytest.raises(RuntimeError):
        half_done()
    assert _lexical_ids(service, "zanzibar") == []
    assert _lexical_ids(service, "stick") == ["A"]
    service.close()


def test_a_word_only_the_lexical_index_sees_surfaces(database: Database) -> None:
    # The query embeds like the 59 filler tickets; only its rare words point at T17.
    query = "ORA-12541 when posting to the ledger"
    filler = [f"ticket number {i} about nothing" for i in range(60) if i != 17]
    service = SimilarService.open(database, ConceptEmbedder({"filler": [query, *filler]}))
    records = [TicketRecord(f"T{i}", subject=f"ticket number {i} about nothing") for i in range(60)]
    records[17] = TicketRecord("T17", subject="ticket 17", body="error ORA-12541 on the ledger")
    service.add(records)
    assert "T17" not in _found(service, query, hybrid=False, k=50)  # dense: last of 60
    assert "T17" in _found(service, query, k=50)


def test_a_cross_language_query_still_finds_its_translation(database: Database) -> None:
    query = "Printer di lantai tiga macet, kertas nyangkut di baki dua"
    pair = "The printer on the third floor jams, paper is stuck in tray two"
    # An Indonesian ticket about something else that shares many of the query's words.
    lookalike = "Printer di lantai tiga tidak bisa scan, baki dua kosong"
    embedder = ConceptEmbedder({"jam": [query, pair]})
    service = SimilarService.open(database, embedder)
    service.add(
        [
            TicketRecord("EN-JAM", subject=pair),
            TicketRecord("ID-SCAN", subject=lookalike),
            *(TicketRecord(f"EN-{i}", subject=f"Unrelated request number {i}") for i in range(20)),
        ]
    )
    assert _found(service, query, hybrid=False)[0] == "EN-JAM"
    # The lexical index ranks the lookalike first and cannot see the English ticket ...
    assert _lexical_ids(service, query)[0] == "ID-SCAN"
    # ... yet the hybrid ranking keeps the translation where the dense one put it.
    assert _found(service, query)[0] == "EN-JAM"
    service.close()


def test_scores_stay_cosine_and_the_duplicate_flag_means_what_it_did(database: Database) -> None:
    service = SimilarService.open(database, HashingEmbedder(64), duplicate_threshold=0.9)
    service.add(
        [
            TicketRecord("VPN", subject="VPN disconnects every hour"),
            TicketRecord("MAIL", subject="Outlook asks for the password"),
        ]
    )
    text = "VPN disconnects every hour"
    vector = service.embed([service.text(text, None)])[0]
    dense = {m.ticket.record.ticket_id: m for m in service.find(vector, k=5).similar}
    hybrid = {m.ticket.record.ticket_id: m for m in service.find(vector, text=text, k=5).similar}
    assert set(hybrid) == set(dense)
    for ticket_id, match in hybrid.items():
        assert match.score == pytest.approx(dense[ticket_id].score, abs=1e-5)
        assert match.duplicate == dense[ticket_id].duplicate
    assert hybrid["VPN"].duplicate
    assert not hybrid["MAIL"].duplicate
    service.close()


def test_a_20000_character_ticket_is_indexed_to_its_last_word(database: Database) -> None:
    service = SimilarService.open(database, HashingEmbedder(64), max_text_chars=20_000)
    subject = "Nightly export fails"
    filler = "log line with nothing of note " * 700  # 21,000 characters
    body = filler[: 20_000 - len(subject) - len(" zanzibar")] + " zanzibar"
    assert len(subject) + len(body) == 20_000
    service.add(
        [
            TicketRecord("LONG", subject=subject, body=body),
            TicketRecord("SHORT", subject="Printer offline"),
        ]
    )
    assert _lexical_ids(service, "zanzibar") == ["LONG"]
    assert _found(service, "zanzibar export", k=1) == ["LONG"]
    service.close()


def test_the_migration_back_fills_a_store_that_existed_before_it(database_url: str) -> None:
    with Database(database_url) as database:
        config = database.alembic_config()
        command.upgrade(config, "0005")
        now = utcnow()
        with database.begin() as connection:
            connection.execute(
                tickets.insert(),
                [
                    {
                        "tenant": "",
                        "ticket_id": ticket_id,
                        "status": "resolved",
                        "visibility": "public",
                        "subject": subject,
                        "body": body,
                        "text_sha256": "",
                        "embedding": np.ones(64, dtype=np.float32).tobytes(),
                        "created_at": now,
                        "updated_at": now,
                    }
                    for ticket_id, subject, body in [
                        ("OLD-1", "Printer macet di lantai tiga", "kertas nyangkut"),
                        ("OLD-2", "VPN drops every hour", None),
                    ]
                ],
            )
        database.upgrade()
        service = SimilarService.open(database, HashingEmbedder(64), backend="embedded")
        assert _lexical_ids(service, "kertas") == ["OLD-1"]
        assert _lexical_ids(service, "vpn") == ["OLD-2"]
        service.close()
        command.downgrade(config, "0005")
        with database.begin() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM tickets")).scalar_one() == 2
        command.upgrade(config, "head")
        service = SimilarService.open(database, HashingEmbedder(64), backend="embedded")
        assert _lexical_ids(service, "macet") == ["OLD-1"]
        service.close()


def test_common_words_are_left_out_of_the_full_text_query(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triage.similar import lexical

    monkeypatch.setattr(lexical, "COMMON_SHARE", 0.5)
    monkeypatch.setattr(lexical, "COMMON_FLOOR", 0)
    service = SimilarService.open(database, HashingEmbedder(64))
    service.add([TicketRecord(f"P{i}", subject=f"printer {i} offline") for i in range(20)])
    service.add([TicketRecord("T", subject="toner low")])
    if database.is_postgres:  # PostgreSQL judges by its statistics, which ANALYZE keeps
        with database.begin() as connection:
            connection.execute(sa.text("ANALYZE tickets"))
    fresh = SimilarService.open(database, HashingEmbedder(64))
    assert _lexical_ids(fresh, "printer toner") == ["T"]
    assert _lexical_ids(fresh, "printer") == []
    service.close()
    fresh.close()


def test_the_full_text_query_keeps_the_rarest_words_within_the_postings_limit(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triage.similar import lexical

    monkeypatch.setattr(lexical, "MAX_POSTINGS", 5)
    service = SimilarService.open(database, HashingEmbedder(64))
    service.add([TicketRecord(f"P{i}", subject=f"printer {i} offline") for i in range(20)])
    service.add([TicketRecord("T", subject="toner low")])
    if database.is_postgres:  # PostgreSQL counts words in its statistics, kept by ANALYZE
        with database.begin() as connection:
            connection.execute(sa.text("ANALYZE tickets"))
    fresh = SimilarService.open(database, HashingEmbedder(64))
    # "printer" (20 tickets) does not fit beside "toner" (1) in 5: only "toner" is searched.
    assert _lexical_ids(fresh, "printer toner") == ["T"]
    # Alone, the rarest word is searched however many tickets hold it.
    assert len(_lexical_ids(fresh, "printer")) == 10
    monkeypatch.setattr(lexical, "MAX_POSTINGS", 21)
    assert len(_lexical_ids(fresh, "printer toner")) == 10
    service.close()
    fresh.close()


def test_the_best_full_text_matches_dropped_by_the_filters_do_not_hide_the_rest(
    database: Database,
) -> None:
    service = SimilarService.open(database, HashingEmbedder(64))
    # Open tickets full of the word rank above the resolved ones that mention it once.
    vector = service.embed(["printer"])[0]
    for i in range(12):
        opened = TicketRecord(f"O{i}", subject="printer printer printer", status=Status.OPEN)
        service.remember_open(opened, vector)
    service.add(
        [
            TicketRecord(f"R{i}", subject="Printer", body=f"paper tray {i} " + "word " * 30)
            for i in range(3)
        ]
    )
    hits = service.lexical.search("printer", 3, Filters(Status.RESOLVED))
    found = service.store.fetch([row for row, _ in hits])
    assert sorted(found[row].record.ticket_id for row, _ in hits) == ["R0", "R1", "R2"]
    service.close()


def test_word_counts_are_read_once_a_while_then_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite reads a word's count from the FTS5 vocabulary, which walks the word's whole
    # posting list: each word once per _FREQUENCY_TTL, not at every search.
    from triage.similar import lexical

    monkeypatch.setattr(lexical, "MAX_POSTINGS", 5)
    with Database(f"sqlite:///{tmp_path / 'triage.db'}") as database:
        database.upgrade()
        service = SimilarService.open(database, HashingEmbedder(64))
        service.add([TicketRecord("A0", subject="alpha"), TicketRecord("AB", subject="alpha beta")])
        service.add([TicketRecord(f"B{i}", subject=f"beta {i}") for i in range(2)])
        reads: list[str] = []

        def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
            if "ticket_fts_vocab" in statement:
                reads.append(statement)

        sa.event.listen(database.engine, "before_cursor_execute", count)
        # alpha 2 + beta 3 tickets fit in 5: both searched.
        assert sorted(_lexical_ids(service, "alpha beta")) == ["A0", "AB", "B0", "B1"]
        assert sorted(_lexical_ids(service, "beta alpha")) == ["A0", "AB", "B0", "B1"]
        assert len(reads) == 1
        service.add([TicketRecord(f"A{i}", subject="alpha") for i in range(1, 5)])
        assert len(_lexical_ids(service, "alpha beta")) == 8  # counts kept: alpha still 2
        monkeypatch.setattr(lexical, "_FREQUENCY_TTL", -1.0)
        # Read again: alpha in 6 tickets no longer fits beside beta (3).
        assert sorted(_lexical_ids(service, "alpha beta")) == ["AB", "B0", "B1"]
        assert len(reads) == 2
        sa.event.remove(database.engine, "before_cursor_execute", count)
        service.close()


def test_a_rare_word_outranks_a_common_one_repeated(database: Database) -> None:
    # BM25 on SQLite; on PostgreSQL ts_rank weighted by each word's IDF from its statistics.
    service = SimilarService.open(database, HashingEmbedder(64))
    service.add([TicketRecord(f"P{i}", subject=f"printer {i} offline") for i in range(20)])
    service.add(
        [
            TicketRecord("MANY", subject="printer printer printer", body="printer again"),
            TicketRecord("RARE", subject="toner low", body="replace the cartridge soon"),
        ]
    )
    if database.is_postgres:  # PostgreSQL counts words in its statistics, kept by ANALYZE
        with database.begin() as connection:
            connection.execute(sa.text("ANALYZE tickets"))
    fresh = SimilarService.open(database, HashingEmbedder(64))
    assert _lexical_ids(fresh, "printer toner")[0] == "RARE"
    service.close()
    fresh.close()
