"""Give a saved model an ONNX embedding body, so that it is served without torch.

The body the model was trained with is exported (:func:`triage.training.export_onnx.export_onnx`),
checked on sample texts, and added to the artifact beside the heads.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from triage.core.artifacts import ONNX_ENTRY, add_onnx_embedder, read_manifest
from triage.core.embeddings import SentenceTransformerEmbedder, embedder_for_artifact
from triage.core.errors import EmbedderUnavailableError
from triage.core.text import ticket_text
from triage.training.data import read_table
from triage.training.export_onnx import GUARD_TEXTS, Precision, export_onnx

SAMPLE_SIZE = 256


class OnnxBodyExistsError(Exception):
    """The model already has an ONNX body, and replacing it was not asked for."""

    def __init__(self, path: Path, precision: str) -> None:
        super().__init__(f"{path} already has an ONNX body ({precision})")
        self.path = path
        self.precision = precision


class SampleDataError(ValueError):
    """The sample file has none of the model's text columns."""


def sample_texts(path: Path, text_columns: Sequence[str]) -> list[str]:
    """Up to 256 non-empty model texts from a ticket file, in a fixed shuffled order
    (the built-in sample texts if it has none)."""
    frame = read_table(path).sample(frac=1.0, random_state=0)
    columns = [c for c in text_columns if c in frame.columns]
    if not columns:
        raise SampleDataError(f"{path} has none of the model's text columns")
    texts = (ticket_text(row) for row in frame[columns].itertuples(index=False))
    return [text for text in texts if text][:SAMPLE_SIZE] or list(GUARD_TEXTS)


def add_onnx_body(
    path: Path,
    *,
    precision: Precision = "auto",
    sample_data: Path | None = None,
    replace: bool = False,
    embedder_path: Path | None = None,
    threads: int = 2,
    say: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Any]:
    """Export the body of the model in ``path`` and add it there; returns the manifest's
    new ONNX entry (its precision and the quality measured on the sample texts).

    ``sample_data``: a ticket file whose texts check the export (default: built-in texts).
    """
    manifest = read_manifest(path)
    if ONNX_ENTRY in manifest and not replace:
        raise OnnxBodyExistsError(path, manifest[ONNX_ENTRY]["precision"])
    body = embedder_for_artifact(
        manifest["embedder"], override_path=embedder_path, artifact_dir=path, threads=threads
    )
    if not isinstance(body, SentenceTransformerEmbedder):
        raise EmbedderUnavailableError(
            f"{path.name} was trained with a {body.identity['kind']!r} embedder: only "
            "sentence-transformers bodies are exported to ONNX"
        )
    sample = list(GUARD_TEXTS)
    if sample_data is not None:
        sample = sample_texts(sample_data, manifest.get("text_columns", []))
    with tempfile.TemporaryDirectory(prefix="triage-onnx-") as scratch:
        exported = export_onnx(
            body, Path(scratch), sample=sample, precision=precision, threads=threads, say=say
        )
        add_onnx_embedder(path, exported.files, exported.spec, replace=replace)
    return exported.spec
