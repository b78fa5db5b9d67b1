"""POST /v1/feedback and GET /v1/metrics/quality, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from triage.api.app import create_app
from triage.service import TriageService
from triage.settings import Settings


@pytest.fixture
def app_settings(settings: Settings, database_url: str) -> Settings:
    return settings.model_copy(update={"database_url": database_url, "jobs_worker": False})


@pytest.fixture
def api(app_settings: Settings, service: TriageService) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings, service=service)) as client:
        yield client


def test_feedback_from_a_classification_is_stored_and_measured(
    api: TestClient, app_settings: Settings, service: TriageService
) -> None:
    classified = api.post("/v1/classify", json={"id": "INC-9", "subject": "Printer jams"}).json()
    category = classified["predictions"]["category"]
    stored = api.post(
        "/v1/feedback",
        json={
            "ticket_id": "INC-9",
            "head": "category",
            "predicted": category["label"],
            "final": category["label"],
            "model_version": classified["model_version"],
            "decision": category["decision"],
            "confidence": category["confidence"],
        },
    )
    assert stored.status_code == 201
    assert stored.json() == {"stored": 1}

    # A new app on the same database (a restart) still has it.
    with TestClient(create_app(app_settings, service=service)) as restarted:
        report = restarted.get("/v1/metrics/quality").json()
    overall = report["heads"]["category"]["overall"]
    assert overall["feedback"] == 1
    assert overall["precision"] == 1.0
    label = category["label"]
    assert report["heads"]["category"]["classes"][label]["feedback"] == 1


def test_batch_feedback_and_filters(api: TestClient) -> None:
    items = [
        {
            "ticket_id": f"T{i}",
            "head": "tier",
            "predicted": "L1",
            "final": "L1" if i % 4 else "L2",
            "model_version": "v1" if i < 6 else "v2",
            "decision": "auto" if i % 2 else "review",
        }
        for i in range(8)
    ]
    assert api.post("/v1/feedback/batch", json={"items": items}).json() == {"stored": 8}
    tier = api.get("/v1/metrics/quality").json()["heads"]["tier"]["overall"]
    assert tier == {
        "feedback": 8,
        "precision": 0.75,
        "auto": 4,
        "auto_precision": 1.0,
        "coverage": 0.5,
        "abstain_rate": 0.5,
    }
    only_v2 = api.get("/v1/metrics/quality", params={"model_version": "v2"}).json()
    assert only_v2["heads"]["tier"]["overall"]["feedback"] == 2
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert api.get("/v1/metrics/quality", params={"since": future}).json()["heads"] == {}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"head": ""}, "head"),
        ({"decision": "maybe"}, "decision"),
        ({"confidence": 1.5}, "confidence"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_feedback_is_422_naming_the_field(
    api: TestClient, change: dict[str, object], field: str
) -> None:
    body = {
        "ticket_id": "T1",
        "head": "category",
        "predicted": "a",
        "final": "b",
        "model_version": "v1",
        **change,
    }
    response = api.post("/v1/feedback", json=body)
    assert response.status_code == 422
    assert field in response.json()["error"]["message"]
    assert api.get("/v1/metrics/quality").json()["heads"] == {}


def test_a_feedback_batch_over_the_limit_is_413(
    app_settings: Settings, service: TriageService
) -> None:
    small = app_settings.model_copy(update={"max_batch": 2})
    item = {"ticket_id": "T", "head": "h", "predicted": "a", "final": "a", "model_version": "v"}
    with TestClient(create_app(small, service=service)) as client:
        response = client.post("/v1/feedback/batch", json={"items": [item] * 3})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "batch_too_large"


def test_bad_since_is_422(api: TestClient) -> None:
    response = api.get("/v1/metrics/quality", params={"since": "yesterday"})
    assert response.status_code == 422
    assert "since" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"head": "urgency"}, "head 'urgency'"),
        ({"predicted": "coffee_machines"}, "'coffee_machines' is not a label head 'category'"),
        ({"head": "tier", "predicted": "L9"}, "'L9' is not a label head 'tier'"),
    ],
)
def test_feedback_for_a_head_or_label_the_model_has_not_is_422(
    api: TestClient, change: dict[str, str], named: str
) -> None:
    """Before: 201, and the live-quality charts counted it."""
    body = {
        "ticket_id": "T1",
        "head": "category",
        "predicted": "printers",
        "final": "a_brand_new_category",  # a label the model does not know yet is fine
        "model_version": "v1",
        **change,
    }
    refused = api.post("/v1/feedback", json=body)
    assert refused.status_code == 422, refused.text
    assert named in refused.json()["error"]["message"]
    batch = api.post("/v1/feedback/batch", json={"items": [{**body, **change}]})
    assert batch.status_code == 422
    assert api.get("/v1/metrics/quality").json()["heads"] == {}
    ok = {**body, "head": "category", "predicted": "printers"}
    assert api.post("/v1/feedback", json=ok).status_code == 201
