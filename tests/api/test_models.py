import shutil
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from triage.api.app import create_app
from triage.core.embeddings import HashingEmbedder
from triage.core.registry import ACTIVE
from triage.service import TriageService
from triage.settings import Settings
from triage.training.train import TrainConfig, train_from_file

TICKET = {"subject": "Printer on 3rd floor jams"}


@pytest.fixture(scope="module")
def two_versions(
    tmp_path_factory: pytest.TempPathFactory, small_sample: Path
) -> tuple[Path, str, str]:
    """Two versions of a registry (what the tests read is which is served, not how well):
    trained on the 240-ticket slice of the sample, at a fifth of the full sample's cost."""
    models_dir = tmp_path_factory.mktemp("registry")
    first = train_from_file(small_sample, HashingEmbedder(64), models_dir=models_dir)
    second = train_from_file(
        small_sample,
        HashingEmbedder(64),
        config=TrainConfig(seed=1),
        models_dir=models_dir,
        activate=True,
    )
    assert first.path is not None
    assert second.path is not None
    return models_dir, first.path.name, second.path.name


@pytest.fixture
def registry(two_versions: tuple[Path, str, str], tmp_path: Path) -> tuple[Path, str, str]:
    models_dir, older, newer = two_versions
    copy = tmp_path / "models"
    shutil.copytree(models_dir, copy)
    return copy, older, newer


def _client(models_dir: Path) -> TestClient:
    return TestClient(create_app(Settings(models_dir=models_dir)))


def test_list_and_inspect_versions(registry: tuple[Path, str, str]) -> None:
    models_dir, older, newer = registry
    with _client(models_dir) as client:
        listed = client.get("/v1/models").json()
        assert [m["version"] for m in listed] == [newer, older]
        assert [m["active"] for m in listed] == [True, False]
        assert 0 < listed[0]["heads"]["category"]["macro_f1"] <= 1
        detail = client.get(f"/v1/models/{older}").json()
        assert detail["manifest"]["version"] == older
        assert "category" in detail["metrics"]["heads"]
        assert client.get("/v1/models/19990101-000000-00000000").status_code == 404
        assert client.get("/v1/models/..%2F..%2Fetc").status_code == 404


def test_activation_switches_the_served_model_and_survives_a_restart(
    registry: tuple[Path, str, str],
) -> None:
    models_dir, older, newer = registry
    with _client(models_dir) as client:
        assert client.post("/v1/classify", json=TICKET).json()["model_version"] == newer
        response = client.post(f"/v1/models/{older}/activate")
        assert response.json() == {"status": "active", "model_version": older}
        assert client.post("/v1/classify", json=TICKET).json()["model_version"] == older
        assert client.get("/readyz").json()["model_version"] == older
        assert f'triage_model_info{{version="{older}"}} 1.0' in client.get("/metrics").text
    assert (models_dir / ACTIVE).read_text().strip() == older
    with _client(models_dir) as restarted:
        assert restarted.get("/readyz").json()["model_version"] == older
        assert [m["active"] for m in restarted.get("/v1/models").json()] == [False, True]


def test_a_corrupt_version_is_refused_and_the_old_one_keeps_serving(
    registry: tuple[Path, str, str],
) -> None:
    models_dir, older, newer = registry
    (models_dir / older / "heads" / "tier.joblib").write_bytes(b"tampered")
    with _client(models_dir) as client:
        response = client.post(f"/v1/models/{older}/activate")
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "artifact_invalid"
        assert "heads/tier.joblib" in response.json()["error"]["message"]
        assert client.post("/v1/classify", json=TICKET).json()["model_version"] == newer
        assert client.post("/v1/models/19990101-000000-00000000/activate").status_code == 404
    assert (models_dir / ACTIVE).read_text().strip() == newer


def test_no_request_fails_while_versions_are_switched(registry: tuple[Path, str, str]) -> None:
    models_dir, older, newer = registry
    failures: list[str] = []
    served: set[str] = set()
    stop = threading.Event()
    with _client(models_dir) as client:

        def stream() -> None:
            while not stop.is_set():
                response = client.post("/v1/classify", json=TICKET)
                if response.status_code != 200:
                    failures.append(response.text)
                else:
                    served.add(response.json()["model_version"])

        workers = [threading.Thread(target=stream) for _ in range(3)]
        for worker in workers:
            worker.start()
        for version in (older, newer, older, newer):
            assert client.post(f"/v1/models/{version}/activate").status_code == 200
            time.sleep(0.1)  # let every version serve some of the stream
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
    assert failures == []
    assert served == {older, newer}


def test_the_listing_marks_the_version_actually_served(registry: tuple[Path, str, str]) -> None:
    models_dir, older, newer = registry
    pinned = Settings(models_dir=models_dir, model_version=older)
    with TestClient(create_app(pinned)) as client:
        listed = {m["version"]: m["active"] for m in client.get("/v1/models").json()}
    assert listed == {older: True, newer: False}


def test_an_activation_reaches_every_process_on_the_models_dir(
    registry: tuple[Path, str, str], tmp_path: Path
) -> None:
    models_dir, older, newer = registry
    watching = Settings(models_dir=models_dir, data_dir=tmp_path / "var", model_watch_seconds=0.05)
    with (
        TestClient(create_app(watching)) as worker_a,
        TestClient(create_app(watching)) as worker_b,
    ):
        assert worker_b.post("/v1/classify", json=TICKET).json()["model_version"] == newer
        assert worker_a.post(f"/v1/models/{older}/activate").status_code == 200
        deadline = time.monotonic() + 30
        while worker_b.get("/readyz").json()["model_version"] != older:
            assert time.monotonic() < deadline, "worker b never followed ACTIVE"
            time.sleep(0.05)
        assert worker_b.post("/v1/classify", json=TICKET).json()["model_version"] == older


@pytest.mark.parametrize(
    "name",
    [
        "..",
        "%2E%2E",
        "..%2F{outside}",
        "%2E%2E%2F{outside}",
        "%2F{tmp}%2F{outside}",
        "{tmp}/{outside}",
    ],
)
def test_a_version_name_never_reaches_outside_the_models_directory(
    registry: tuple[Path, str, str], tmp_path: Path, name: str
) -> None:
    models_dir, older, newer = registry
    # A valid artifact right beside models/: an escaping name would find it.
    outside = "outside-20000101"
    shutil.copytree(models_dir / older, tmp_path / outside)
    version = name.format(outside=outside, tmp=str(tmp_path).strip("/").replace("/", "%2F"))
    with _client(models_dir) as client:
        for response in (
            client.get(f"/v1/models/{version}"),
            client.post(f"/v1/models/{version}/activate"),
        ):
            assert response.status_code in (404, 405), (version, response.text)
            assert set(response.json()["error"]) == {"code", "message", "details"}
        assert client.get("/readyz").json()["model_version"] == newer
    assert (models_dir / ACTIVE).read_text().strip() == newer


def test_errors_name_the_models_directory_without_its_absolute_path(
    artifact_dir: Path, tmp_path: Path, service: TriageService
) -> None:
    """Before: a 422 for a damaged version showed the server's absolute models path."""
    models_dir = tmp_path / "models"
    shutil.copytree(artifact_dir, models_dir / artifact_dir.name)
    damaged = models_dir / "19990101-000000-damaged0"
    shutil.copytree(artifact_dir, damaged)
    (damaged / "neighbours.npz").write_bytes(b"not the file")
    settings = Settings(models_dir=models_dir, data_dir=tmp_path / "var")
    with TestClient(create_app(settings, service=service)) as client:
        refused = client.post(f"/v1/models/{damaged.name}/activate")
    assert refused.status_code == 422, refused.text
    message = refused.json()["error"]["message"]
    assert str(tmp_path) not in message
    assert f"<models>/{damaged.name}/neighbours.npz" in message
