"""Deliveries in the database (SQLite and PostgreSQL): one row per delivery under racing
retries, their own job queue, and write-backs claimed with a lease."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tests.webhooks.webhook_signing import SECRETS, fixture, sign
from tests.worker_process import triage_worker
from triage.service import Ticket, TriageService, classification_dict
from triage.service.webhook_runner import WebhookRunner
from triage.store.database import Database
from triage.store.deliveries import DeliveryStatus, DeliveryStore, WritebackStatus
from triage.store.jobs import JobStatus, JobStore
from triage.store.schema import metadata
from triage.webhooks.canonical import Inbound
from triage.webhooks.sources import receive


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    with Database(database_url) as db:
        db.upgrade()
        yield db


def inbound(name: str = "generic_ticket.json", delivery: str = "d-1") -> Inbound:
    body = fixture(name)
    return receive(
        "generic",
        body,
        sign("generic", body, delivery=delivery),
        secret=SECRETS["generic"],
        max_age=timedelta(minutes=5),
        now=datetime.now(UTC),
    )


def test_the_migration_creates_the_table_the_code_uses(database: Database) -> None:
    with database.engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), metadata)
    mine = [d for d in diffs if "webhook_deliveries" in repr(d)]
    assert mine == []


def test_racing_copies_of_one_delivery_make_one_row_and_one_job(database: Database) -> None:
    store = DeliveryStore(database)
    copy = inbound()
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: store.accept(copy, writeback=False), range(16)))
    assert sum(created for _, created in outcomes) == 1
    assert len({delivery.id for delivery, _ in outcomes}) == 1
    assert len({delivery.job_id for delivery, _ in outcomes}) == 1


def test_webhook_jobs_have_their_own_runner(database: Database, service: TriageService) -> None:
    jobs = JobStore(database)
    backlog = jobs.create([{"id": f"B{i}", "subject": "VPN drops"} for i in range(50)])
    deliveries = DeliveryStore(database)
    delivery, _ = deliveries.accept(inbound(), writeback=False)
    lease = timedelta(minutes=1)
    # The backlog runner never takes a delivery, the webhook runner only deliveries,
    # though the backlog job is older.
    claimed = jobs.claim("backlog", lease=lease, exclude_sources=("webhook",))
    assert claimed is not None
    assert claimed.id == backlog.id
    assert jobs.claim("backlog", lease=lease, exclude_sources=("webhook",)) is None
    runner = WebhookRunner(jobs, deliveries, lambda: service)
    assert runner.run_once()
    done = deliveries.get(delivery.id)
    assert done is not None
    assert done.status is DeliveryStatus.DONE
    assert done.result is not None
    assert done.result["id"] == "OST-204611"
    still = jobs.get(backlog.id)
    assert still is not None
    assert still.status is JobStatus.RUNNING  # untouched by the webhook runner


def test_a_writeback_waits_for_the_result_and_its_lease_lapses(
    database: Database, service: TriageService
) -> None:
    jobs, deliveries = JobStore(database), DeliveryStore(database)
    delivery, _ = deliveries.accept(inbound(), writeback=True)
    assert delivery.writeback is not None
    assert delivery.writeback.status is WritebackStatus.PENDING
    lease = timedelta(milliseconds=300)
    assert deliveries.claim_writebacks(["generic"], lease=lease) == []  # not triaged yet
    WebhookRunner(jobs, deliveries, lambda: service).run_once()
    [task] = deliveries.claim_writebacks(["generic"], lease=lease)
    assert (task.delivery_id, task.attempts, task.external_id) == (delivery.id, 1, "OST-204611")
    assert task.result is not None
    assert deliveries.claim_writebacks(["generic"], lease=lease) == []  # held by that worker
    time.sleep(0.4)  # the worker died: the lease lapses and the write-back is due again
    [again] = deliveries.claim_writebacks(["generic"], lease=lease)
    assert again.attempts == 2
    deliveries.writeback_step_done(delivery.id, ["note"])
    deliveries.writeback_finished(delivery.id, WritebackStatus.DONE)
    finished = deliveries.get(delivery.id)
    assert finished is not None
    assert finished.writeback is not None
    assert (finished.writeback.status, finished.writeback.steps_done) == (
        WritebackStatus.DONE,
        ["note"],
    )
    assert finished.result is not None


def test_a_batch_of_deliveries_is_triaged_in_one_pass_and_a_bad_ticket_fails_alone(
    database: Database, service: TriageService
) -> None:
    jobs, deliveries = JobStore(database), DeliveryStore(database)
    accepted = []
    for i, text in enumerate(["Printer jams", "VPN drops hourly", "x" * 6_000, "Mailbox full"]):
        body = json.dumps({"id": f"B-{i}", "subject": text}).encode()
        arrival = receive(
            "generic",
            body,
            sign("generic", body),
            secret=SECRETS["generic"],
            max_age=timedelta(minutes=5),
            now=datetime.now(UTC),
        )
        accepted.append(deliveries.accept(arrival, writeback=False)[0])
    assert WebhookRunner(jobs, deliveries, lambda: service).run_once()
    ended = [deliveries.get(d.id) for d in accepted]
    assert [d.status if d else None for d in ended] == [
        DeliveryStatus.DONE,
        DeliveryStatus.DONE,
        DeliveryStatus.FAILED,
        DeliveryStatus.DONE,
    ]
    assert ended[2] is not None
    assert ended[2].error == {
        "code": "ticket_too_large",
        "message": "subject and body are 6000 characters long; the limit is 5000",
    }
    alone = service.classify(Ticket(subject="VPN drops hourly", id="B-1"))
    assert ended[1] is not None
    assert ended[1].result == classification_dict(alone)


def test_the_worker_process_triages_deliveries_too(tmp_path: Path, artifact_dir: Path) -> None:
    """API replicas with TRIAGE_JOBS_WORKER=false rely on `triage worker` for deliveries."""
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    with Database(url) as database:
        database.upgrade()
        deliveries = DeliveryStore(database)
        delivery, _ = deliveries.accept(inbound(), writeback=False)

        def done() -> bool:
            current = deliveries.get(delivery.id)
            return current is None or current.status is DeliveryStatus.DONE

        with triage_worker(url, artifact_dir.parent) as worker:
            worker.wait_until(done)
            current = deliveries.get(delivery.id)
            assert current is not None
            assert current.status is DeliveryStatus.DONE
        assert worker.process.returncode == 0, worker.stderr
