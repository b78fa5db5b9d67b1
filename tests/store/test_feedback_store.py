"""Feedback is durable, deduplicated per ticket/head/model, and measured correctly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from triage.store.database import HEAD_REVISION, Database
from triage.store.feedback import Feedback, FeedbackStore
from triage.store.schema import utcnow


@pytest.fixture
def store(database_url: str) -> Iterator[FeedbackStore]:
    with Database(database_url) as database:
        database.upgrade()
        yield FeedbackStore(database)


def test_migrations_are_idempotent_and_at_head(database_url: str) -> None:
    with Database(database_url) as database:
        database.upgrade()
        database.upgrade()
        assert database.revision() == database.head_revision() is not None


def test_the_head_revision_the_code_knows_is_alembics(tmp_path: Path) -> None:
    # Start-up skips Alembic when the database is at HEAD_REVISION: a new migration must
    # move it too, or a database would never be upgraded past the old head.
    with Database(f"sqlite:///{tmp_path / 'h.db'}") as database:
        assert database.head_revision() == HEAD_REVISION
        assert database.revision() is None
        database.upgrade()
        assert database.revision() == HEAD_REVISION


def test_feedback_survives_a_new_engine(database_url: str, store: FeedbackStore) -> None:
    store.add([Feedback("T1", "category", "printers", "printers", "v1", "auto", 0.9)])
    store.database.dispose()
    with Database(database_url) as database:
        assert FeedbackStore(database).count() == 1


def test_a_repeat_corrects_rather_than_duplicates(store: FeedbackStore) -> None:
    store.add([Feedback("T1", "category", "printers", "network", "v1", "auto")])
    store.add(
        [
            Feedback("T1", "category", "printers", "printers", "v1", "auto"),
            Feedback("T1", "category", "printers", "printers", "v2", "auto"),  # another model
        ]
    )
    assert store.count() == 2
    quality = store.quality(model_version="v1")["category"].overall
    assert quality.feedback == 1
    assert quality.precision == 1.0


def test_quality_per_head_and_class(store: FeedbackStore) -> None:
    store.add(
        [
            Feedback("T1", "category", "printers", "printers", "v1", "auto", 0.97),
            Feedback("T2", "category", "printers", "network", "v1", "auto", 0.96),
            Feedback("T3", "category", "printers", "printers", "v1", "suggest", 0.7),
            Feedback("T4", "category", "network", "network", "v1", "review", 0.3),
            Feedback("T5", "category", "network", "email", "v1"),  # no decision sent
            Feedback("T1", "tier", "L1", "L2", "v1", "review", 0.4),
        ]
    )
    report = store.quality()
    assert sorted(report) == ["category", "tier"]
    printers = report["category"].classes["printers"]
    assert (printers.feedback, printers.precision) == (3, round(2 / 3, 4))
    assert (printers.auto, printers.auto_precision, printers.coverage) == (2, 0.5, round(2 / 3, 4))
    assert printers.abstain_rate == 0.0
    network = report["category"].classes["network"]
    assert network.precision == 0.5
    assert network.auto_precision is None  # never automatic: no precision to claim
    assert network.abstain_rate == 1.0  # of the one that says its decision
    overall = report["category"].overall
    assert (overall.feedback, overall.auto, overall.coverage) == (5, 2, 0.5)
    assert report["tier"].overall.precision == 0.0


def test_quality_since_excludes_older_feedback(store: FeedbackStore) -> None:
    store.add([Feedback("T1", "category", "printers", "printers", "v1", "auto")])
    assert store.quality(since=utcnow() + timedelta(seconds=5)) == {}
    assert store.quality(since=utcnow() - timedelta(minutes=1))["category"].overall.feedback == 1


def test_quality_until_excludes_newer_feedback(store: FeedbackStore) -> None:
    store.add([Feedback("T1", "category", "printers", "printers", "v1", "auto")])
    assert store.quality(until=utcnow() - timedelta(seconds=5)) == {}
    now = utcnow()
    window = store.quality(since=now - timedelta(minutes=1), until=now + timedelta(seconds=5))
    assert window["category"].overall.feedback == 1


def test_for_ticket_gives_the_latest_answer_per_head(store: FeedbackStore) -> None:
    store.add([Feedback("T1", "tier", "L1", "L2", "v1", "suggest", 0.6)])
    store.add(
        [
            Feedback("T1", "tier", "L2", "L3", "v2", "review", 0.4),  # later, on another model
            Feedback("T1", "category", "printers", "printers", "v2", "auto", 0.9),
            Feedback("T2", "tier", "L1", "L1", "v2"),
        ]
    )
    found = store.for_ticket("T1")
    assert sorted(found) == ["category", "tier"]
    assert (found["tier"].predicted, found["tier"].final, found["tier"].model_version) == (
        "L2",
        "L3",
        "v2",
    )
    assert found["category"] == Feedback(
        "T1", "category", "printers", "printers", "v2", "auto", 0.9
    )
    assert store.for_ticket("nope") == {}
