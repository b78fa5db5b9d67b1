"""Routing table versions (migration 0010), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from triage.store.database import Database
from triage.store.routing_tables import RoutingTableStore
from triage.store.schema import metadata
from triage.store.triaged import HeadOutcome, TriagedStore


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    with Database(database_url) as database:
        database.upgrade()
        yield database


def test_the_migration_creates_what_the_code_uses(database: Database) -> None:
    with database.engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), metadata)
    assert [d for d in diffs if "routing_tables" in repr(d) or "'route'" in repr(d)] == []


def test_versions_count_up_and_the_newest_comes_first(database: Database) -> None:
    store = RoutingTableStore(database)
    assert store.latest() == []
    first = store.add("rules: []\n", source="file:routing.yaml")
    second = store.add("fallback: desk\n", source="api", author="ops")
    assert (first.version, second.version) == (1, 2)
    assert [t.version for t in store.latest(5)] == [2, 1]
    assert store.latest()[0].author == "ops"
    from_file = store.latest_from("file:routing.yaml")
    assert from_file is not None
    assert (from_file.version, from_file.text) == (1, "rules: []\n")
    assert store.latest_from("file:other.yaml") is None


def test_a_triaged_ticket_keeps_its_route(database: Database) -> None:
    store = TriagedStore(database)
    route = {"group": "network", "queue": "network", "source": "rule", "rule_id": "vpn"}
    row = store.record(
        ticket_id="INC-1",
        subject="VPN",
        body="drops",
        model_version="v1",
        predictions={"category": HeadOutcome("network_vpn", 0.9, 0.8, "auto")},
        source="api",
        route=route,
    )
    kept = store.get(row)
    assert kept is not None
    assert kept.route == route
