"""Similar tickets over HTTP, on both backends: SQLite + in-process index, and pgvector."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from triage.api.app import create_app
from triage.core.auth import ApiKey, Scope, hash_key
from triage.service import TriageService
from triage.settings import Settings

RESOLVED = [
    {
        "id": "R-VPN",
        "subject": "VPN disconnects every hour",
        "body": "The VPN client drops the connection about once an hour since the update.",
        "resolution": "Updated the VPN client to 7.2.",
        "category": "network",
        "tier": "L1",
        "resolved_at": "2026-11-20T14:03:00Z",
    },
    {
        "id": "R-PRINT",
        "subject": "Printer on floor 3 jams",
        "body": "Every print job stops with a paper jam in tray 2.",
        "resolution": "Replaced the tray 2 pickup roller.",
        "category": "printers",
        "tier": "L2",
        "resolved_at": "2026-11-21T09:00:00Z",
    },
    {
        "id": "R-MAIL",
        "subject": "Outlook asks for the password again and again",
        "body": "Outlook keeps prompting for credentials after the password change.",
        "resolution": "Cleared the cached credentials in Windows Credential Manager.",
        "category": "email",
        "tier": "L1",
        "resolved_at": "2026-11-22T10:00:00Z",
        "visibility": "internal",
    },
]
VPN_QUERY = {"subject": "VPN keeps disconnecting", "body": "my VPN drops every hour"}
ADMIN_KEY, CLASSIFY_KEY, FEEDBACK_KEY = "trg_admin", "trg_classify", "trg_feedback"


@pytest.fixture
def app_settings(settings: Settings, store_url: str) -> Settings:
    return settings.model_copy(update={"database_url": store_url, "jobs_worker": False})


@pytest.fixture
def api(app_settings: Settings, service: TriageService) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings, service=service)) as client:
        assert client.post("/v1/tickets/resolved", json={"tickets": RESOLVED}).status_code == 201
        yield client


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()["similar"]]


def test_the_most_similar_resolved_ticket_comes_first(api: TestClient) -> None:
    response = api.post("/v1/similar", json={**VPN_QUERY, "k": 2})
    found = response.json()["similar"]
    assert len(found) == 2
    top = found[0]
    assert top["id"] == "R-VPN"
    assert top["resolution"] == "Updated the VPN client to 7.2."
    assert (top["category"], top["tier"]) == ("network", "L1")
    assert top["resolved_at"].startswith("2026-11-20T14:03")
    assert found[0]["score"] >= found[1]["score"]


def test_a_ticket_added_through_the_api_is_found_after_a_restart(
    app_settings: Settings, service: TriageService
) -> None:
    with TestClient(create_app(app_settings, service=service)) as client:
        added = client.post(
            "/v1/tickets/resolved",
            json={"id": "R-DISK", "subject": "Disk full on file server", "resolution": "Grew it"},
        )
        assert added.json() == {"stored": 1, "embedded": 1}
        assert ids(client.post("/v1/similar", json={"subject": "file server disk is full"})) == [
            "R-DISK"
        ]
    with TestClient(create_app(app_settings, service=service)) as restarted:
        assert (
            ids(restarted.post("/v1/similar", json={"subject": "file server disk is full"}))[0]
            == "R-DISK"
        )


def test_a_deleted_ticket_is_never_returned_again(
    api: TestClient, app_settings: Settings, service: TriageService
) -> None:
    # A second app on the same database: another replica with its own loaded index.
    with TestClient(create_app(app_settings, service=service)) as replica:
        assert ids(replica.post("/v1/similar", json=VPN_QUERY))[0] == "R-VPN"
        deleted = api.delete("/v1/tickets/R-VPN")
        assert deleted.json() == {
            "deleted": 1,
            "queue": 0,
            "deliveries": 0,
            "job_items": 0,
            "emails": 0,
        }
        for client in (api, replica):
            found = ids(client.post("/v1/similar", json={**VPN_QUERY, "k": 50, "min_score": -1}))
            assert "R-VPN" not in found
            assert found  # the others are still there
    with TestClient(create_app(app_settings, service=service)) as restarted:
        found = ids(restarted.post("/v1/similar", json={**VPN_QUERY, "k": 50, "min_score": -1}))
        assert "R-VPN" not in found
    missing = api.delete("/v1/tickets/R-VPN")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "ticket_not_found"


def test_writes_by_one_replica_are_seen_by_another(
    api: TestClient, app_settings: Settings, service: TriageService
) -> None:
    with TestClient(create_app(app_settings, service=service)) as replica:
        replica.get("/healthz")
        api.post("/v1/tickets/resolved", json={"id": "R-WIFI", "subject": "Wifi is down in hall B"})
        assert ids(replica.post("/v1/similar", json={"subject": "wifi down hall B"}))[0] == "R-WIFI"


def test_readding_is_idempotent_and_updates(api: TestClient) -> None:
    again = api.post("/v1/tickets/resolved", json={"tickets": RESOLVED})
    assert again.json() == {"stored": 3, "embedded": 0}
    changed = {**RESOLVED[1], "resolution": "Cleaned the rollers."}
    assert api.post("/v1/tickets/resolved", json=changed).json() == {"stored": 1, "embedded": 0}
    found = api.post("/v1/similar", json={"subject": "printer paper jam tray 2", "k": 1}).json()
    assert found["similar"][0]["resolution"] == "Cleaned the rollers."


def test_filters(api: TestClient) -> None:
    everything = {**VPN_QUERY, "k": 50, "min_score": -1}
    assert ids(api.post("/v1/similar", json={**everything, "category": "printers"})) == ["R-PRINT"]
    assert ids(api.post("/v1/similar", json={**everything, "tenant": "acme"})) == []
    assert ids(api.post("/v1/similar", json={**everything, "max_age_days": 1})) == []
    high = api.post("/v1/similar", json={**VPN_QUERY, "min_score": 0.99}).json()
    assert all(m["score"] >= 0.99 for m in high["similar"])


def test_tenants_are_kept_apart(api: TestClient) -> None:
    api.post(
        "/v1/tickets/resolved",
        json={**RESOLVED[0], "id": "ACME-1", "tenant": "acme", "resolution": "acme's fix"},
    )
    acme = api.post("/v1/similar", json={**VPN_QUERY, "tenant": "acme"}).json()["similar"]
    assert [m["id"] for m in acme] == ["ACME-1"]
    assert acme[0]["tenant"] == "acme"
    default = ids(api.post("/v1/similar", json={**VPN_QUERY, "k": 50, "min_score": -1}))
    assert "ACME-1" not in default


def test_duplicates_among_recent_open_tickets(api: TestClient) -> None:
    first = api.post("/v1/similar", json={**VPN_QUERY, "id": "INC-1"}).json()
    assert first["duplicates"] == []  # nothing open yet; INC-1 is now remembered
    second = api.post("/v1/similar", json={**VPN_QUERY, "id": "INC-2"}).json()
    assert [d["id"] for d in second["duplicates"]] == ["INC-1"]
    assert second["duplicates"][0]["score"] >= 0.9
    # The ticket itself is never its own duplicate; unrelated text is no duplicate.
    again = api.post("/v1/similar", json={**VPN_QUERY, "id": "INC-1"}).json()
    assert [d["id"] for d in again["duplicates"]] == ["INC-2"]
    other = api.post("/v1/similar", json={"subject": "Printer jams", "id": "INC-3"}).json()
    assert other["duplicates"] == []
    # A remembered open ticket is not suggested as a resolved one.
    assert "INC-1" not in ids(api.post("/v1/similar", json={**VPN_QUERY, "k": 50}))


def test_triage_is_classify_plus_similar(api: TestClient) -> None:
    both = api.post("/v1/triage", json={**VPN_QUERY, "k": 1})
    assert both.status_code == 200
    body = both.json()
    assert body["classification"] == api.post("/v1/classify", json=VPN_QUERY).json()
    assert [m["id"] for m in body["similar"]] == ["R-VPN"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/similar", {"subject": " "}, "body"),
        ("/v1/similar", {**VPN_QUERY, "k": 51}, "k"),
        ("/v1/similar", {**VPN_QUERY, "min_score": 2}, "min_score"),
        ("/v1/triage", {**VPN_QUERY, "max_age_days": 0}, "max_age_days"),
        ("/v1/tickets/resolved", {"subject": "no id"}, "id"),
        ("/v1/tickets/resolved", {"tickets": []}, "tickets"),
    ],
)
def test_bad_input_is_422(api: TestClient, path: str, body: dict[str, Any], field: str) -> None:
    response = api.post(path, json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert field in response.text


def test_too_many_resolved_tickets_is_413(app_settings: Settings, service: TriageService) -> None:
    small = app_settings.model_copy(update={"max_batch": 2})
    with TestClient(create_app(small, service=service)) as client:
        response = client.post("/v1/tickets/resolved", json={"tickets": RESOLVED})
    assert response.status_code == 413


def test_internal_resolutions_only_for_admins(
    app_settings: Settings, service: TriageService
) -> None:
    keys = [
        ApiKey(name="ops", sha256=hash_key(ADMIN_KEY), scopes={Scope.ADMIN}),
        ApiKey(name="desk", sha256=hash_key(CLASSIFY_KEY), scopes={Scope.CLASSIFY}),
        ApiKey(name="sync", sha256=hash_key(FEEDBACK_KEY), scopes={Scope.FEEDBACK}),
    ]
    secured = app_settings.model_copy(update={"api_keys": keys})
    query = {"subject": "Outlook keeps asking for my password", "k": 1}
    with TestClient(create_app(secured, service=service)) as client:
        assert client.post("/v1/tickets/resolved", json={"tickets": RESOLVED}).status_code == 401
        stored = client.post(
            "/v1/tickets/resolved", json={"tickets": RESOLVED}, headers={"X-API-Key": FEEDBACK_KEY}
        )
        assert stored.status_code == 201
        desk = client.post("/v1/similar", json=query, headers={"X-API-Key": CLASSIFY_KEY})
        match = desk.json()["similar"][0]
        assert (match["id"], match["resolution"], match["resolution_hidden"]) == (
            "R-MAIL",
            None,
            True,
        )
        ops = client.post("/v1/similar", json=query, headers={"X-API-Key": ADMIN_KEY})
        assert ops.json()["similar"][0]["resolution"].startswith("Cleared the cached")
        # Forgetting a ticket is an admin's act.
        forbidden = client.delete("/v1/tickets/R-MAIL", headers={"X-API-Key": FEEDBACK_KEY})
        assert forbidden.status_code == 403
        assert (
            client.delete("/v1/tickets/R-MAIL", headers={"X-API-Key": ADMIN_KEY}).status_code == 200
        )
