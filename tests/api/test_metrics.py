from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families


def _samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_count_requests_predictions_and_the_model(client: TestClient) -> None:
    version = client.get("/readyz").json()["model_version"]
    client.post("/v1/classify", json={"subject": "Printer on 3rd floor jams"})
    client.post(
        "/v1/classify/batch", json={"tickets": [{"subject": "VPN drops"}, {"body": "toner"}]}
    )
    client.post("/v1/classify", json={})  # 422
    client.get("/v1/nope")  # 404, no route template
    samples = _samples(client)
    route = ("route", "/v1/classify")
    assert samples[("triage_requests_total", (("method", "POST"), route, ("status", "200")))] == 1
    assert samples[("triage_requests_total", (("method", "POST"), route, ("status", "422")))] == 1
    assert (
        samples[
            (
                "triage_requests_total",
                (("method", "GET"), ("route", "unmatched"), ("status", "404")),
            )
        ]
        == 1
    )
    assert samples[("triage_request_duration_seconds_count", (("method", "POST"), route))] == 2
    predicted = sum(
        value
        for (name, labels), value in samples.items()
        if name == "triage_predictions_total" and ("head", "category") in labels
    )
    assert predicted == 3
    assert samples[("triage_confidence_count", (("head", "tier"),))] == 3
    assert samples[("triage_model_info", (("version", version),))] == 1
    abstained = sum(v for (n, labels), v in samples.items() if n == "triage_abstentions_total")
    reviewed = sum(
        v
        for (n, labels), v in samples.items()
        if n == "triage_predictions_total" and ("decision", "review") in labels
    )
    assert abstained == reviewed
