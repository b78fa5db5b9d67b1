"""The database goes away and comes back: classification carries on, writes say "retry"."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.conftest import fresh_postgres_database
from tests.faults.tcp_proxy import TcpProxy
from triage.api.app import create_app
from triage.service import TriageService
from triage.settings import Settings

RESOLVED = {
    "id": "INC-1",
    "subject": "Printer on 3rd floor jams",
    "body": "Paper jam in tray 2; cleared the rollers.",
    "resolution": "Replaced the tray 2 pickup roller.",
}
QUERY = {"subject": "Printer on 3rd floor jams again", "body": "Paper jam in tray 2"}


@pytest.fixture
def proxied_database(postgres_server: str) -> Iterator[tuple[str, TcpProxy]]:
    """A fresh PostgreSQL database reached through a proxy the test can cut."""
    with fresh_postgres_database(postgres_server) as url:
        parsed = sa.make_url(url)
        with TcpProxy((parsed.host or "127.0.0.1", parsed.port or 5432)) as proxy:
            yield parsed.set(port=proxy.port).render_as_string(hide_password=False), proxy


def _feedback(ticket_id: str, version: str) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "head": "category",
        "predicted": "printers",
        "final": "hardware",
        "model_version": version,
    }


def test_a_lost_database_degrades_answers_and_everything_recovers(
    proxied_database: tuple[str, TcpProxy],
    service: TriageService,
    artifact_dir: Path,
    tmp_path: Path,
) -> None:
    url, proxy = proxied_database
    version = artifact_dir.name
    settings = Settings(
        models_dir=artifact_dir.parent,
        data_dir=tmp_path / "var",
        database_url=url,
        model_watch_seconds=0,
    )
    with TestClient(create_app(settings, service=service)) as client:
        assert client.post("/v1/tickets/resolved", json=RESOLVED).status_code == 201
        whole = client.post("/v1/triage", json={**QUERY, "id": "INC-2"}).json()
        assert whole["degraded"] == []
        assert [m["id"] for m in whole["similar"]] == ["INC-1"]
        assert client.post("/v1/feedback", json=_feedback("INC-2", version)).status_code == 201

        proxy.cut()
        started = time.monotonic()
        classified = client.post("/v1/classify", json=QUERY)
        assert classified.status_code == 200
        assert classified.json()["predictions"] == whole["classification"]["predictions"]

        triaged = client.post("/v1/triage", json={**QUERY, "id": "INC-3"})
        assert triaged.status_code == 200
        body = triaged.json()
        assert body["degraded"] == ["similar", "queue", "incidents"]
        assert (body["similar"], body["duplicates"]) == ([], [])
        assert body["classification"]["predictions"] == whole["classification"]["predictions"]
        anonymous = client.post("/v1/triage", json=QUERY).json()
        assert anonymous["degraded"] == ["similar"]  # nothing to queue without an id

        refused = client.post("/v1/feedback", json=_feedback("INC-3", version))
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "5"
        assert set(refused.json()) == {"error"}
        error = refused.json()["error"]
        assert set(error) == {"code", "message", "details"}
        assert error["code"] == "store_unavailable"
        assert "127.0.0.1" not in error["message"]  # where the database lives stays private
        assert client.post("/v1/similar", json=QUERY).status_code == 503
        assert client.get("/readyz").status_code == 200  # it still classifies
        outage = time.monotonic() - started
        print(f"\n6 requests while the database was away answered in {outage:.2f} s")
        assert outage < 10  # refused connections fail fast; nothing waits for a timeout

        proxy.restore()
        stored = client.post("/v1/feedback", json=_feedback("INC-3", version))
        assert stored.status_code == 201, stored.text
        again = client.post("/v1/triage", json={**QUERY, "id": "INC-4"}).json()
        assert again["degraded"] == []
        assert [m["id"] for m in again["similar"]] == ["INC-1"]
        assert {d["id"] for d in again["duplicates"]} == {"INC-2"}  # INC-3 was never kept
        quality = client.get("/v1/metrics/quality").json()
        assert quality["heads"]["category"]["overall"]["feedback"] == 2
        job = client.post("/v1/jobs/classify", json={"tickets": [QUERY]}).json()
        deadline = time.monotonic() + 30
        while job["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, f"the job runner never came back: {job}"
            time.sleep(0.05)
            job = client.get(f"/v1/jobs/{job['id']}").json()
        assert job["status"] == "done"
