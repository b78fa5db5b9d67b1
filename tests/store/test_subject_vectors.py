"""Long tickets: the subject embedded apart and searched as a ranking of its own.

Each test runs on both backends (``store_url``: SQLite + the in-process index, PostgreSQL +
pgvector); the migration test on SQLite and a plain PostgreSQL (``database_url``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from alembic import command

from tests.store.test_hybrid_search import ConceptEmbedder
from triage.core.text import ticket_text
from triage.similar.hybrid import HybridSettings
from triage.similar.service import SimilarService
from triage.store.database import Database
from triage.store.records import Filters, Status, TicketRecord
from triage.store.schema import tickets, utcnow
from triage.store.ticket_rows import text_digest

# The subject ranking alone: what the subject vectors find, through ``find``.
WITH_SUBJECTS = HybridSettings(dense_weight=0.0, lexical_weight=0.0, subject_weight=1.0)
QUERY_SUBJECT = "Mail window freezes when a folder is compacted"
TARGET_SUBJECT = "Mailnews hangs while compacting folders"


def _log(i: int) -> str:
    """A long body of its own words: each ticket's vector is its body's, nothing shared."""
    return "\n".join(f"frame {i}-{n} at 0x{i * 977 + n:08x} in libxul" for n in range(40))


@pytest.fixture
def database(store_url: str) -> Iterator[Database]:
    with Database(store_url) as database:
        database.upgrade()
        yield database


def _embedder() -> ConceptEmbedder:
    # The query's text embeds like the other reports' (crash logs look alike), the
    # duplicate's as nothing else does: only the two subjects agree.
    reports = [f"{QUERY_SUBJECT}\n{_log(99)}"]
    reports += [f"Unrelated report {i}\n{_log(i)}" for i in range(30)]
    return ConceptEmbedder({"compact": [QUERY_SUBJECT, TARGET_SUBJECT], "reports": reports})


def _service(database: Database, settings: HybridSettings = WITH_SUBJECTS) -> SimilarService:
    return SimilarService.open(database, _embedder(), hybrid=settings)


def _records() -> list[TicketRecord]:
    out = [
        TicketRecord(f"BUG-{i}", subject=f"Unrelated report {i}", body=_log(i)) for i in range(30)
    ]
    out[11] = TicketRecord("DUP", subject=TARGET_SUBJECT, body=_log(11))
    return out


def _find(service: SimilarService, *, subject: str | None = QUERY_SUBJECT, k: int = 3) -> list[str]:
    """The query's matches (its subject, and a long body of its own), best first."""
    text = service.text(QUERY_SUBJECT, _log(99))
    vector = service.embed([text])[0]
    found = service.find(vector, text=text, subject=subject, k=k, min_score=-1.0)
    return [m.ticket.record.ticket_id for m in found.similar]


def test_a_long_ticket_is_found_by_its_subject(database: Database) -> None:
    service = _service(database)
    service.add(_records())
    text = service.text(QUERY_SUBJECT, _log(99))
    vector = service.embed([text])[0]
    row = service.store.get("DUP")
    assert row is not None
    subject = service.subject_vector(vector, text, QUERY_SUBJECT)
    found = service.candidates(vector, text, 30, Filters(), subject_vector=subject)
    # The ticket's vector is its long body's: the dense ranking puts it last ...
    assert found.dense.index(row.row_id) == 29
    # ... its subject's vector first; the score shown is still the tickets' cosine.
    assert found.subject[0] == row.row_id
    match = service.find(vector, text=text, subject=QUERY_SUBJECT, k=3, min_score=-1).similar[0]
    assert match.ticket.record.ticket_id == "DUP"
    stored = service.embed([service.text(TARGET_SUBJECT, _log(11))])[0]
    assert match.score == pytest.approx(float(vector @ stored), abs=1e-4)
    service.close()


@pytest.mark.parametrize(
    "settings",
    [
        HybridSettings(lexical_weight=0.0, subject_weight=0.0),  # no subject weight
        replace(WITH_SUBJECTS, dense_weight=1.0, long_words=1_000),  # a query not that long
    ],
)
def test_the_subject_is_not_embedded_without_its_weight_or_for_a_short_query(
    database: Database, settings: HybridSettings
) -> None:
    service = _service(database, settings)
    service.add(_records())
    text = service.text(QUERY_SUBJECT, _log(99))
    vector = service.embed([text])[0]
    calls: list[int] = []
    embed = service.embed

    def counted(texts: list[str], **options: bool) -> np.ndarray:
        calls.append(len(texts))
        return embed(texts, **options)

    service.embed = counted  # type: ignore[method-assign,assignment]
    found = service.find(vector, text=text, subject=QUERY_SUBJECT, k=3, min_score=-1.0)
    assert "DUP" not in [m.ticket.record.ticket_id for m in found.similar]
    assert calls == []
    service.close()


def test_a_changed_body_drops_the_old_subject_vector_and_a_ticket_without_body_has_one(
    database: Database,
) -> None:
    service = _service(database)
    service.add(_records())
    # The same subject with no body: its text is its subject, and its vector serves for both.
    service.add([TicketRecord("DUP", subject=TARGET_SUBJECT)])
    assert "DUP" in _find(service)
    subject_vector = service.embed([QUERY_SUBJECT])[0]
    hits = service.search_backend.search(subject_vector, 1, Filters(), subject=True)
    row = service.store.get("DUP")
    assert row is not None
    assert hits[0][0] == row.row_id
    # Another subject: the stored subject vector follows it.
    service.add([TicketRecord("DUP", subject="Printer offline", body=_log(11))])
    assert "DUP" not in _find(service)
    service.close()


def test_an_open_ticket_resolved_later_gets_its_subject_vector(database: Database) -> None:
    service = _service(database)
    service.add(_records()[:11] + _records()[12:])
    record = TicketRecord("DUP", subject=TARGET_SUBJECT, body=_log(11), status=Status.OPEN)
    service.remember_open(record, service.embed([service.text(TARGET_SUBJECT, _log(11))])[0])
    result = service.add([TicketRecord("DUP", subject=TARGET_SUBJECT, body=_log(11))])
    assert result.embedded == 1  # kept open without its subject's vector: embedded again
    assert "DUP" in _find(service)
    service.close()


def test_the_subject_index_is_in_the_snapshot(tmp_path: Path) -> None:
    snapshot = tmp_path / "vectors" / "index"
    with Database(f"sqlite:///{tmp_path / 'triage.db'}") as database:
        database.upgrade()
        embedder = _embedder()
        first = SimilarService.open(database, embedder, snapshot=snapshot, hybrid=WITH_SUBJECTS)
        first.add(_records())
        first.close()
        second = SimilarService.open(database, embedder, snapshot=snapshot, hybrid=WITH_SUBJECTS)
        assert len(second.search_backend.subjects) == 30  # type: ignore[attr-defined]
        assert "DUP" in _find(second)
        second.close()


def test_the_migration_marks_stored_tickets_for_their_subject_vectors(
    database_url: str,
) -> None:
    embedder = _embedder()
    with Database(database_url) as database:
        command.upgrade(database.alembic_config(), "0006")
        now = utcnow()
        rows = [
            ("DUP", TARGET_SUBJECT, _log(11)),
            ("BUG-1", "Unrelated report 1", _log(1)),
            ("SHORT", "Printer offline", None),
        ]
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
                        "text_sha256": text_digest(ticket_text([subject, body])),
                        "embedding": embedder.encode([ticket_text([subject, body])])[0]
                        .astype(np.float32)
                        .tobytes(),
                        "created_at": now,
                        "updated_at": now,
                    }
                    for ticket_id, subject, body in rows
                ],
            )
        database.upgrade()
        service = SimilarService.open(database, embedder, backend="embedded", hybrid=WITH_SUBJECTS)
        digest = text_digest("Printer offline")
        assert service.store.digests([("", "SHORT")]) == {("", "SHORT"): digest}
        row = service.store.get("DUP")
        assert row is not None
        # Until embedded again, a ticket's subject vector is its vector.
        _, own = service.store.vectors([row.row_id])
        _, by_subject = service.store.vectors([row.row_id], subject=True)
        np.testing.assert_array_equal(by_subject, own)
        assert service.reembed_all() == 2  # the two with a subject and a body
        _, by_subject = service.store.vectors([row.row_id], subject=True)
        np.testing.assert_allclose(by_subject[0], embedder.encode([TARGET_SUBJECT])[0], atol=1e-6)
        assert _find(service, k=1) == ["DUP"]
        service.close()
