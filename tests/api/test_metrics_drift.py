"""GET /v1/metrics/drift and the drift gauges of /metrics, on traffic like training and not."""

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import SAMPLE_DATA
from triage.api.app import create_app
from triage.core.artifacts import load_model, read_manifest, save_model
from triage.core.auth import ApiKey, Scope, hash_key
from triage.core.drift import FILE
from triage.core.model import TriageModel
from triage.service import TriageService
from triage.settings import Settings

ADMIN_KEY, CLASSIFY_KEY = "trg_admin-key", "trg_classify-key"


@pytest.fixture(scope="module")
def tickets() -> pd.DataFrame:
    return pd.read_csv(SAMPLE_DATA, dtype=str, keep_default_na=False)


def _settings(settings: Settings, **update: object) -> Settings:
    return settings.model_copy(
        update={
            "max_request_bytes": 5_000_000,
            "drift_window": 2_000,
            "drift_min_predictions": 200,
            **update,
        }
    )


def _client(settings: Settings, model: TriageModel) -> TestClient:
    # A service of its own per test: the drift window starts empty.
    service = TriageService(model, max_text_chars=5_000, drift=settings.drift())
    return TestClient(create_app(settings, service=service))


@pytest.fixture
def drift_client(settings: Settings, service: TriageService) -> Iterator[TestClient]:
    with _client(_settings(settings), service.model) as client:
        yield client


def _send(client: TestClient, rows: pd.DataFrame) -> None:
    batch = [{"subject": s, "body": b} for s, b in zip(rows["subject"], rows["body"], strict=True)]
    for start in range(0, len(batch), 500):
        response = client.post("/v1/classify/batch", json={"tickets": batch[start : start + 500]})
        assert response.status_code == 200, response.text


def _gauges(client: TestClient) -> dict[tuple[str, str], float]:
    text = client.get("/metrics").text
    return {
        (sample.name, sample.labels["head"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("triage_drift_")
    }


def test_traffic_in_the_training_mix_is_stable(
    drift_client: TestClient, tickets: pd.DataFrame
) -> None:
    _send(drift_client, tickets)
    report = drift_client.get("/v1/metrics/drift").json()
    assert report["reference"] is True
    assert report["drifted"] is False
    assert report["model_version"] == drift_client.get("/readyz").json()["model_version"]
    for head in ("category", "tier"):
        drift = report["heads"][head]
        assert drift["status"] == "stable", (head, drift["psi"])
        assert drift["psi"] < 0.1
        assert drift["observed"] == len(tickets)
        assert drift["window"] == 2_000
        assert drift["threshold"] == 0.2
    labels = report["heads"]["category"]["labels"]
    assert sum(share["count"] for share in labels.values()) == len(tickets)
    assert sum(share["reference"] for share in labels.values()) == pytest.approx(1)
    assert labels["printers"]["training"] == pytest.approx(0.1, abs=0.01)


def test_traffic_skewed_to_one_label_is_flagged(
    drift_client: TestClient, tickets: pd.DataFrame
) -> None:
    printers = tickets[tickets["category"] == "printers"]
    _send(drift_client, pd.concat([printers] * 4))
    report = drift_client.get("/v1/metrics/drift").json()
    category = report["heads"]["category"]
    assert category["status"] == "drifted"
    assert category["drifted"] is True
    assert category["psi"] > 0.2
    assert report["drifted"] is True
    assert category["labels"]["printers"]["current"] > 0.8
    assert category["labels"]["printers"]["reference"] < 0.2
    gauges = _gauges(drift_client)
    assert gauges[("triage_drift_drifted", "category")] == 1
    assert gauges[("triage_drift_psi", "category")] == pytest.approx(category["psi"])
    assert gauges[("triage_drift_window_predictions", "category")] == len(printers) * 4


def test_a_few_predictions_are_insufficient_data(
    drift_client: TestClient, tickets: pd.DataFrame
) -> None:
    printers = tickets[tickets["category"] == "printers"]
    _send(drift_client, printers.head(20))
    category = drift_client.get("/v1/metrics/drift").json()["heads"]["category"]
    assert category["status"] == "insufficient_data"
    assert category["drifted"] is False
    assert category["observed"] == 20
    assert category["min_predictions"] == 225  # 5 × 9 / 0.2: ten labels need more than 200
    gauges = _gauges(drift_client)
    assert ("triage_drift_psi", "category") not in gauges  # nothing to alert on yet
    assert ("triage_drift_drifted", "category") not in gauges
    assert gauges[("triage_drift_window_predictions", "category")] == 20


def test_metrics_expose_the_drift_gauges(drift_client: TestClient, tickets: pd.DataFrame) -> None:
    empty = _gauges(drift_client)
    assert empty[("triage_drift_window_predictions", "tier")] == 0
    assert ("triage_drift_mean_confidence", "tier") not in empty
    _send(drift_client, tickets)
    report = drift_client.get("/v1/metrics/drift").json()
    gauges = _gauges(drift_client)
    for head, drift in report["heads"].items():
        assert gauges[("triage_drift_psi", head)] == pytest.approx(drift["psi"])
        assert gauges[("triage_drift_drifted", head)] == 0
        assert gauges[("triage_drift_window_predictions", head)] == len(tickets)
        assert gauges[("triage_drift_mean_confidence", head)] == pytest.approx(
            drift["mean_confidence"]
        )
        assert gauges[("triage_drift_reference_mean_confidence", head)] == pytest.approx(
            drift["reference_mean_confidence"]
        )


def test_the_window_is_a_rolling_one(
    settings: Settings, service: TriageService, tickets: pd.DataFrame
) -> None:
    small = _settings(settings, drift_window=250, drift_min_predictions=100)
    with _client(small, service.model) as client:
        _send(client, tickets[tickets["category"] == "printers"])
        _send(client, tickets.sample(frac=1, random_state=0).head(250))  # pushes printers out
        category = client.get("/v1/metrics/drift").json()["heads"]["category"]
    assert category["observed"] == 250
    assert category["status"] == "stable"


def test_the_drift_endpoint_needs_the_admin_scope(
    settings: Settings, service: TriageService
) -> None:
    keys = [
        ApiKey(name="helpdesk", sha256=hash_key(CLASSIFY_KEY), scopes={Scope.CLASSIFY}),
        ApiKey(name="ops", sha256=hash_key(ADMIN_KEY), scopes={Scope.ADMIN}),
    ]
    with _client(_settings(settings, api_keys=keys), service.model) as client:
        missing = client.get("/v1/metrics/drift")
        assert missing.status_code == 401
        assert missing.json()["error"]["code"] == "unauthorized"
        forbidden = client.get("/v1/metrics/drift", headers={"X-API-Key": CLASSIFY_KEY})
        assert forbidden.status_code == 403
        assert forbidden.json()["error"]["details"]["needed"] == "admin"
        allowed = client.get("/v1/metrics/drift", headers={"X-API-Key": ADMIN_KEY})
        assert allowed.status_code == 200
        assert set(allowed.json()["heads"]) == {"category", "tier"}


def test_a_model_without_a_reference_serves_and_says_so(
    settings: Settings, service: TriageService, tickets: pd.DataFrame, tmp_path: Path
) -> None:
    model = service.model
    bare = TriageModel(
        model.embedder,
        model.heads,
        curves=model.curves,
        neighbours=model.neighbours,
        linear=model.linear,
        refinements=model.refinements,
    )
    path = save_model(bare, tmp_path, version="bare", manifest_fields={}, metrics={}, model_card="")
    manifest = read_manifest(path)
    assert "drift_reference" not in manifest
    assert FILE not in manifest["files"]
    loaded = load_model(path)
    assert loaded.drift_reference is None
    with _client(_settings(settings), loaded) as client:
        _send(client, tickets.head(300))
        response = client.get("/v1/metrics/drift")
        gauges = _gauges(client)
    assert response.status_code == 200
    report = response.json()
    assert report["reference"] is False
    assert report["drifted"] is False
    for drift in report["heads"].values():
        assert drift["status"] == "no_reference"
        assert drift["psi"] is None
        assert drift["observed"] == 300
        assert drift["reference_mean_confidence"] is None
    assert ("triage_drift_psi", "tier") not in gauges
    assert gauges[("triage_drift_window_predictions", "tier")] == 300


def test_a_model_swap_starts_an_empty_window(
    settings: Settings, artifact_dir: Path, tickets: pd.DataFrame
) -> None:
    loaded_from_disk = _settings(settings)
    with TestClient(create_app(loaded_from_disk)) as client:
        _send(client, tickets.head(50))
        assert client.get("/v1/metrics/drift").json()["heads"]["tier"]["observed"] == 50
        client.app.state.lifecycle.swap(artifact_dir.name)  # type: ignore[attr-defined]
        tier = client.get("/v1/metrics/drift").json()["heads"]["tier"]
    assert tier["observed"] == 0
    assert tier["reference_mean_confidence"] is not None  # the reference came from the artifact


def test_without_a_model_the_endpoint_answers_in_the_error_shape(settings: Settings) -> None:
    app = create_app(settings, service=None)
    with TestClient(app) as client:
        client.app.state.service = None  # type: ignore[attr-defined]
        response = client.get("/v1/metrics/drift")
        metrics = client.get("/metrics")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"
    assert metrics.status_code == 200
    assert "triage_drift_window_predictions{" not in metrics.text
