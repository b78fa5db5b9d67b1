"""GET/PUT /v1/routing, rollback and dry run, and the route in every answer (issue 20)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from triage.api.app import create_app
from triage.core.artifacts import load_model
from triage.core.auth import ApiKey, Scope, hash_key
from triage.core.errors import RoutingTableError
from triage.service import TriageService
from triage.settings import Settings

ADMIN_KEY, CLASSIFY_KEY = "trg_admin-routing", "trg_classify-routing"
ADMIN = {"X-API-Key": ADMIN_KEY}
YAML = {"Content-Type": "application/yaml", **ADMIN}
PRINTER = {
    "id": "INC-1",
    "subject": "Printer jams",
    "body": "The printer on floor 3 jams on every job.",
}
VPN = {"id": "INC-2", "subject": "VPN drops", "body": "The VPN disconnects every hour from home."}

TABLE_A = """
fallback: service-desk
rules:
  - id: printers
    when: {category: printers}
    group: desk-side
  - id: vpn
    when: {category: network_vpn}
    group: network
"""
TABLE_B = """
rules:
  - id: everything-network
    when: {keywords: [vpn, printer]}
    group: network
"""


@pytest.fixture(scope="module")
def own_service(artifact_dir: Path) -> TriageService:
    # Its own service: the tables PUT here must not reach other modules' tests.
    return TriageService(load_model(artifact_dir), max_text_chars=5_000)


@pytest.fixture
def api(settings: Settings, own_service: TriageService) -> Iterator[TestClient]:
    keys = [
        ApiKey(name="ops", sha256=hash_key(ADMIN_KEY), scopes={Scope.ADMIN}),
        ApiKey(name="helpdesk", sha256=hash_key(CLASSIFY_KEY), scopes={Scope.CLASSIFY}),
    ]
    own_service.routing = type(own_service.routing)()
    app = create_app(settings.model_copy(update={"api_keys": keys}), service=own_service)
    with TestClient(app) as client:
        yield client


def route_of(client: TestClient, ticket: dict[str, str]) -> dict[str, object]:
    answer = client.post("/v1/classify", json=ticket, headers={"X-API-Key": CLASSIFY_KEY})
    assert answer.status_code == 200, answer.text
    route: dict[str, object] = answer.json()["route"]
    return route


def test_without_a_table_every_ticket_goes_to_the_fallback_for_review(api: TestClient) -> None:
    served = api.get("/v1/routing", headers=ADMIN).json()
    assert (served["version"], served["rules"], served["fallback"]) == (None, 0, "triage")
    route = route_of(api, PRINTER)
    assert (route["source"], route["group"], route["decision"]) == ("fallback", "triage", "review")
    assert route["skills"] == ["language:en"]


def test_a_table_put_is_served_versioned_and_rolled_back(api: TestClient) -> None:
    first = api.put("/v1/routing", content=TABLE_A, headers=YAML)
    assert first.status_code == 200, first.text
    assert (first.json()["version"], first.json()["rules"], first.json()["author"]) == (1, 2, "ops")
    printer, vpn = route_of(api, PRINTER), route_of(api, VPN)
    assert (printer["rule_id"], printer["group"]) == ("printers", "desk-side")
    assert (vpn["rule_id"], vpn["group"]) == ("vpn", "network")
    assert (
        printer["decision"]
        == api.post("/v1/classify", json=PRINTER, headers=ADMIN).json()["predictions"]["category"][
            "decision"
        ]
    )

    second = api.put("/v1/routing", content=TABLE_B, headers=YAML)
    assert second.json()["version"] == 2
    assert route_of(api, PRINTER)["rule_id"] == "everything-network"

    back = api.post("/v1/routing/rollback", headers=ADMIN)
    assert back.status_code == 200, back.text
    assert (back.json()["version"], back.json()["source"], back.json()["text"]) == (
        3,
        "rollback:1",
        TABLE_A,
    )
    assert route_of(api, PRINTER)["rule_id"] == "printers"
    assert api.get("/v1/routing", headers=ADMIN).json()["version"] == 3


def test_a_refused_table_leaves_the_served_one_as_it_was(api: TestClient) -> None:
    assert api.put("/v1/routing", content=TABLE_A, headers=YAML).status_code == 200
    unknown = TABLE_A.replace("category: printers", "category: printer")
    refused = api.put("/v1/routing", content=unknown, headers=YAML)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid_routing_table"
    assert "rule 'printers'" in refused.json()["error"]["message"]

    broken = api.put("/v1/routing", content="rules:\n  - id: [a\n", headers=YAML)
    assert broken.status_code == 422
    assert broken.json()["error"]["details"]["line"] == 3
    not_json = api.put(
        "/v1/routing", content='{"rules": [', headers={"Content-Type": "application/json", **ADMIN}
    )
    assert not_json.status_code == 422
    assert (
        not_json.json()["error"]["details"]["line"],
        not_json.json()["error"]["details"]["column"],
    ) == (1, 12)

    served = api.get("/v1/routing", headers=ADMIN).json()
    assert (served["version"], served["text"]) == (1, TABLE_A)
    assert route_of(api, PRINTER)["rule_id"] == "printers"


def test_only_an_admin_key_reads_or_changes_the_table(api: TestClient) -> None:
    helpdesk = {"X-API-Key": CLASSIFY_KEY}
    assert api.get("/v1/routing", headers=helpdesk).status_code == 403
    assert api.put("/v1/routing", content=TABLE_A, headers=helpdesk).status_code == 403
    assert api.put("/v1/routing", content=TABLE_A).status_code == 401
    assert api.post("/v1/routing/rollback", headers=ADMIN).status_code == 404


def test_the_dry_run_counts_recent_tickets_a_proposed_table_routes_elsewhere(
    api: TestClient,
) -> None:
    assert api.put("/v1/routing", content=TABLE_A, headers=YAML).status_code == 200
    for ticket in (PRINTER, VPN, {**PRINTER, "id": "INC-3"}):
        triaged = api.post("/v1/triage", json=ticket, headers=ADMIN)
        assert triaged.status_code == 200, triaged.text
        assert triaged.json()["classification"]["route"]["source"] in ("rule", "fallback")
    routes = {t["id"]: route_of(api, t)["group"] for t in (PRINTER, VPN)}

    run = api.post("/v1/routing/dry-run?last=10", content=TABLE_B, headers=YAML)
    assert run.status_code == 200, run.text
    body = run.json()
    # TABLE_B sends both printer tickets and the VPN ticket to 'network'; only the tickets
    # TABLE_A did not already send there change.
    expected = sum(
        1 for t in ("INC-1", "INC-2", "INC-3") if routes.get(t, routes["INC-1"]) != "network"
    )
    assert (body["replayed"], body["changed"]) == (3, expected)
    assert sum(body["by_group"]["after"].values()) == 3
    assert {e["after"]["group"] for e in body["examples"]} <= {"network"}
    same = api.post("/v1/routing/dry-run", content=TABLE_A, headers=YAML).json()
    assert same["changed"] == 0
    # The proposal was not served.
    assert api.get("/v1/routing", headers=ADMIN).json()["version"] == 1
    assert api.post("/v1/routing/dry-run", content="rules: [", headers=YAML).status_code == 422


def test_the_routing_file_is_imported_once_and_a_put_outlives_a_restart(
    settings: Settings, own_service: TriageService, tmp_path: Path
) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(TABLE_A, encoding="utf-8")
    with_file = settings.model_copy(update={"routing_file": path})
    own_service.routing = type(own_service.routing)()
    with TestClient(create_app(with_file, service=own_service)) as client:
        served = client.get("/v1/routing").json()
        assert (served["version"], served["source"], served["rules"]) == (1, "file:routing.yaml", 2)
        assert client.put("/v1/routing", content=TABLE_B).json()["version"] == 2
    own_service.routing = type(own_service.routing)()
    with TestClient(create_app(with_file, service=own_service)) as client:
        # The file did not change: the table PUT since is still served.
        assert client.get("/v1/routing").json()["version"] == 2
        assert route_of(client, PRINTER)["rule_id"] == "everything-network"
    path.write_text(TABLE_A.replace("category: printers", "category: printer"), encoding="utf-8")
    with (
        pytest.raises(RoutingTableError, match="routing.yaml: rule 'printers'"),
        TestClient(create_app(with_file, service=own_service)),
    ):
        pass


def test_a_table_put_to_one_process_reaches_the_others(
    settings: Settings, artifact_dir: Path
) -> None:
    """Before: a PUT reached only the process that answered it; the others served their old
    table until restarted. Two apps on one database, each with its own service, stand for two
    workers; the second looks for a newer version every 0.05 s."""
    keys = [ApiKey(name="ops", sha256=hash_key(ADMIN_KEY), scopes={Scope.ADMIN})]
    watched = settings.model_copy(update={"api_keys": keys, "routing_watch_seconds": 0.05})
    services = [TriageService(load_model(artifact_dir), max_text_chars=5_000) for _ in range(2)]
    admin = {"X-API-Key": ADMIN_KEY}
    with (
        TestClient(create_app(watched, service=services[0])) as one,
        TestClient(create_app(watched, service=services[1])) as two,
    ):
        assert one.put("/v1/routing", content=TABLE_B, headers=YAML).status_code == 200
        deadline = time.monotonic() + 10
        while True:
            route = two.post("/v1/classify", json=VPN, headers=admin).json()["route"]
            if route["rule_id"] == "everything-network" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert (route["group"], route["rule_id"]) == ("network", "everything-network")
