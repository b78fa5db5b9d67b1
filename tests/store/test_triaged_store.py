"""The log of triaged tickets behind the staff page's queue, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from triage.store.database import Database
from triage.store.feedback import Feedback, FeedbackStore
from triage.store.schema import triaged, utcnow
from triage.store.triaged import HeadOutcome, QueueFilter, TriagedStore, ticket_decision


def heads(category: str, c_decision: str, tier: str, t_decision: str) -> dict[str, HeadOutcome]:
    return {
        "category": HeadOutcome(category, 0.9, 0.8, c_decision),
        "tier": HeadOutcome(tier, 0.6, None, t_decision),
    }


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    with Database(database_url) as database:
        database.upgrade()
        yield database


@pytest.fixture
def store(database: Database) -> TriagedStore:
    return TriagedStore(database)


def record(
    store: TriagedStore, ticket_id: str, predictions: dict[str, HeadOutcome], **kw: str
) -> int:
    return store.record(
        ticket_id=ticket_id,
        subject=kw.get("subject", f"subject of {ticket_id}"),
        body=kw.get("body", "body"),
        model_version="v1",
        predictions=predictions,
        source="api",
        tenant=kw.get("tenant", ""),
    )


def test_a_ticket_is_kept_with_every_head_and_the_least_certain_decision(
    store: TriagedStore,
) -> None:
    entry_id = record(store, "INC-1", heads("printers", "auto", "L2", "review"))
    entry = store.get(entry_id)
    assert entry is not None
    assert (entry.ticket_id, entry.subject, entry.model_version) == (
        "INC-1",
        "subject of INC-1",
        "v1",
    )
    assert entry.predictions["category"] == HeadOutcome("printers", 0.9, 0.8, "auto")
    assert entry.predictions["tier"] == HeadOutcome("L2", 0.6, None, "review")
    assert entry.decision == "review"
    assert not entry.reviewed
    assert store.get(entry_id + 1000) is None


def test_triaging_a_ticket_again_replaces_its_row_per_tenant(store: TriagedStore) -> None:
    first = record(store, "INC-1", heads("printers", "suggest", "L1", "suggest"))
    again = record(store, "INC-1", heads("network", "auto", "L1", "auto"))
    other_tenant = record(store, "INC-1", heads("email", "auto", "L1", "auto"), tenant="acme")
    assert again == first != other_tenant
    entry = store.get(first)
    assert entry is not None
    assert (entry.predictions["category"].label, entry.decision) == ("network", "auto")
    assert len(store.recent()) == 2


def test_feedback_after_triage_marks_it_reviewed_until_it_is_triaged_again(
    store: TriagedStore, database: Database
) -> None:
    entry_id = record(store, "INC-1", heads("printers", "review", "L1", "auto"))
    record(store, "INC-2", heads("printers", "review", "L1", "auto"))
    FeedbackStore(database).add([Feedback("INC-1", "tier", "L1", "L2", "v1", "auto", 0.6)])
    entry = store.get(entry_id)
    assert entry is not None
    assert entry.reviewed
    assert [e.ticket_id for e in store.recent(QueueFilter(pending_only=True))] == ["INC-2"]
    assert store.counts(QueueFilter(pending_only=True)) == {"auto": 0, "suggest": 0, "review": 1}

    record(store, "INC-1", heads("printers", "review", "L1", "auto"))  # it changed: again
    assert {e.ticket_id for e in store.recent(QueueFilter(pending_only=True))} == {"INC-1", "INC-2"}


def test_the_queue_filters_by_decision_category_and_tier_newest_first(
    store: TriagedStore,
) -> None:
    record(store, "A", heads("printers", "auto", "L1", "auto"))
    record(store, "B", heads("printers", "auto", "L2", "suggest"))
    record(store, "C", heads("network", "review", "L1", "auto"))
    record(store, "D", heads("printers", "review", "L1", "suggest"))
    assert [e.ticket_id for e in store.recent()] == ["D", "C", "B", "A"]
    assert [e.ticket_id for e in store.recent(QueueFilter(decision="review"))] == ["D", "C"]
    assert [e.ticket_id for e in store.recent(QueueFilter(decision="review", tier="L1"))] == [
        "D",
        "C",
    ]
    assert [e.ticket_id for e in store.recent(QueueFilter(category="printers", tier="L1"))] == [
        "D",
        "A",
    ]
    assert [e.ticket_id for e in store.recent(limit=2, offset=1)] == ["C", "B"]
    # The counts ignore the filter's own decision: they label the decision tabs.
    assert store.counts(QueueFilter(decision="auto", category="printers")) == {
        "auto": 1,
        "suggest": 1,
        "review": 1,
    }


def test_old_rows_are_purged_when_new_ones_are_written(database: Database) -> None:
    store = TriagedStore(database, keep=timedelta(days=30))
    old = record(store, "OLD", heads("printers", "auto", "L1", "auto"))
    with database.begin() as connection:
        connection.execute(
            triaged.update()
            .where(triaged.c.id == old)
            .values(triaged_at=utcnow() - timedelta(days=31))
        )
    record(store, "NEW", heads("printers", "auto", "L1", "auto"))
    assert [e.ticket_id for e in store.recent()] == ["NEW"]


def test_forget_removes_a_ticket_in_one_tenant_or_in_all(store: TriagedStore) -> None:
    record(store, "INC-1", heads("printers", "auto", "L1", "auto"))
    record(store, "INC-1", heads("printers", "auto", "L1", "auto"), tenant="acme")
    record(store, "INC-2", heads("printers", "auto", "L1", "auto"))
    assert store.forget("INC-1", tenant="acme") == 1
    assert store.forget("INC-1") == 1
    assert store.forget("INC-1") == 0
    assert [e.ticket_id for e in store.recent()] == ["INC-2"]


def test_a_ticket_decision_is_its_least_certain_head() -> None:
    assert ticket_decision(["auto", "auto"]) == "auto"
    assert ticket_decision(["auto", "suggest"]) == "suggest"
    assert ticket_decision(["suggest", "review", "auto"]) == "review"


def test_the_table_has_its_migration(database: Database) -> None:
    assert database.revision() == "0004" or int(database.revision() or 0) > 4
    columns = {c["name"] for c in sa.inspect(database.engine).get_columns("triaged")}
    assert set(triaged.c.keys()) == columns
