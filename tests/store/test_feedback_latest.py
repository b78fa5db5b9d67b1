"""The latest feedback per ticket and head, whichever model version it was given on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from triage.store.database import Database
from triage.store.feedback import Feedback, FeedbackStore


@pytest.fixture
def store(database_url: str) -> Iterator[FeedbackStore]:
    with Database(database_url) as database:
        database.upgrade()
        yield FeedbackStore(database)


def test_latest_is_one_answer_per_ticket_and_head_the_newest_winning(
    store: FeedbackStore,
) -> None:
    store.add([Feedback("T1", "category", "printers", "hardware", "v1")])
    store.add([Feedback("T1", "category", "hardware", "network", "v2")])
    store.add([Feedback("T1", "tier", "L1", "L2", "v1"), Feedback("T2", "tier", "L1", "L1", "v1")])
    latest = {(f.ticket_id, f.head): f.final for f in store.latest()}
    assert latest == {("T1", "category"): "network", ("T1", "tier"): "L2", ("T2", "tier"): "L1"}

    # Correcting the answer given on v1 makes it the newest again.
    store.add([Feedback("T1", "category", "printers", "printers", "v1")])
    latest = {(f.ticket_id, f.head): f.final for f in store.latest()}
    assert latest["T1", "category"] == "printers"
