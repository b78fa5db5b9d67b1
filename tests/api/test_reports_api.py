"""POST /v1/events, GET /v1/reports/{name} (JSON and CSV), their 422s, scopes, and the
events the service records on its own paths (triage, feedback)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from triage.api.app import create_app
from triage.core.auth import ApiKey, Scope, hash_key
from triage.service import TriageService
from triage.settings import Settings

WINDOW = {"since": "2026-11-02T00:00:00Z", "until": "2026-11-04T00:00:00Z"}


def event(eid: str, kind: str, ticket: str, at: str, **kw: Any) -> dict[str, Any]:
    return {"id": eid, "kind": kind, "ticket_id": ticket, "at": at, **kw}


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory, artifact_dir: Any, service: TriageService
) -> Iterator[TestClient]:
    settings = Settings(
        models_dir=artifact_dir.parent,
        data_dir=tmp_path_factory.mktemp("var"),
        max_text_chars=5_000,
        jobs_worker=False,
    )
    with TestClient(create_app(settings, service=service)) as client:
        # A created at 2 Nov 09:00 (L1, email) resolved 13:00: 4 h; B created 3 Nov 10:00,
        # open. A's resolution is sent before its creation, and A's creation twice.
        first = client.post(
            "/v1/events", json=event("a-r", "resolved", "A", "2026-11-02T13:00:00Z")
        )
        assert first.status_code == 201
        assert first.json() == {"stored": 1, "duplicates": 0, "tickets": 1}
        batch = [
            event("a-c", "created", "A", "2026-11-02T09:00:00Z", tier="L1", channel="email"),
            event("a-c", "created", "A", "2026-11-02T09:00:00Z", tier="L1", channel="email"),
            event("a-r", "resolved", "A", "2026-11-02T13:00:00Z"),
            event("b-c", "created", "B", "2026-11-03T10:00:00+02:00", tier="L2", channel="web"),
        ]
        second = client.post("/v1/events", json=batch)
        assert second.status_code == 201, second.text
        assert second.json() == {"stored": 2, "duplicates": 2, "tickets": 2}
        yield client


def test_volume_as_json(api: TestClient) -> None:
    # 2 Nov: A new and resolved → backlog 0; 3 Nov: B new (08:00 UTC), open → backlog 1.
    body = api.get("/v1/reports/volume", params={**WINDOW, "bucket": "day"}).json()
    assert body["columns"] == ["period", "new", "resolved", "backlog"]
    assert body["rows"] == [
        {"period": "2026-11-02", "new": 1, "resolved": 1, "backlog": 0},
        {"period": "2026-11-03", "new": 1, "resolved": 0, "backlog": 1},
    ]
    assert body["since"].startswith("2026-11-02T00:00:00")


def test_resolution_as_csv_by_format_and_by_accept(api: TestClient) -> None:
    params = {**WINDOW, "group_by": "channel"}
    by_format = api.get("/v1/reports/resolution", params={**params, "format": "csv"})
    by_accept = api.get("/v1/reports/resolution", params=params, headers={"Accept": "text/csv"})
    for response in (by_format, by_accept):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        # A only: 4 h, resolved at L1 without escalation.
        assert response.text.splitlines() == [
            "channel,resolved,median_hours,p90_hours,resolved_at_l1,share_resolved_at_l1",
            "email,1,4.0,4.0,1,1.0",
        ]


@pytest.mark.parametrize(
    "params",
    [
        {"group_by": "colour"},
        {"bucket": "year"},
        {"since": "2026-11-05T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
    ],
)
def test_bad_queries_are_422_in_the_one_error_shape(
    api: TestClient, params: dict[str, str]
) -> None:
    response = api.get("/v1/reports/volume", params={**WINDOW, **params})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_report_query"


def test_an_unknown_report_is_404_and_a_bad_event_422(api: TestClient) -> None:
    unknown = api.get("/v1/reports/happiness")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "report_not_found")
    bad = event("x", "exploded", "A", "2026-11-02T09:00:00Z")
    assert api.post("/v1/events", json=bad).json()["error"]["code"] == "validation_error"


def test_a_triage_and_its_feedback_are_recorded_as_events(api: TestClient) -> None:
    triaged = api.post("/v1/triage", json={"id": "INC-77", "subject": "Printer jams on floor 3"})
    assert triaged.status_code == 200, triaged.text
    classification = triaged.json()["classification"]
    prediction = classification["predictions"]["category"]
    feedback = {
        "ticket_id": "INC-77",
        "head": "category",
        "predicted": prediction["label"],
        "final": prediction["label"],
        "model_version": classification["model_version"],
    }
    assert api.post("/v1/feedback", json=feedback).status_code == 201
    rows = api.get("/v1/reports/automation", params={"group_by": "head,source"}).json()["rows"]
    category = next(r for r in rows if r["head"] == "category")
    assert (category["source"], category["received"], category["reviewed"], category["kept"]) == (
        "api",
        1,
        1,
        1,
    )
    volume = api.get("/v1/reports/volume", params={"group_by": "channel"}).json()["rows"]
    assert sum(r["new"] for r in volume if r["channel"] == "api") == 1


def test_reports_need_the_reports_scope(settings: Settings, service: TriageService) -> None:
    keys = [
        ApiKey(name="helpdesk", sha256=hash_key("k-classify"), scopes={Scope.CLASSIFY}),
        ApiKey(name="lead", sha256=hash_key("k-reports"), scopes={Scope.REPORTS}),
    ]
    app = create_app(
        settings.model_copy(update={"api_keys": keys, "jobs_worker": False}), service=service
    )
    with TestClient(app) as client:
        refused = client.get("/v1/reports/staff", headers={"X-API-Key": "k-classify"})
        assert refused.status_code == 403
        allowed = client.get("/v1/reports/staff", headers={"X-API-Key": "k-reports"})
        assert allowed.status_code == 200
