"""The pieces of contrastive fine-tuning that need no model: batches and the loss."""

from collections import Counter

import numpy as np
import pytest

from triage.core.errors import DataValidationError
from triage.training.finetune import BalancedBatches, FinetuneConfig, supervised_contrastive_loss


def test_every_class_in_a_batch_has_a_positive() -> None:
    labels = ["a"] * 50 + ["b"] * 5 + ["c"] * 2 + ["lonely"] + [f"k{i}" for i in range(40)] * 3
    batches = BalancedBatches(labels, batch_size=16, seed=0)
    for _ in range(50):
        rows = next(batches)
        assert len(rows) == 16
        counts = Counter(labels[i] for i in rows)
        assert min(counts.values()) >= 2
        assert "lonely" not in counts  # one ticket cannot be its own positive


def test_few_classes_fill_the_batch_with_more_tickets_each() -> None:
    labels = ["L1"] * 30 + ["escalated"] * 10
    counts = Counter(labels[i] for i in next(BalancedBatches(labels, batch_size=64, seed=1)))
    assert counts == {"L1": 32, "escalated": 32}  # rare class drawn with replacement


def test_batches_are_repeatable_for_a_seed() -> None:
    labels = [f"c{i % 7}" for i in range(100)]
    first, again = BalancedBatches(labels, 8, seed=3), BalancedBatches(labels, 8, seed=3)
    other = BalancedBatches(labels, 8, seed=4)
    runs = [[next(batches) for _ in range(3)] for batches in (first, again, other)]
    assert all(np.array_equal(x, y) for x, y in zip(runs[0], runs[1], strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(runs[0], runs[2], strict=True))


def test_one_usable_class_is_refused() -> None:
    with pytest.raises(DataValidationError, match="two classes"):
        BalancedBatches(["a", "a", "b"], batch_size=8, seed=0)


def test_steps_follow_epochs_up_to_the_cap() -> None:
    assert FinetuneConfig(epochs=3, batch_size=64, max_steps=1000).steps(6400) == 300
    assert FinetuneConfig(epochs=3, batch_size=64, max_steps=100).steps(6400) == 100
    assert FinetuneConfig(epochs=0.1, batch_size=64).steps(10) == 1


def test_the_loss_rewards_tight_classes() -> None:
    torch = pytest.importorskip("torch")
    labels = torch.tensor([0, 0, 1, 1])
    tight = torch.nn.functional.normalize(
        torch.tensor([[1.0, 0.01], [1.0, -0.01], [0.01, 1.0], [-0.01, 1.0]]), dim=-1
    )
    mixed = torch.nn.functional.normalize(
        torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.01], [0.01, 1.0]]), dim=-1
    )
    good = supervised_contrastive_loss(tight, labels, 0.1)
    bad = supervised_contrastive_loss(mixed, labels, 0.1)
    assert float(good) < 0.01 < float(bad)
    assert torch.isfinite(good)
    assert torch.isfinite(bad)
