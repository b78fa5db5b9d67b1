"""Export the embedding body to ONNX and quantize it to int8 (offline work: needs torch).

The transformer of a sentence-transformers model is traced with ``torch.onnx.export`` (the
TorchScript exporter: ``sentence-transformers[onnx]``/optimum do not resolve with
sentence-transformers 6), then its weights are quantized with onnxruntime's dynamic int8
quantization, per channel. Tokenizer, pooling and normalisation stay outside the graph and
are done by :class:`triage.core.onnx_embedder.OnnxEmbedder`, the same class the service runs.

Two guards, both measured on a fixed sample of texts with that runtime class:

* the fp32 graph must reproduce ``SentenceTransformer.encode`` (cosine >= 0.9999 per text),
  else the export is wrong and nothing is written;
* the int8 graph must keep a mean cosine >= ``min_cosine`` (0.99) to the fp32 one, else the
  fp32 graph is shipped instead and the result says so.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np

from triage.core.checksums import sha256_file
from triage.core.embeddings import SentenceTransformerEmbedder
from triage.core.errors import ArtifactError, EmbedderUnavailableError
from triage.core.onnx_embedder import ONNX_MODEL, ONNX_TOKENIZER, OUTPUT_NAME, OnnxEmbedder

Precision = Literal["auto", "int8", "fp32"]
Say = Callable[[str], None]
MIN_COSINE = 0.99
EXPORT_MIN_COSINE = 0.9999
OPSET = 17
_KNOWN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Ticket-like texts for the guards when no training texts are at hand (``triage export-onnx``).
GUARD_TEXTS = (
    "I forgot my password and my account is locked after three attempts",
    "Outlook keeps asking for my password since this morning",
    "The printer on the 3rd floor jams on every job",
    "VPN disconnects every ten minutes when working from home",
    "Please install Visual Studio Code on my laptop, I have approval from my manager",
    "Laptop battery swollen, the case does not close anymore",
    "Need access to the finance shared drive for the quarterly close",
    "Suspicious e-mail asking me to confirm my bank details, I clicked the link",
    "New joiner starting Monday needs an account, a laptop and a badge",
    "Wi-Fi in meeting room B is very slow, video calls keep freezing",
    "Excel crashes when I open the budget workbook with macros",
    "Restore a folder I deleted yesterday from the project share",
    "Mailbox full, cannot send or receive any messages",
    "Monitor flickers and goes black for a few seconds",
    "Printer minta toner baru, hasil cetak pudar",
    "Tidak bisa login ke email kantor sejak pagi",
    "SAP shows error 403 when posting an invoice",
    "Teams microphone not detected after the Windows update",
    "Please reset MFA on my new phone",
    "Request: remove ex-employee from the distribution lists and disable the account",
    "Disk almost full on the file server FS02, backups failing",
    "Phishing simulation report: three users entered credentials",
    "Docking station does not charge the laptop",
    "Cannot connect to the database server from the reporting tool, timeout",
    "ok",
    "Urgent!!! nothing works",
    "Keyboard",
    "The shared calendar of the support team is not visible to new members of the team "
    "even after they were added to the group last week; we need it for the rota",
)


class UnsupportedBodyError(EmbedderUnavailableError):
    """The body is not transformer + mean pooling (+ normalisation): no ONNX export for it."""


@dataclass(frozen=True)
class OnnxExport:
    """An exported body: ``files`` (artifact path -> file on disk) and the manifest entry."""

    files: dict[str, Path]
    spec: dict[str, Any]

    @property
    def precision(self) -> str:
        return str(self.spec["precision"])


def _exportable(embedder: SentenceTransformerEmbedder) -> Any:
    """The sentence-transformers model, after checking its pipeline is one we reproduce."""
    model = embedder.sentence_transformer
    modules = list(model)
    kinds = [type(module).__name__ for module in modules]
    if len(modules) < 2 or kinds[0] != "Transformer" or kinds[1] != "Pooling":
        raise UnsupportedBodyError(
            f"{embedder.identity['name']}: modules {kinds}; only Transformer + Pooling "
            "(+ Normalize) bodies are exported to ONNX"
        )
    pooling = modules[1].get_config_dict()
    mode = pooling.get("pooling_mode") or (
        "mean" if pooling.get("pooling_mode_mean_tokens") else "other"
    )
    if mode != "mean" or any(kind != "Normalize" for kind in kinds[2:]):
        raise UnsupportedBodyError(
            f"{embedder.identity['name']}: pooling {mode!r} and modules {kinds[2:]}; only mean "
            "pooling followed by nothing but Normalize is exported to ONNX"
        )
    if getattr(model, "default_prompt_name", None):
        raise UnsupportedBodyError(f"{embedder.identity['name']} adds a default prompt")
    return model


@contextmanager
def _quiet() -> Iterator[None]:
    """The exporter warns about its own deprecation; the quantizer logs advice on the root."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


def _export_fp32(model: Any, path: Path, inputs: list[str]) -> None:
    import torch

    transformer = model[0].auto_model
    transformer.eval()

    class _Body(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            out = self.transformer(**dict(zip(inputs, tensors, strict=True)), return_dict=True)
            return out.last_hidden_state  # type: ignore[no-any-return]

    example = model.tokenizer(
        ["a short ticket", "a slightly longer ticket text"], padding=True, return_tensors="pt"
    )
    axes = {"batch": 0, "tokens": 1}
    dynamic = {name: {v: k for k, v in axes.items()} for name in [*inputs, OUTPUT_NAME]}
    with _quiet(), torch.no_grad():
        torch.onnx.export(
            _Body(),
            tuple(example[name] for name in inputs),
            str(path),
            input_names=inputs,
            output_names=[OUTPUT_NAME],
            dynamic_axes=dynamic,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


def _quantize(source: Path, target: Path) -> None:
    from onnxruntime.quantization import (  # type: ignore[import-untyped]
        QuantType,
        quantize_dynamic,
    )

    # Per-channel scales keep the int8 body at a mean cosine of ~0.994 to fp32 on tickets;
    # one scale per tensor drops it to ~0.96.
    with _quiet():
        quantize_dynamic(str(source), str(target), per_channel=True, weight_type=QuantType.QInt8)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(np.sum(a * b, axis=1), dtype=np.float64)


def export_onnx(
    embedder: SentenceTransformerEmbedder,
    directory: Path,
    *,
    sample: Sequence[str] = GUARD_TEXTS,
    reference: np.ndarray | None = None,
    precision: Precision = "auto",
    min_cosine: float = MIN_COSINE,
    threads: int = 2,
    say: Callable[[str], None] = lambda _msg: None,
) -> OnnxExport:
    """Write ``model.onnx`` and ``tokenizer.json`` under ``directory`` and describe them.

    ``sample``: the guard texts (``reference``: their vectors from ``embedder``, when the
    caller has them). ``precision``: ``auto`` ships int8 when it passes the cosine guard and
    fp32 otherwise; ``int8`` fails instead of falling back; ``fp32`` skips quantization.
    """
    model = _exportable(embedder)
    texts = list(sample) or list(GUARD_TEXTS)
    if reference is None or len(reference) != len(texts):
        reference = embedder.encode(texts)
    tokenizer = model.tokenizer
    inputs = _model_inputs(tokenizer)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer_path = directory / Path(ONNX_TOKENIZER).name
    tokenizer.backend_tokenizer.save(str(tokenizer_path))
    spec = _body_spec(embedder, model, inputs)
    name = spec["name"]
    model_path = directory / Path(ONNX_MODEL).name
    with tempfile.TemporaryDirectory(prefix="triage-onnx-") as scratch:
        graph = _Graphs(Path(scratch), tokenizer_path, spec, texts, threads)
        say(f"exporting {name} to ONNX (opset {OPSET})")
        _export_fp32(model, graph.path("fp32"), inputs)
        fp32 = graph.encode("fp32")
        quality = _fp32_quality(name, fp32, reference, min_cosine)
        chosen = "fp32"
        if precision in ("auto", "int8"):
            say("quantizing to int8 (dynamic, per channel)")
            _quantize(graph.path("fp32"), graph.path("int8"))
            int8 = graph.encode("int8")
            quality.update(_int8_quality(int8, fp32))
            if _int8_passes(_cosines(int8, fp32), min_cosine, precision, len(texts), say):
                chosen = "int8"
        shutil.copyfile(graph.path(chosen), model_path)
    spec.update(
        precision=chosen,
        quantization="dynamic int8, per channel" if chosen == "int8" else None,
        weights_sha256=sha256_file(model_path),
        quality=quality,
    )
    say(_shipped_line(chosen, model_path, quality))
    return OnnxExport(files={ONNX_MODEL: model_path, ONNX_TOKENIZER: tokenizer_path}, spec=spec)


def _model_inputs(tokenizer: Any) -> list[str]:
    """The tokenizer's outputs the graph takes; ids and attention mask are required."""
    inputs = [name for name in tokenizer.model_input_names if name in _KNOWN_INPUTS]
    if "input_ids" not in inputs or "attention_mask" not in inputs:
        raise UnsupportedBodyError(f"tokenizer inputs {tokenizer.model_input_names}")
    return inputs


def _body_spec(
    embedder: SentenceTransformerEmbedder, model: Any, inputs: list[str]
) -> dict[str, Any]:
    """The manifest entry of the ONNX body, before its precision and checks are known."""
    tokenizer = model.tokenizer
    identity = embedder.identity
    return {
        "name": identity["name"],
        "dim": embedder.dim,
        "max_seq_length": int(model.max_seq_length),
        "lowercase": bool(getattr(model[0], "do_lower_case", False)),
        "inputs": inputs,
        "output": OUTPUT_NAME,
        "pad_id": int(tokenizer.pad_token_id),
        "pad_token": str(tokenizer.pad_token),
        "pooling": "mean",
        "normalize": True,
        "opset": OPSET,
        "base": {k: identity.get(k) for k in ("kind", "name", "source", "weights_sha256")},
        "exported_with": {
            name: metadata.version(name)
            for name in ("torch", "onnx", "onnxruntime", "sentence-transformers")
        },
    }


@dataclass(frozen=True)
class _Graphs:
    """The graphs of one export in a scratch directory, each run as the service runs it."""

    scratch: Path
    tokenizer_path: Path
    spec: dict[str, Any]
    texts: list[str]
    threads: int

    def path(self, precision: str) -> Path:
        return self.scratch / f"{precision}.onnx"

    def encode(self, precision: str) -> np.ndarray:
        """The guard texts' vectors by the graph of ``precision``."""
        spec = {**self.spec, "precision": precision}
        embedder = OnnxEmbedder(
            self.path(precision), self.tokenizer_path, spec, threads=self.threads
        )
        return embedder.encode(self.texts)


def _fp32_quality(
    name: str, fp32: np.ndarray, reference: np.ndarray, min_cosine: float
) -> dict[str, Any]:
    """The fp32 graph's check against sentence-transformers; a wrong export raises."""
    exact = _cosines(fp32, reference)
    if exact.min() < EXPORT_MIN_COSINE:
        raise ArtifactError(
            f"the ONNX export of {name} does not reproduce sentence-transformers "
            f"(lowest cosine {exact.min():.6f} on {len(fp32)} texts); nothing was written"
        )
    return {
        "sample_size": len(fp32),
        "fp32_vs_torch_min_cosine": round(float(exact.min()), 7),
        "min_cosine_required": min_cosine,
    }


def _int8_quality(int8: np.ndarray, fp32: np.ndarray) -> dict[str, float]:
    """How close the int8 graph stays to the fp32 one, text by text and pair by pair."""
    cosine = _cosines(int8, fp32)
    return {
        "int8_vs_fp32_mean_cosine": round(float(cosine.mean()), 5),
        "int8_vs_fp32_min_cosine": round(float(cosine.min()), 5),
        # How well the int8 body keeps the neighbourhood structure the heads rely on.
        "pairwise_similarity_correlation": round(
            float(np.corrcoef((int8 @ int8.T).ravel(), (fp32 @ fp32.T).ravel())[0, 1]), 5
        ),
    }


def _int8_passes(
    cosine: np.ndarray, min_cosine: float, precision: Precision, n_texts: int, say: Say
) -> bool:
    """Whether the int8 graph ships; short of ``min_cosine`` it fails when int8 was asked for,
    and falls back to fp32 otherwise."""
    if cosine.mean() >= min_cosine:
        return True
    if precision == "int8":
        raise ArtifactError(
            f"int8 embeddings reach a mean cosine of {cosine.mean():.4f} to fp32 on "
            f"{n_texts} texts, below the {min_cosine} required"
        )
    say(f"int8 mean cosine {cosine.mean():.4f} < {min_cosine}: shipping the fp32 ONNX body instead")
    return False


def _shipped_line(chosen: str, model_path: Path, quality: dict[str, Any]) -> str:
    return f"ONNX body: {chosen}, {model_path.stat().st_size / 1e6:.0f} MB" + (
        f", mean cosine to fp32 {quality['int8_vs_fp32_mean_cosine']:.4f}"
        if "int8_vs_fp32_mean_cosine" in quality
        else ""
    )
