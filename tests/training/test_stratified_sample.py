"""``--max-tickets``: above the cap the heads train on a stratified sample, and say so."""

from __future__ import annotations

import pandas as pd

from tests.conftest import SAMPLE_DATA
from triage.training.config import TrainConfig
from triage.training.model_card import _sample_line
from triage.training.split import split_rows, stratified_sample


def test_each_class_keeps_its_share_and_a_rare_one_is_kept() -> None:
    frame = pd.DataFrame({"text": [f"t{i}" for i in range(1_000)]})
    frame["category"] = ["a"] * 700 + ["b"] * 297 + ["c"] * 3
    sample, info = stratified_sample(frame, {"category": "category"}, 100, seed=0)
    assert sample["category"].value_counts().to_dict() == {"a": 70, "b": 30, "c": 2}
    assert (info["rows"], info["of"], info["by"]) == (102, 1_000, "category")
    again, _ = stratified_sample(frame, {"category": "category"}, 100, seed=0)
    assert sample.equals(again)  # the seed decides


def test_split_rows_samples_above_the_cap_and_says_so() -> None:
    split = split_rows(TrainConfig(max_tickets=200), SAMPLE_DATA, None)
    sample = split.training_data["sample"]
    assert sample["of"] == 660
    assert 195 <= sample["rows"] <= 210
    assert split.training_data["rows"] == 660
    assert split.training_data["rows_used"] == sample["rows"]
    assert any("stratified sample" in note for note in split.notes)
    assert "stratified sample" in _sample_line(sample)[0]
    unsampled = split_rows(TrainConfig(), SAMPLE_DATA, None)
    assert "sample" not in unsampled.training_data
