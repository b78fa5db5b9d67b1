"""What a training run learns from a file, and how: ``TrainConfig`` and its defaults."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from triage.core.decisions import DEFAULT_SUGGEST_FLOOR, DEFAULT_TARGET_PRECISION
from triage.training.finetune import FinetuneConfig
from triage.training.fit_refinement import COLD_START_BELOW, VOTE_WEIGHTS

DEFAULT_TEXT_COLUMNS = ("subject", "body")
DEFAULT_LABELS = {"category": "category", "tier": "tier"}
# Heads `triage train` adds when the file has one of their columns (the first found): the
# sample data's priority, and the assignment group a helpdesk export names (issue 20).
OPTIONAL_LABELS: Mapping[str, tuple[str, ...]] = {
    "priority": ("priority",),
    "group": ("assignment_group", "group"),
}
Say = Callable[[str], None]


@dataclass(frozen=True)
class TrainConfig:
    """What to learn from a file, and how to split it."""

    text_columns: tuple[str, ...] = DEFAULT_TEXT_COLUMNS
    labels: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_LABELS))
    # Heads learned too when the file has one of their columns (see OPTIONAL_LABELS).
    optional_labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    test_size: float = 0.2
    seed: int = 0
    slice_columns: tuple[str, ...] = ("language",)
    min_per_class: int = 2
    drop_rare: bool = False
    # After a held-out evaluation, fit the shipped heads on every ticket (the held-out part
    # too) and keep the held-out figures as the estimate; False ships the evaluated heads.
    refit: bool = True
    target_precision: float = DEFAULT_TARGET_PRECISION
    suggest_floor: float = DEFAULT_SUGGEST_FLOOR
    min_threshold_support: int = 10
    id_column: str = "id"
    encoding: str | None = None  # of CSV / JSON Lines files; None: UTF-8, else detected
    tune: bool = True
    head_params: Mapping[str, Any] = field(default_factory=dict)
    # Save the body as int8 ONNX beside the heads (sentence-transformers bodies only), so
    # the service runs without torch.
    onnx: bool = True
    onnx_guard_size: int = 256
    # Contrastive fine-tuning of the body on one head's labels before the heads are fitted
    # (``triage train --finetune``); None keeps the body frozen.
    finetune: FinetuneConfig | None = None
    finetune_head: str | None = None  # default: the first head
    # After each head (triage.core.refinement): blend weights of the nearest tickets' vote to
    # compare out of fold ((0.0,) turns the vote off), and the top-label calibration.
    vote_weights: tuple[float, ...] = VOTE_WEIGHTS
    top_label_calibration: bool = True
    # Cold start: with fewer training tickets than this in the median class, a head answers
    # by the class-centroid vote alone (benchmarks/learning_curve.py: better below ~5 a class).
    cold_start_below: int = COLD_START_BELOW
    # Above this many rows the heads train on a stratified sample of it (None: every row).
    # The learning curve (README) still rises at ~4.8 k tickets a class on the largest set
    # measured (47.8 k tickets), so ``triage train --engine ray`` caps at 200 k, 4x past it,
    # where head fitting stays minutes on one machine; the embedding step is what scales out.
    max_tickets: int | None = None

    def heads_for(self, columns: Iterable[str]) -> dict[str, str]:
        """``labels`` and each optional head whose column is among ``columns``."""
        present = set(map(str, columns))
        heads = dict(self.labels)
        for head, candidates in self.optional_labels.items():
            found = next((c for c in candidates if c in present), None)
            if head not in heads and found is not None and found not in heads.values():
                heads[head] = found
        return heads
