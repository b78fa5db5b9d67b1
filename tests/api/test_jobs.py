"""Background jobs over HTTP: queued durably, resumed after a restart, results paged."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from triage.api.app import create_app
from triage.service import TriageService
from triage.settings import Settings

TICKETS = [
    {"id": "INC-1", "subject": "Printer jams", "body": "Paper jam on floor 3"},
    {"id": "INC-2", "subject": "VPN drops", "body": "The VPN disconnects every hour"},
    {"id": "INC-3", "subject": "Laptop tidak bisa menyala", "body": "Laptop mati total"},
]


@pytest.fixture
def app_settings(settings: Settings, database_url: str) -> Settings:
    return settings.model_copy(update={"database_url": database_url, "job_chunk_size": 2})


def wait_for(client: TestClient, job_id: str, **params: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}", params=params).json()
        if job["status"] in ("done", "failed"):
            return dict(job)
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not end: {job}")


@pytest.fixture
def api(app_settings: Settings, service: TriageService) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings, service=service)) as client:
        yield client


def test_a_job_runs_and_answers_like_classify(api: TestClient) -> None:
    created = api.post("/v1/jobs/classify", json={"tickets": TICKETS})
    assert created.status_code == 202
    body = created.json()
    assert body["status"] == "queued"
    assert body["total"] == 3
    assert created.headers["location"].endswith(f"/v1/jobs/{body['id']}")
    job = wait_for(api, body["id"])
    assert (job["status"], job["done"], job["failed"], job["progress"]) == ("done", 3, 0, 1.0)
    assert [r["id"] for r in job["results"]] == ["INC-1", "INC-2", "INC-3"]
    direct = api.post("/v1/classify", json=TICKETS[1]).json()
    assert job["results"][1]["result"] == direct


def test_a_queued_job_survives_a_restart(app_settings: Settings, service: TriageService) -> None:
    no_worker = app_settings.model_copy(update={"jobs_worker": False})
    with TestClient(create_app(no_worker, service=service)) as client:
        job_id = client.post("/v1/jobs/classify", json={"tickets": TICKETS}).json()["id"]
        time.sleep(0.2)
        assert client.get(f"/v1/jobs/{job_id}").json()["status"] == "queued"
    with TestClient(create_app(app_settings, service=service)) as restarted:
        job = wait_for(restarted, job_id)
    assert job["done"] == 3


def test_csv_and_jsonl_uploads(api: TestClient) -> None:
    csv = "id,subject,body,extra\nA,Printer jams,paper everywhere,x\nB,,,y\nC,VPN,drops,z\n"
    created = api.post(
        "/v1/jobs/classify", content=csv.encode(), headers={"Content-Type": "text/csv"}
    )
    assert created.status_code == 202
    job = wait_for(api, created.json()["id"])
    assert (job["done"], job["failed"]) == (2, 1)
    assert job["results"][1]["error"]["code"] == "invalid_ticket"
    assert job["results"][1]["id"] == "B"

    jsonl = '{"id": "J1", "subject": "Printer jams"}\n{"id": "J2", "body": "VPN drops"}\n'
    created = api.post(
        "/v1/jobs/classify",
        content=jsonl.encode(),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert created.status_code == 202
    assert wait_for(api, created.json()["id"])["done"] == 2


def test_a_windows_1252_csv_upload_is_read_and_the_encoding_said(api: TestClient) -> None:
    csv = "id,subject\nW1,Imprimante bloquée au 3e étage\n".encode("cp1252")
    created = api.post("/v1/jobs/classify", content=csv, headers={"Content-Type": "text/csv"})
    assert created.status_code == 202, created.text
    assert created.headers["X-Upload-Encoding"] == "cp1252; detected"
    named = api.post(
        "/v1/jobs/classify",
        content=csv,
        headers={"Content-Type": "text/csv; charset=windows-1252"},
    )
    assert named.headers["X-Upload-Encoding"] == "cp1252"
    assert wait_for(api, named.json()["id"])["done"] == 1


def test_results_are_paged(api: TestClient) -> None:
    tickets = [{"id": f"P{i}", "subject": f"Printer jam {i}"} for i in range(7)]
    job_id = api.post("/v1/jobs/classify", json={"tickets": tickets}).json()["id"]
    first = wait_for(api, job_id, limit=3)
    assert [r["position"] for r in first["results"]] == [0, 1, 2]
    page = api.get(first["links"]["next"]).json()
    assert [r["position"] for r in page["results"]] == [3, 4, 5]
    last = api.get(f"/v1/jobs/{job_id}", params={"offset": 6, "limit": 3}).json()
    assert [r["id"] for r in last["results"]] == ["P6"]
    assert "next" not in last["links"]


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b'{"tickets": []}', "application/json", 422, "validation_error"),
        (b'{"tickets": [{"subject": " "}]}', "application/json", 422, "validation_error"),
        (b"not json", "application/json", 422, "validation_error"),
        (b"a,b\n1,2\n", "text/csv", 422, "invalid_data"),
        (b"{broken\n", "application/x-ndjson", 422, "invalid_data"),
        (b"<xml/>", "application/xml", 415, "unsupported_media_type"),
    ],
)
def test_bad_jobs_are_refused_and_nothing_is_queued(
    api: TestClient, content: bytes, content_type: str, status: int, code: str
) -> None:
    response = api.post(
        "/v1/jobs/classify", content=content, headers={"Content-Type": content_type}
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_limits(app_settings: Settings, service: TriageService) -> None:
    small = app_settings.model_copy(update={"max_job_tickets": 2, "max_upload_bytes": 2_000})
    with TestClient(create_app(small, service=service)) as client:
        too_many = client.post("/v1/jobs/classify", json={"tickets": TICKETS})
        assert too_many.status_code == 413
        assert too_many.json()["error"]["code"] == "batch_too_large"
        big = "id,subject\n" + "x,printer jam\n" * 500
        too_big = client.post(
            "/v1/jobs/classify", content=big.encode(), headers={"Content-Type": "text/csv"}
        )
        assert too_big.status_code == 413
        assert too_big.json()["error"]["code"] == "payload_too_large"


def test_unknown_job_is_404(api: TestClient) -> None:
    response = api.get("/v1/jobs/0123456789abcdef")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "job_not_found"
