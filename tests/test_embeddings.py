from pathlib import Path

import numpy as np
import pytest

from triage.core.embeddings import Embedder, HashingEmbedder, embedder_for_artifact, load_embedder
from triage.core.errors import EmbedderUnavailableError


def test_hashing_embedder_is_deterministic_normalised_and_an_embedder() -> None:
    embedder = load_embedder("hashing:64")
    assert isinstance(embedder, Embedder)
    first = embedder.encode(["VPN keeps dropping", "Printer jam"])
    second = HashingEmbedder(64).encode(["VPN keeps dropping", "Printer jam"])
    assert first.shape == (2, 64)
    assert first.dtype == np.float32
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-5)


def test_an_unknown_embedder_setting_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(EmbedderUnavailableError, match="TRIAGE_EMBEDDER='nope'.*never downloaded"):
        load_embedder("nope")
    with pytest.raises(
        EmbedderUnavailableError, match="not a sentence-transformers model directory"
    ):
        load_embedder(str(tmp_path))


def test_an_artifact_with_an_unknown_embedder_is_refused() -> None:
    with pytest.raises(EmbedderUnavailableError, match="unknown embedder kind 'magic'"):
        embedder_for_artifact({"kind": "magic", "dim": 3})
    with pytest.raises(EmbedderUnavailableError, match="unknown embedder source"):
        embedder_for_artifact({"kind": "sentence-transformers", "source": "hub:x", "dim": 3})
