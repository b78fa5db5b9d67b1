"""The default model (MiniLM on the sample data, exported to ONNX), trained once for the slow
tests that check it: test_real_model.py and test_onnx_export.py. Both modules are marked
xdist_group("minilm"), so under pytest-xdist one worker trains it for the two of them."""

from pathlib import Path

import pytest

from triage.core.embeddings import load_embedder
from triage.training.train import TrainResult, train_from_file

SAMPLE = Path(__file__).parents[2] / "data" / "tickets.csv"


@pytest.fixture(scope="session")
def minilm_trained(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    result = train_from_file(
        SAMPLE, load_embedder("minilm"), models_dir=tmp_path_factory.mktemp("models")
    )
    assert result.path is not None
    return result
