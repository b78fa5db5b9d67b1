"""Forget a ticket everywhere, and the retention period (issue 24, privacy).

Before: after ``DELETE /v1/tickets/{id}``, ``GET /v1/webhooks/deliveries/{id}`` still gave
the requester's text and e-mail, and job items kept the ticket's text; deliveries and jobs
were kept for ever.
"""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.webhooks.test_webhook_api import post, wait_for
from tests.webhooks.webhook_signing import fixture_json
from triage.service.retention import Retention
from triage.store.deliveries import DeliveryStore
from triage.store.jobs import JobStore
from triage.store.schema import utcnow

SECRET_TEXT = "my password is hunter2"


def _deliver(api: TestClient) -> dict:  # type: ignore[type-arg]
    payload = fixture_json("generic_ticket.json") | {"body": SECRET_TEXT}
    accepted = post(api, "generic", json.dumps(payload).encode())
    assert accepted.status_code == 202, accepted.text
    return wait_for(api, accepted.headers["location"])


def _job_tickets(api: TestClient) -> list[dict]:  # type: ignore[type-arg]
    store = JobStore(api.app.state.database)  # type: ignore[attr-defined]
    with store.database.begin() as connection:
        from triage.store.schema import job_items

        return [
            row[0]
            for row in connection.execute(job_items.select().with_only_columns(job_items.c.ticket))
        ]


def test_forgetting_a_ticket_takes_its_text_out_of_deliveries_and_jobs(api: TestClient) -> None:
    delivery = _deliver(api)
    assert delivery["ticket"]["requester"] == "pedro.alves@example.com"
    queued = api.post(
        "/v1/jobs/classify", json={"tickets": [{"id": "OST-204611", "body": SECRET_TEXT}]}
    )
    assert queued.status_code == 202, queued.text
    assert sum(SECRET_TEXT in json.dumps(t) for t in _job_tickets(api)) == 2

    forgotten = api.delete("/v1/tickets/OST-204611")
    assert forgotten.status_code == 200, forgotten.text
    assert forgotten.json() | {"queue": 0} == {
        "deleted": 0,
        "queue": 0,
        "deliveries": 1,
        "job_items": 2,
        "emails": 0,
    }
    after = api.get(f"/v1/webhooks/deliveries/{delivery['id']}").json()
    assert after["ticket"]["external_id"] == "OST-204611"
    assert after["ticket"]["subject"] is None
    assert after["ticket"]["body"] is None
    assert after["ticket"]["requester"] is None
    assert "pedro.alves" not in json.dumps(after)
    assert not any(SECRET_TEXT in json.dumps(t) for t in _job_tickets(api))
    # A retry of the same delivery is still recognised, and not triaged again.
    payload = fixture_json("generic_ticket.json") | {"body": SECRET_TEXT}
    retried = post(api, "generic", json.dumps(payload).encode())
    assert retried.json()["id"] == delivery["id"]


def test_forgetting_an_unknown_ticket_is_404(api: TestClient) -> None:
    assert api.delete("/v1/tickets/NOPE-1").status_code == 404


def test_deliveries_and_finished_jobs_past_the_retention_period_are_deleted(
    api: TestClient,
) -> None:
    delivery = _deliver(api)
    database = api.app.state.database  # type: ignore[attr-defined]
    retention = Retention(JobStore(database), DeliveryStore(database), timedelta(days=90))
    assert retention.run(now=utcnow() + timedelta(days=89)) == (0, 0)
    assert retention.run(now=utcnow() + timedelta(days=91)) == (1, 1)
    assert api.get(f"/v1/webhooks/deliveries/{delivery['id']}").status_code == 404
