"""API key rates counted in the database (migration 0017), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from triage.store.database import Database
from triage.store.key_rates import KeyRateStore

T0 = 1_800_000_000.0


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    with Database(database_url) as database:
        database.upgrade()
        yield database


def test_a_burst_of_the_rate_then_one_every_interval(database: Database) -> None:
    store = KeyRateStore(database)
    assert [store.take("desk", 6, now=T0) for _ in range(6)] == [0.0] * 6
    wait = store.take("desk", 6, now=T0)
    assert wait == pytest.approx(10.0)  # one of 6 a minute comes back every 10 s
    assert store.take("desk", 6, now=T0 + 9.9) > 0
    assert store.take("desk", 6, now=T0 + 10.0) == 0.0
    assert store.take("desk", 6, now=T0 + 10.0) > 0
    assert store.take("other", 6, now=T0) == 0.0  # each key its own


def test_a_refusal_counts_nothing(database: Database) -> None:
    store = KeyRateStore(database)
    for _ in range(2):
        store.take("desk", 2, now=T0)
    refused = [store.take("desk", 2, now=T0 + 1) for _ in range(50)]
    assert all(wait > 0 for wait in refused)
    assert store.take("desk", 2, now=T0 + 30.0) == 0.0  # 50 refusals did not push it back


def test_threads_racing_take_exactly_the_rate(database: Database) -> None:
    """Eight threads, each with its own connection, as eight workers would: 20 taken of 80
    asked, never more (each process counting its own let 8 × 20 through)."""
    store = KeyRateStore(database)
    taken: list[float] = []
    lock = threading.Lock()

    def ask() -> None:
        for _ in range(10):
            wait = store.take("busy", 20, now=T0)
            with lock:
                taken.append(wait)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(1 for wait in taken if wait == 0.0) == 20
