"""Incidents over HTTP: /v1/triage names a member's incident; list, detail, staff actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from triage.api.app import create_app
from triage.service import TriageService
from triage.settings import Settings

SURGE = "VPN gateway unreachable, cannot connect to the office network from home"


def _triage(client: TestClient, ticket_id: str | None, minutes: float = 0) -> dict:
    at = datetime.now(UTC) - timedelta(minutes=30 - minutes)
    body = {"subject": "VPN down", "body": SURGE, "created_at": at.isoformat()}
    if ticket_id is not None:
        body["id"] = ticket_id
    response = client.post("/v1/triage", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_surge_over_the_api_becomes_one_incident_staff_can_decide_on(
    client: TestClient,
) -> None:
    answers = [_triage(client, f"INC-{i}", minutes=i) for i in range(6)]
    assert [a["incident"] for a in answers[:4]] == [None] * 4
    opened, joined = answers[4]["incident"], answers[5]["incident"]
    assert opened["opened"]
    assert opened["size"] == 5
    assert opened["status"] == "open"
    assert joined == {"id": opened["id"], "status": "open", "size": 6, "opened": False}
    assert _triage(client, None)["incident"] is None  # no id: never a member

    listed = client.get("/v1/incidents", params={"status": "open"}).json()["incidents"]
    assert [i["id"] for i in listed] == [opened["id"]]
    detail = client.get(f"/v1/incidents/{opened['id']}").json()
    assert [m["id"] for m in detail["members"]] == [f"INC-{i}" for i in range(6)]
    words = set(f"vpn down {SURGE}".lower().replace(",", "").split())
    assert len(detail["terms"]["en"]) == 5
    assert set(detail["terms"]["en"]) <= words
    assert detail["terms"]["id"] == []
    assert detail["category"] is not None
    assert detail["parent_ticket_id"] in {m["id"] for m in detail["members"]}

    metrics = client.get("/metrics").text
    assert "triage_incidents_open 1.0" in metrics
    assert "triage_incidents_opened_last_hour 1.0" in metrics

    itself = client.post(f"/v1/incidents/{opened['id']}/merge", json={"into": opened["id"]})
    assert itself.status_code == 409
    assert itself.json()["error"]["code"] == "incident_conflict"
    assert "cannot be merged into itself" in itself.json()["error"]["message"]
    first = client.post(f"/v1/incidents/{opened['id']}/dismiss")
    assert first.status_code == 200
    assert first.json()["status"] == "dismissed"
    assert first.json()["decisions"][0]["action"] == "dismiss"
    second = client.post(f"/v1/incidents/{opened['id']}/dismiss")
    assert second.status_code == 409
    assert second.json()["error"]["message"] == f"incident {opened['id']} is already dismissed"
    assert "triage_incidents_open 0.0" in client.get("/metrics").text

    assert client.delete("/v1/tickets/INC-0").status_code == 200  # forgotten everywhere
    members = client.get(f"/v1/incidents/{opened['id']}").json()["members"]
    assert [m["id"] for m in members] == [f"INC-{i}" for i in range(1, 6)]

    missing = client.get("/v1/incidents/99999")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "incident_not_found"


def test_helpdesk_webhook_tickets_join_incidents_from_the_triage_embedding(
    settings: Settings, service: TriageService
) -> None:
    """A delivered ticket, triaged by the webhook runner, is checked for an incident with the
    vector its classification used."""
    app = create_app(settings.model_copy(update={"jobs_worker": False}), service=service)
    with TestClient(app) as client:
        _run_webhook_surge(client, service)


def _run_webhook_surge(client: TestClient, service: TriageService) -> None:
    from triage.service.webhook_runner import WebhookRunner
    from triage.webhooks.config import WEBHOOK_JOB_SOURCE

    state = client.app.state  # type: ignore[attr-defined]
    tickets = [{"id": f"ZD-{i}", "subject": "Printer offline", "body": PRINTER} for i in range(5)]
    for ticket in tickets:
        state.jobs.create([ticket], source=WEBHOOK_JOB_SOURCE)
    embedded: list[int] = []
    original = service.embed
    service.embed = lambda texts: embedded.append(len(texts)) or original(texts)  # type: ignore[method-assign]
    try:
        runner = WebhookRunner(
            state.jobs, state.deliveries, lambda: service, incidents=state.incidents
        )
        while runner.triage_batch(32):
            pass
    finally:
        service.embed = original  # type: ignore[method-assign]
    assert sum(embedded) == 5  # one embedding per ticket: detection computed none of its own
    incident_id = state.incidents.store.incident_of("", "ZD-4")
    assert incident_id is not None
    members = [m["id"] for m in client.get(f"/v1/incidents/{incident_id}").json()["members"]]
    assert members == [f"ZD-{i}" for i in range(5)]


PRINTER = "Every print job is stuck in the queue and the floor 2 printers show offline"
