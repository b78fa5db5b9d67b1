"""The embedding body on a worker: loaded once per Ray actor (or once in the one process),
then applied batch after batch.

A :class:`BodySpec` says how to load it (a model's served body, or an embedder setting);
it is what travels to the workers, never the weights. Only bodies that run without torch
are taken (ONNX exports, the NumPy and C multilingual bodies, the hashing stand-in): a
worker per CPU each importing torch would cost gigabytes for nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from triage.core.artifacts import artifact_embedder, read_manifest
from triage.core.artifacts.manifest import ONNX_ENTRY
from triage.core.embeddings import Embedder, load_embedder
from triage.core.errors import EmbedderUnavailableError
from triage.core.language import DEFAULT_LANGUAGES, language_detector
from triage.core.multilingual import MULTILINGUAL_SPECS
from triage.similar.subjects import embed_with_subjects

Batch = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class BodySpec:
    """How a worker loads the body: the served body of the model in ``model_dir`` (its ONNX
    export where it has one), else the embedder setting ``embedder`` (use-multilingual,
    e5-multilingual, hashing[:DIM])."""

    model_dir: Path | None = None
    embedder: str | None = None
    embedder_path: Path | None = None
    threads: int = 1

    def check(self) -> None:
        """Refuse, before any worker starts, a body that would need torch."""
        if self.model_dir is not None:
            manifest = read_manifest(self.model_dir)
            kind = manifest.get("embedder", {}).get("kind")
            if ONNX_ENTRY not in manifest and kind == "sentence-transformers":
                raise EmbedderUnavailableError(
                    f"{self.model_dir}: its body runs on torch, which the Ray workers never "
                    f"load; add an ONNX body first with 'triage export-onnx {self.model_dir}'"
                )
            return
        spec = self.embedder or ""
        if spec not in MULTILINGUAL_SPECS and not spec.startswith("hashing"):
            raise EmbedderUnavailableError(
                f"embedder {spec!r} runs on torch, which the Ray workers never load: use a "
                f"model with an ONNX body (--model), or one of {', '.join(MULTILINGUAL_SPECS)}"
            )

    def load(self) -> Embedder:
        self.check()
        if self.model_dir is not None:
            return artifact_embedder(
                self.model_dir,
                read_manifest(self.model_dir),
                embedder_path=self.embedder_path,
                threads=self.threads,
            )
        return load_embedder(str(self.embedder), threads=self.threads)


class TicketEmbedder:
    """One batch of tickets to their vectors, subject vectors and languages.

    ``map_batches`` builds one per actor (the body and the language model loaded once);
    the one-process engine builds one and calls it the same way. In: ``text``,
    ``subject`` (``""`` where the ticket has none of its own). Out: the batch with
    ``vec`` and ``subject_vec`` (zeros where none; ``has_subject`` says which) and
    ``language`` added, exactly as :meth:`SimilarService.add` makes them.
    """

    def __init__(
        self,
        body: BodySpec,
        languages: Sequence[str] = DEFAULT_LANGUAGES,
        cache_dir: Path | None = None,
    ) -> None:
        self.embedder = body.load()
        self.detector = language_detector(languages, cache_dir=cache_dir)

    def __call__(self, batch: Batch) -> dict[str, Any]:
        texts = [str(t) for t in batch["text"]]
        subjects = [str(s) if s else None for s in batch["subject"]]
        positions = list(range(len(texts)))
        by_position, by_subject = embed_with_subjects(
            self._embed, texts, subjects, positions if texts else []
        )
        dim = self.embedder.dim
        vec = np.zeros((len(texts), dim), dtype=np.float32)
        subject_vec = np.zeros((len(texts), dim), dtype=np.float32)
        for i, v in by_position.items():
            vec[i] = v
        for i, v in by_subject.items():
            subject_vec[i] = v
        languages = [guess.code or "" for guess in self.detector.detect_many(texts)]
        out = dict(batch)
        out["vec"] = vec
        out["subject_vec"] = subject_vec
        out["has_subject"] = np.asarray([i in by_subject for i in positions], dtype=bool)
        out["language"] = np.asarray(languages, dtype=object)
        return out

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.embedder.encode(list(texts)), dtype=np.float32)


class TextEncoder:
    """One batch of texts (``text``) to their vectors (``vec``): training's embedding step
    on a worker, the body loaded once per actor."""

    def __init__(self, body: BodySpec) -> None:
        self.embedder = body.load()

    def __call__(self, batch: Batch) -> dict[str, Any]:
        texts = [str(t) for t in batch["text"]]
        vectors = np.asarray(self.embedder.encode(texts), dtype=np.float32)
        return {"row": batch["row"], "vec": vectors.reshape(len(texts), self.embedder.dim)}
