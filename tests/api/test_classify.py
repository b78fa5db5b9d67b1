import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from triage.api.schemas import BatchOut, ClassificationOut
from triage.service import Ticket, TriageService, classification_dict

TICKET = {
    "subject": "Printer on 3rd floor jams",
    "body": "Every job since this morning stops with a paper jam.",
}


def _assert_error(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_classify_returns_label_confidence_decision_and_distribution_per_head(
    client: TestClient,
) -> None:
    response = client.post("/v1/classify", json={"id": "INC-1", **TICKET})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == "INC-1"
    assert body["model_version"] == client.get("/v1/model").json()["version"]
    assert set(body["predictions"]) == {"category", "tier"}
    for head in body["predictions"].values():
        distribution = head["distribution"]
        assert abs(sum(distribution.values()) - 1.0) < 1e-6
        assert head["label"] == max(distribution, key=distribution.get)
        assert head["confidence"] == distribution[head["label"]]
        assert head["decision"] in {"auto", "suggest", "review"}
        assert head["abstained"] == (head["decision"] == "review")
        if head["decision"] == "auto":
            assert head["confidence"] >= head["threshold"]
    assert body["predictions"]["category"]["label"] == "printers"
    assert set(body["predictions"]["tier"]["distribution"]) == {"L1", "L2", "L3"}


def test_subject_or_body_alone_is_enough(client: TestClient) -> None:
    assert (
        client.post("/v1/classify", json={"subject": "VPN tidak bisa connect"}).status_code == 200
    )
    assert (
        client.post(
            "/v1/classify", json={"body": "Outlook keeps asking for my password"}
        ).status_code
        == 200
    )


def test_html_body_is_classified_as_its_text(client: TestClient) -> None:
    plain = client.post("/v1/classify", json={"body": "paper jam in tray 2"}).json()
    html = client.post(
        "/v1/classify", json={"body": "<p>paper&nbsp;jam in <b>tray 2</b></p>"}
    ).json()
    assert plain["predictions"] == html["predictions"]


def test_a_ticket_without_text_is_a_clear_422(client: TestClient) -> None:
    for payload in ({}, {"subject": "", "body": "   "}, {"id": "x", "subject": None}):
        error = _assert_error(client.post("/v1/classify", json=payload), 422, "validation_error")
        assert "non-empty 'subject' or 'body'" in error["message"]


def test_wrong_types_unknown_fields_and_broken_json_are_422(client: TestClient) -> None:
    _assert_error(client.post("/v1/classify", json={"subject": 42}), 422, "validation_error")
    error = _assert_error(
        client.post("/v1/classify", json={"subjet": "typo", "body": "x"}), 422, "validation_error"
    )
    assert "subjet" in error["message"]
    _assert_error(
        client.post(
            "/v1/classify", content=b'{"subject": "x"', headers={"content-type": "application/json"}
        ),
        422,
        "validation_error",
    )
    _assert_error(
        client.post("/v1/classify", json=["not", "an", "object"]), 422, "validation_error"
    )


def test_text_over_the_limit_is_413(client: TestClient) -> None:
    error = _assert_error(
        client.post("/v1/classify", json={"subject": "x", "body": "a" * 5_000}),
        413,
        "ticket_too_large",
    )
    assert error["details"] == {"limit": 5_000, "size": 5_001}


def test_a_body_over_the_request_limit_is_413_before_parsing(client: TestClient) -> None:
    _assert_error(
        client.post("/v1/classify", json={"body": "b" * 60_000}), 413, "payload_too_large"
    )

    def chunks():  # type: ignore[no-untyped-def]  # no Content-Length: counted while streaming
        yield b'{"body": "'
        for _ in range(70):
            yield b"c" * 1_000
        yield b'"}'

    _assert_error(
        client.post("/v1/classify", content=chunks(), headers={"content-type": "application/json"}),
        413,
        "payload_too_large",
    )


def test_unknown_routes_and_methods_use_the_same_error_shape(client: TestClient) -> None:
    _assert_error(client.get("/v1/nope"), 404, "not_found")
    _assert_error(client.get("/v1/classify"), 405, "method_not_allowed")


def test_model_endpoint_describes_the_served_model(client: TestClient) -> None:
    body = client.get("/v1/model").json()
    assert body["heads"]["tier"]["labels"] == ["L1", "L2", "L3"]
    assert 0.0 < body["heads"]["category"]["metrics"]["macro_f1"] <= 1.0
    assert body["embedder"]["kind"] == "hashing"
    assert body["training_data"]["file"] == "tickets.csv"


def test_health_and_readiness(client: TestClient) -> None:
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert ready["model_version"]
    health = client.get("/healthz").json()
    assert health == {"status": "ok", "model_version": ready["model_version"]}


def test_openapi_documents_classify_with_an_example(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/v1/classify"]["post"]
    assert {"200", "413", "422"} <= set(operation["responses"])
    assert schema["components"]["schemas"]["TicketIn"]["examples"]


def test_decisions_follow_the_configured_operating_points(
    settings,
    service,
    artifact_dir,  # type: ignore[no-untyped-def]
) -> None:
    from triage.api.app import create_app
    from triage.service import TriageService, policies_from_settings

    labels = service.model.labels("category")
    # Every category threshold pinned to 0: always automatic. The floor at 1.0 makes every
    # tier answer without a reachable threshold a 'review'.
    custom = settings.model_copy(
        update={
            "thresholds": {"category": dict.fromkeys(labels, 0.0)},
            "suggest_floor": 1.0,
            "head_target_precision": {"tier": 1.01},
        }
    )
    pinned = TriageService(service.model, policies=policies_from_settings(service.model, custom))
    with TestClient(create_app(custom, service=pinned)) as pinned_client:
        body = pinned_client.post("/v1/classify", json=TICKET).json()
        info = pinned_client.get("/v1/model").json()
    assert body["predictions"]["category"]["decision"] == "auto"
    assert body["predictions"]["category"]["threshold"] == 0.0
    tier = body["predictions"]["tier"]
    assert tier["threshold"] is None
    assert tier["decision"] == "review"
    assert tier["abstained"]
    assert set(info["heads"]["category"]["thresholds"].values()) == {0.0}


def test_explain_returns_terms_blocks_and_neighbours_per_head(client: TestClient) -> None:
    plain = client.post("/v1/classify", json=TICKET).json()
    assert all(head["explanation"] is None for head in plain["predictions"].values())
    body = client.post("/v1/classify", json={**TICKET, "explain": True}).json()
    for name, head in body["predictions"].items():
        explanation = head["explanation"]
        assert explanation["terms"], name
        assert {"bias", "words", "chars", "embedding"} == set(explanation["blocks"])
        assert len(explanation["neighbours"]) == 5
        assert all(n["id"].startswith("TCK-") for n in explanation["neighbours"])
        assert all(n["label"] in head["distribution"] for n in explanation["neighbours"])


def test_a_classification_is_the_service_answer_as_fastapi_would_write_its_schema(
    client: TestClient, service: TriageService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The route writes its JSON itself (no second validation, no second thread hop): the
    bytes must be those FastAPI writes for the response model, and one request may take one
    hop to the threadpool, the classification's own."""
    hops = []
    real = anyio.to_thread.run_sync

    async def counted(func, *args, **kwargs):  # type: ignore[no-untyped-def]
        hops.append(func)
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    for ticket in (TICKET, {"id": "INC-7", "subject": "VPN drops", "body": "Every hour."}):
        response = client.post("/v1/classify", json=ticket)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        expected = ClassificationOut.model_validate(
            classification_dict(service.classify(Ticket(**ticket)))
        )
        assert response.content == TypeAdapter(ClassificationOut).dump_json(expected, by_alias=True)
    assert len(hops) == 2  # one per request

    hops.clear()
    batch = client.post("/v1/classify/batch", json={"tickets": [TICKET, TICKET]})
    assert batch.status_code == 200, batch.text
    expected_batch = BatchOut(
        model_version=service.model.version,
        results=[
            ClassificationOut.model_validate(classification_dict(c))
            for c in service.classify_many([Ticket(**TICKET)] * 2)
        ],
    )
    assert batch.content == TypeAdapter(BatchOut).dump_json(expected_batch, by_alias=True)
    assert len(hops) == 1
