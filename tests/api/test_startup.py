import re
import shutil
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from triage.api.app import create_app
from triage.core.errors import ArtifactError, ModelNotFoundError
from triage.service import TriageService
from triage.settings import Settings


def test_the_model_loads_in_the_lifespan_from_settings(artifact_dir: Path) -> None:
    app = create_app(Settings(models_dir=artifact_dir.parent))
    assert getattr(app.state, "service", None) is None  # nothing loads at import or build time
    with TestClient(app) as client:
        assert client.get("/readyz").json()["model_version"] == artifact_dir.name
        assert client.post("/v1/classify", json={"subject": "reset my password"}).status_code == 200


def test_start_up_stops_when_there_is_no_model(tmp_path: Path) -> None:
    app = create_app(Settings(models_dir=tmp_path))
    with pytest.raises(ModelNotFoundError, match=str(tmp_path)), TestClient(app):
        pass


def test_start_up_stops_on_a_corrupt_artifact_naming_the_file(
    artifact_dir: Path, tmp_path: Path
) -> None:
    broken = tmp_path / artifact_dir.name
    shutil.copytree(artifact_dir, broken)
    (broken / "heads" / "category.joblib").write_bytes(b"not a pickle")
    app = create_app(Settings(models_dir=tmp_path))
    with pytest.raises(ArtifactError, match=r"heads/category.joblib"), TestClient(app):
        pass


def test_the_service_and_the_similar_tickets_share_one_language_detector(
    artifact_dir: Path, tmp_path: Path
) -> None:
    app = create_app(Settings(models_dir=artifact_dir.parent, data_dir=tmp_path))
    with TestClient(app):
        similar = app.state.similar
        assert similar is not None
        assert similar.language_detector is app.state.service.language_detector


def test_root_leads_to_the_staff_page_and_the_docs_work_offline(client: TestClient) -> None:
    root = client.get("/", follow_redirects=False)
    assert root.status_code in (302, 307)
    assert root.headers["location"] == "/ui/"
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        # Every script and style comes from this server, none from a CDN.
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources, html
        assert all(s.startswith("/docs/assets/") for s in sources), sources
        assert "cdn" not in html.lower()
        for source in sources:
            asset = client.get(source)
            assert asset.status_code == 200, source
            assert len(asset.content) > 1000


def test_a_serving_process_trims_its_heap_while_it_serves(
    settings: Settings, service: TriageService, monkeypatch: pytest.MonkeyPatch
) -> None:
    trims = threading.Event()
    monkeypatch.setattr("triage.api.app.trim_heap", trims.set)
    often = settings.model_copy(update={"memory_trim_seconds": 0.01})
    with TestClient(create_app(often, service=service)):
        assert trims.wait(5)  # what a burst of requests freed goes back within the interval
    names = {thread.name for thread in threading.enumerate()}
    assert "triage-memory-trim" not in names  # stopped with the app

    trims.clear()
    off = settings.model_copy(update={"memory_trim_seconds": 0.0})
    with TestClient(create_app(off, service=service)):
        names = {thread.name for thread in threading.enumerate()}
    assert "triage-memory-trim" not in names
    assert not trims.is_set()
