"""The real MiniLM body exported to int8 ONNX: its quality guards and a torch-free service.

The model is the one test_real_model.py checks too (minilm_trained, tests/slow/conftest.py),
trained and exported once for both. The 0.3-point accuracy guard is
measured on the large benchmark sets by benchmarks/onnx_quality.py; the 132 held-out sample
tickets can only show that few labels change (one ticket is 0.76 points).
"""

import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.test_onnx_embedder import serve_one_request
from triage.cli import app as cli_app
from triage.core.artifacts import ONNX_ENTRY, load_model, read_manifest
from triage.core.embeddings import load_embedder
from triage.core.onnx_embedder import OnnxEmbedder
from triage.training.export_onnx import GUARD_TEXTS
from triage.training.train import TrainResult

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("minilm")]


@pytest.fixture
def exported(minilm_trained: TrainResult) -> TrainResult:
    return minilm_trained


def test_training_ships_an_int8_body_that_passes_the_guards(exported: TrainResult) -> None:
    assert exported.path is not None
    spec = read_manifest(exported.path)[ONNX_ENTRY]
    assert spec["precision"] == "int8"
    quality = spec["quality"]
    assert quality["fp32_vs_torch_min_cosine"] >= 0.9999
    assert quality["int8_vs_fp32_mean_cosine"] >= 0.99
    assert (exported.path / "embedder" / "model.onnx").stat().st_size < 30e6  # int8, not fp32
    for head, figures in exported.metrics["onnx_embedder"]["heads"].items():
        assert figures["same_label_share"] >= 0.95, head
        assert abs(figures["accuracy_delta_points"]) <= 2.5, head  # at most 3 of 132 tickets


def test_served_vectors_stay_close_to_sentence_transformers(exported: TrainResult) -> None:
    assert exported.path is not None
    served = load_model(exported.path).embedder
    assert isinstance(served, OnnxEmbedder)
    texts = [*GUARD_TEXTS, "Printer on 3rd floor jams. Every job stops with a paper jam."]
    cosines = np.sum(served.encode(texts) * load_embedder("minilm").encode(texts), axis=1)
    assert cosines.mean() >= 0.99
    assert cosines.min() >= 0.95  # one- and two-word texts drift most ('ok': ~0.96)


def test_the_service_answers_without_importing_torch(exported: TrainResult, tmp_path: Path) -> None:
    assert exported.path is not None
    result = serve_one_request(exported.path.parent, tmp_path / "var")
    assert result == {
        "status": 200,
        "kind": "onnx",
        "heavy": [],
        "labels": {"category": "printers", "tier": "L1"},
    }


def test_export_onnx_replaces_the_body_with_fp32_on_request(
    exported: TrainResult, tmp_path: Path
) -> None:
    assert exported.path is not None
    copy = tmp_path / exported.path.name
    shutil.copytree(exported.path, copy)
    runner = CliRunner()
    refused = runner.invoke(cli_app, ["export-onnx", str(copy)])
    assert refused.exit_code == 1
    assert "already has an ONNX body (int8)" in refused.output
    replaced = runner.invoke(
        cli_app, ["export-onnx", str(copy), "--precision", "fp32", "--replace"]
    )
    assert replaced.exit_code == 0, replaced.output
    served = load_model(copy).embedder
    assert served.identity["precision"] == "fp32"
    texts = list(GUARD_TEXTS[:8])
    exact = np.sum(served.encode(texts) * load_embedder("minilm").encode(texts), axis=1)
    assert exact.min() >= 0.9999
