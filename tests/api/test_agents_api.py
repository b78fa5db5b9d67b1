"""PUT/GET /v1/agents, and the agent suggested in every route (issue 20)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from triage.api.app import create_app
from triage.core.artifacts import load_model
from triage.service import TriageService
from triage.settings import Settings

TICKET = {"subject": "Printer jams", "body": "The printer on floor 3 jams on every job."}
# Without a routing table every ticket goes to the fallback group, "triage".
ROSTER = {
    "agents": [
        {"id": "a-busy", "groups": ["triage"], "languages": ["en"], "open_tickets": 7},
        {
            "id": "a-free",
            "name": "Sari",
            "groups": ["triage"],
            "languages": ["en", "id"],
            "open_tickets": 2,
        },
        {"id": "a-id-only", "groups": ["triage"], "languages": ["id"], "open_tickets": 0},
    ]
}


def fresh_service(artifact_dir: Path) -> TriageService:
    # Its own service: the agents PUT here must not reach other modules' tests.
    return TriageService(load_model(artifact_dir), max_text_chars=5_000)


@pytest.fixture
def api(settings: Settings, artifact_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings, service=fresh_service(artifact_dir))) as client:
        yield client


def test_a_route_names_the_least_loaded_agent_with_the_language(api: TestClient) -> None:
    assert api.post("/v1/classify", json=TICKET).json()["route"]["agent"] is None
    stored = api.put("/v1/agents", json=ROSTER)
    assert stored.status_code == 200, stored.text
    assert stored.json()["revision"] == 1
    assert [a["id"] for a in stored.json()["agents"]] == ["a-busy", "a-free", "a-id-only"]
    agent = api.post("/v1/classify", json=TICKET).json()["route"]["agent"]
    # a-id-only has no open ticket but does not speak the ticket's English.
    assert (agent["id"], agent["name"], agent["open_tickets"]) == ("a-free", "Sari", 2)
    assert "fewest open tickets (2) of the 2 available agent(s) of triage" in agent["why"]


def test_a_roster_replaces_the_last_and_an_empty_one_clears_it(api: TestClient) -> None:
    api.put("/v1/agents", json=ROSTER)
    api.put(
        "/v1/agents", json={"agents": [{"id": "a-new", "groups": ["triage"], "open_tickets": 0}]}
    )
    assert [a["id"] for a in api.get("/v1/agents").json()["agents"]] == ["a-new"]
    route = api.post("/v1/classify", json=TICKET).json()["route"]
    assert route["agent"] is None  # a-new has no language:en
    cleared = api.put("/v1/agents", json={"agents": []}).json()
    assert (cleared["revision"], cleared["agents"]) == (3, [])


@pytest.mark.parametrize(
    "body",
    [
        {"agents": [{"id": "x", "groups": [], "open_tickets": 0}]},
        {"agents": [{"id": "x", "groups": ["g"], "open_tickets": -1}]},
        {"agents": [{"id": "x", "groups": ["g"], "open_tickets": 0}] * 2},
        {"agents": [{"id": "", "groups": ["g"], "open_tickets": 0}]},
        {"agents": [{"id": "x", "groups": ["g"], "open_tickets": 0, "team": "y"}]},
    ],
)
def test_a_bad_roster_is_a_422_and_changes_nothing(api: TestClient, body: dict) -> None:
    api.put("/v1/agents", json=ROSTER)
    refused = api.put("/v1/agents", json=body)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "validation_error"
    assert len(api.get("/v1/agents").json()["agents"]) == 3


def test_a_roster_put_to_one_process_reaches_the_others(
    settings: Settings, artifact_dir: Path
) -> None:
    watched = settings.model_copy(update={"routing_watch_seconds": 0.05})
    with (
        TestClient(create_app(watched, service=fresh_service(artifact_dir))) as one,
        TestClient(create_app(watched, service=fresh_service(artifact_dir))) as two,
    ):
        assert one.put("/v1/agents", json=ROSTER).status_code == 200
        deadline = time.monotonic() + 10
        while (agent := two.post("/v1/classify", json=TICKET).json()["route"]["agent"]) is None:
            assert time.monotonic() < deadline, "the roster never reached the second process"
            time.sleep(0.05)
        assert agent["id"] == "a-free"
