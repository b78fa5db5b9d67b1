"""Contrastive fine-tuning of the embedding body on the training labels (offline; needs torch).

SetFit-style, sized for a CPU: a few epochs of a supervised contrastive loss (SupCon,
Khosla et al. 2020) over batches that hold several tickets of each sampled class, so that
every ticket has positives (same label) and in-batch negatives (other labels). The pooled,
L2-normalised sentence embedding is what is trained, exactly what the heads later read, so
the result is an ordinary sentence-transformers body: it is saved into the model artifact
(``embedder/torch/``), exported to ONNX like any other, and named in the manifest by its own
weights checksum together with the base model it came from.

Only training rows are ever seen here; the held-out rows of ``triage train`` are not.
The defaults were chosen on a validation split carved from Banking77's training file
(``benchmarks/README.md``: fine-tuning).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from triage.core.embeddings import ARTIFACT_BODY_DIR, ARTIFACT_SOURCE, SentenceTransformerEmbedder
from triage.core.errors import DataValidationError, EmbedderUnavailableError

Say = Callable[[str], None]


@dataclass(frozen=True)
class FinetuneConfig:
    """How long and how hard to fine-tune. ``max_steps`` caps large training sets."""

    epochs: float = 1.0
    batch_size: int = 64
    learning_rate: float = 5e-5
    temperature: float = 0.05
    max_seq_length: int = 64  # tokens per ticket while training (serving keeps the base's)
    max_steps: int = 400
    warmup_share: float = 0.1
    weight_decay: float = 0.01
    seed: int = 0

    def steps(self, n_train: int) -> int:
        return max(1, min(self.max_steps, round(self.epochs * n_train / self.batch_size)))


@dataclass(frozen=True)
class FinetuneResult:
    embedder: SentenceTransformerEmbedder
    files: dict[str, Path]  # artifact-relative path -> file of the tuned body
    summary: dict[str, Any]


class BalancedBatches:
    """Index batches with at least two tickets of each class they contain.

    Up to ``batch_size // 2`` classes per batch, drawn uniformly (rare classes are seen as
    often as common ones), and ``batch_size // classes`` tickets of each, with replacement
    only where a class has fewer tickets than that.
    """

    def __init__(self, labels: Sequence[str], batch_size: int, seed: int) -> None:
        codes = np.asarray(labels)
        self._by_class = [
            np.flatnonzero(codes == label)
            for label in sorted(set(labels))
            if int(np.sum(codes == label)) >= 2
        ]
        if len(self._by_class) < 2:
            raise DataValidationError(
                "fine-tuning needs at least two classes with two or more training tickets"
            )
        self._per_batch = min(len(self._by_class), max(2, batch_size // 2))
        self._per_class = max(2, batch_size // self._per_batch)
        self._rng = np.random.default_rng(seed)

    def __next__(self) -> np.ndarray:
        chosen = self._rng.choice(len(self._by_class), size=self._per_batch, replace=False)
        picks = []
        for c in chosen:
            members = self._by_class[c]
            short = len(members) < self._per_class
            picks.append(self._rng.choice(members, size=self._per_class, replace=short))
        return np.concatenate(picks)

    def __iter__(self) -> BalancedBatches:
        return self


def supervised_contrastive_loss(embeddings: Any, labels: Any, temperature: float) -> Any:
    """SupCon over one batch of L2-normalised embeddings (torch tensors)."""
    import torch

    similarity = embeddings @ embeddings.T / temperature
    self_mask = torch.eye(len(labels), dtype=torch.bool, device=embeddings.device)
    similarity = similarity.masked_fill(self_mask, float("-inf"))
    positives = (labels[:, None] == labels[None, :]) & ~self_mask
    log_prob = similarity - torch.logsumexp(similarity, dim=1, keepdim=True)
    log_prob = log_prob.masked_fill(self_mask, 0.0)
    per_anchor = (log_prob * positives).sum(dim=1) / positives.sum(dim=1).clamp(min=1)
    return -per_anchor[positives.any(dim=1)].mean()


FINETUNABLE_BODY = "minilm"


def finetunable_body(spec: str) -> tuple[str, str | None]:
    """The body ``--finetune`` tunes for the setting ``spec``: itself when it is a
    sentence-transformers body (``minilm`` or a local model directory), else ``minilm``,
    with a note saying so and what it costs."""
    if spec == FINETUNABLE_BODY or Path(spec).expanduser().is_dir():
        return spec, None
    return FINETUNABLE_BODY, (
        f"--finetune: the {spec!r} body cannot be fine-tuned (only sentence-transformers "
        f"bodies can: {FINETUNABLE_BODY} or a local model directory), so this run fine-tunes "
        f"{FINETUNABLE_BODY} (all-MiniLM-L6-v2) instead. It was trained on English: compare "
        f"its figures, Bahasa Indonesia tickets' above all, with a run on {spec!r} without "
        "--finetune before serving it"
    )


def finetune_body(
    base: Any,
    texts: Sequence[str],
    labels: Sequence[str],
    directory: Path,
    *,
    config: FinetuneConfig | None = None,
    say: Say = lambda _msg: None,
) -> FinetuneResult:
    """Fine-tune a copy of ``base`` (a sentence-transformers body) on ``texts``/``labels``
    and save it under ``directory``; ``base`` itself is left as it was."""
    if not isinstance(base, SentenceTransformerEmbedder):
        raise EmbedderUnavailableError(
            "fine-tuning needs a sentence-transformers body (TRIAGE_EMBEDDER=minilm or a local "
            f"model directory); {base.identity.get('name')!r} is not one"
        )
    import copy

    import torch

    config = config or FinetuneConfig()
    torch.manual_seed(config.seed)
    model = copy.deepcopy(base.sentence_transformer)
    # Tickets are cut shorter while training (the cost grows with the longest in a batch);
    # the saved body embeds with the base model's own limit.
    serving_length = model.max_seq_length
    model.max_seq_length = min(config.max_seq_length, serving_length or config.max_seq_length)
    batches = BalancedBatches(labels, config.batch_size, config.seed)
    steps = config.steps(len(texts))
    say(f"fine-tuning the body: {steps} steps of {config.batch_size} tickets")
    started = time.perf_counter()
    losses = _train(model, texts, labels, batches, steps, config, say)
    model.max_seq_length = serving_length
    seconds = time.perf_counter() - started
    body_dir = directory / "tuned-body"
    model.save(str(body_dir))
    base_identity = base.identity
    tuned = SentenceTransformerEmbedder(
        body_dir,
        name=f"{base_identity['name']}+finetuned",
        source=ARTIFACT_SOURCE,
        threads=torch.get_num_threads(),
    )
    summary = {
        "base": base_identity,
        "config": asdict(config),
        "steps": steps,
        "training_tickets": len(texts),
        "seconds": round(seconds, 1),
        "loss_first_100": round(float(np.mean(losses[:100])), 4),
        "loss_last_100": round(float(np.mean(losses[-100:])), 4),
    }
    files = {
        f"{ARTIFACT_BODY_DIR}/{path.relative_to(body_dir)}": path
        for path in sorted(body_dir.rglob("*"))
        if path.is_file()
    }
    return FinetuneResult(embedder=tuned, files=files, summary=summary)


def _train(
    model: Any,
    texts: Sequence[str],
    labels: Sequence[str],
    batches: BalancedBatches,
    steps: int,
    config: FinetuneConfig,
    say: Say,
) -> list[float]:
    """``steps`` optimiser steps of the SupCon loss on ``model`` (AdamW, linear warm-up then
    linear decay); the loss of each step, reported every 100 steps."""
    import torch

    label_ids = {label: i for i, label in enumerate(sorted(set(labels)))}
    codes = torch.tensor([label_ids[label] for label in labels])
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    warmup = max(1, round(config.warmup_share * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, (steps - step) / steps)
    )
    started = time.perf_counter()
    losses: list[float] = []
    model.train()
    for step in range(steps):
        rows = next(batches)
        features = model.preprocess([texts[i] for i in rows])
        pooled = model(features)["sentence_embedding"]
        embeddings = torch.nn.functional.normalize(pooled, dim=-1)
        loss = supervised_contrastive_loss(embeddings, codes[rows], config.temperature)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
        if (step + 1) % 100 == 0 or step + 1 == steps:
            say(
                f"  step {step + 1}/{steps}: loss {np.mean(losses[-100:]):.3f} "
                f"({time.perf_counter() - started:.0f}s)"
            )
    model.eval()
    return losses
