"""The serving body: the sentence embedder exported to ONNX, run without torch.

``triage export-onnx`` (and ``triage train``) write the transformer of a sentence-transformers
model as ``embedder/model.onnx`` beside the model's own ``embedder/tokenizer.json``; the
manifest records how to run them (its ``onnx_embedder`` entry) and their checksums. Here the
``tokenizers`` package, an onnxruntime session, mean pooling and L2 normalisation reproduce
``SentenceTransformer.encode(..., normalize_embeddings=True)``, and nothing imports torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from triage.core.errors import EmbedderUnavailableError

ONNX_DIR = "embedder"
ONNX_MODEL = f"{ONNX_DIR}/model.onnx"
ONNX_TOKENIZER = f"{ONNX_DIR}/tokenizer.json"
OUTPUT_NAME = "token_embeddings"
MICRO_BATCH = 16  # texts per ONNX run, whatever batch_size the caller asks for
_REQUIRED = ("name", "dim", "max_seq_length", "inputs", "pad_id", "pad_token", "precision")


class OnnxEmbedder:
    """Tokenizer + ONNX transformer + mean pooling + L2 normalisation, on onnxruntime.

    ``spec`` is the manifest's ``onnx_embedder`` entry; ``threads`` is the session's intra-op
    thread count (one per worker when several workers share the cores: OpenMP-style spinning
    threads of two processes on the same cores slow each other down badly).
    """

    def __init__(
        self, model_path: Path, tokenizer_path: Path, spec: Mapping[str, Any], *, threads: int = 2
    ) -> None:
        missing = [key for key in _REQUIRED if key not in spec]
        if missing:
            raise EmbedderUnavailableError(
                f"the onnx_embedder entry of the manifest lacks {', '.join(missing)}; "
                "export it again with 'triage export-onnx'"
            )
        try:
            import onnxruntime as ort  # type: ignore[import-untyped]
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EmbedderUnavailableError(
                f"the ONNX embedder needs onnxruntime and tokenizers ({exc}); install triage "
                "with its serving dependencies (requirements/serve.txt)"
            ) from exc
        self._spec = dict(spec)
        self._dim = int(spec["dim"])
        self._inputs = [str(name) for name in spec["inputs"]]
        self._lowercase = bool(spec.get("lowercase", False))
        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
        except Exception as exc:  # a malformed tokenizer.json is an artifact problem
            raise EmbedderUnavailableError(f"cannot read {tokenizer_path}: {exc}") from exc
        # What sentence-transformers does: truncate at max_seq_length, pad to the batch's longest.
        tokenizer.enable_truncation(max_length=int(spec["max_seq_length"]))
        tokenizer.no_padding()
        tokenizer.enable_padding(pad_id=int(spec["pad_id"]), pad_token=str(spec["pad_token"]))
        self._tokenizer = tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle intra-op threads would otherwise spin for the next request and steal the CPU
        # from the other workers (and from the HTTP layer) on a shared 2-core machine.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(
                str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise EmbedderUnavailableError(f"cannot load {model_path}: {exc}") from exc
        names = {node.name for node in self._session.get_inputs()}
        if names != set(self._inputs):
            raise EmbedderUnavailableError(
                f"{model_path} takes inputs {sorted(names)}, the manifest says {self._inputs}"
            )
        self._threads = max(1, threads)

    @classmethod
    def from_artifact(
        cls, path: Path, spec: Mapping[str, Any], *, threads: int = 2
    ) -> OnnxEmbedder:
        """The ONNX body stored in the artifact directory ``path`` (checksums already verified)."""
        return cls(path / ONNX_MODEL, path / ONNX_TOKENIZER, spec, threads=threads)

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def threads(self) -> int:
        return self._threads

    @property
    def identity(self) -> dict[str, Any]:
        return {
            "kind": "onnx",
            "name": self._spec["name"],
            "dim": self._dim,
            "max_seq_length": int(self._spec["max_seq_length"]),
            "precision": self._spec["precision"],
            "weights_sha256": self._spec.get("weights_sha256"),
            "base_weights_sha256": self._spec.get("base", {}).get("weights_sha256"),
        }

    def tokenize(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The model inputs for one batch, padded to its longest text."""
        if self._lowercase:
            texts = [text.lower() for text in texts]
        encodings = (
            [self._tokenizer.encode(texts[0])]
            if len(texts) == 1
            else self._tokenizer.encode_batch(list(texts))
        )
        feeds = {
            "input_ids": np.asarray([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.asarray([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.asarray([e.type_ids for e in encodings], dtype=np.int64),
        }
        return {name: feeds[name] for name in self._inputs}

    def run(self, feeds: Mapping[str, np.ndarray]) -> np.ndarray:
        """Pooled, L2-normalised vectors for one tokenised batch."""
        (tokens,) = self._session.run([OUTPUT_NAME], dict(feeds))
        mask = feeds["attention_mask"].astype(np.float32)
        summed = np.matmul(mask[:, None, :], np.asarray(tokens, dtype=np.float32))[:, 0, :]
        pooled = summed / np.clip(mask.sum(axis=1, keepdims=True), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.clip(norms, 1e-12, None), dtype=np.float32)

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        # Batches of similar length waste little work on padding (sentence-transformers sorts
        # the same way); the vectors go back in the caller's order.
        order = np.argsort([-len(text) for text in texts], kind="stable")
        vectors = np.empty((len(texts), self._dim), dtype=np.float32)
        # Small runs are faster per ticket on a CPU (the activations stay in cache):
        # int8 MiniLM, 30-word tickets, 2 threads: 463 tickets/s in runs of 16, 378 in 64.
        step = max(1, min(batch_size, MICRO_BATCH))
        starts: Iterable[int] = range(0, len(texts), step)
        if show_progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="embedding (onnx)", unit="batch")
        for start in starts:
            chunk = order[start : start + step]
            vectors[chunk] = self.run(self.tokenize([texts[i] for i in chunk]))
        return vectors
