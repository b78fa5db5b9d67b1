"""Jobs are claimed by one worker at a time and resume after a worker dies."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from triage.service import TriageService
from triage.service.job_runner import JobRunner
from triage.store.database import Database
from triage.store.jobs import JobStatus, JobStore

TICKETS = [
    {"id": f"T{i}", "subject": "Printer jams", "body": f"Paper jam number {i}"} for i in range(10)
]


@pytest.fixture
def store(database_url: str) -> Iterator[JobStore]:
    with Database(database_url) as database:
        database.upgrade()
        yield JobStore(database)


def test_one_claim_per_job(store: JobStore) -> None:
    job = store.create(TICKETS)
    assert job.status is JobStatus.QUEUED
    assert job.total == 10
    first = store.claim("a", lease=timedelta(minutes=1))
    assert first is not None
    assert first.id == job.id
    assert first.status is JobStatus.RUNNING
    assert store.claim("b", lease=timedelta(minutes=1)) is None


def test_a_lapsed_lease_is_claimed_again_and_resumes(
    store: JobStore, service: TriageService
) -> None:
    job = store.create(TICKETS)
    # Worker "a" classifies 4 tickets, then dies without finishing.
    claimed = store.claim("a", lease=timedelta(milliseconds=200))
    assert claimed is not None
    chunk = store.pending(job.id, 4)
    store.record(
        job.id,
        "a",
        JobRunner._classify(service, chunk, explain=False),
        lease=timedelta(milliseconds=200),
        model_version=service.model.version,
    )
    assert store.claim("b", lease=timedelta(minutes=1)) is None  # lease still held
    time.sleep(0.3)

    runner = JobRunner(store, lambda: service, chunk_size=4)
    assert runner.run_once()
    finished = store.get(job.id)
    assert finished is not None
    assert finished.status is JobStatus.DONE
    assert (finished.done, finished.failed) == (10, 0)
    items = store.items(job.id)
    assert [i.position for i in items] == list(range(10))
    assert all(i.result is not None and i.result["id"] == f"T{i.position}" for i in items)
    # The dead worker's late write is refused: the job is no longer its own.
    assert not store.record(
        job.id, "a", {}, lease=timedelta(minutes=1), model_version=service.model.version
    )


def test_a_bad_ticket_fails_alone(store: JobStore, service: TriageService) -> None:
    job = store.create([TICKETS[0], {"id": "empty", "subject": "  ", "body": None}, TICKETS[1]])
    assert JobRunner(store, lambda: service).run_once()
    finished = store.get(job.id)
    assert finished is not None
    assert (finished.done, finished.failed) == (2, 1)
    errors = [i.error for i in store.items(job.id)]
    assert errors[0] is None
    assert errors[2] is None
    assert errors[1] is not None
    assert errors[1]["code"] == "invalid_ticket"


def test_a_stopping_runner_gives_the_job_back(store: JobStore, service: TriageService) -> None:
    job = store.create(TICKETS)
    runner = JobRunner(store, lambda: service, chunk_size=2)
    runner._stop.set()  # as on shutdown, after the claim
    assert runner.run_once()
    requeued = store.get(job.id)
    assert requeued is not None
    assert requeued.status is JobStatus.QUEUED
