"""Retraining: the first model is promoted, a better challenger too, on tickets neither saw."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import SAMPLE_DATA
from triage.core.artifacts import NEIGHBOURS, list_versions
from triage.core.embeddings import HashingEmbedder
from triage.core.errors import ArtifactError
from triage.core.neighbours import NeighbourIndex
from triage.core.registry import active_version
from triage.training.retrain import Gate, RetrainOutcome, retrain
from triage.training.train import TrainConfig

CONFIG = TrainConfig(tune=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample tickets, and 10 of each category: too few to learn well from."""
    directory = tmp_path_factory.mktemp("data")
    frame = pd.read_csv(SAMPLE_DATA, dtype=str, keep_default_na=False)
    small = frame.groupby("category").head(10)
    frame.to_csv(directory / "all.csv", index=False)
    small.to_csv(directory / "small.csv", index=False)
    return {"all": directory / "all.csv", "small": directory / "small.csv"}


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory, files: dict[str, Path]) -> RetrainOutcome:
    """``retrain`` on an empty models directory, with the small file: a weak first model."""
    models_dir = tmp_path_factory.mktemp("first") / "models"
    return retrain(files["small"], HashingEmbedder(64), models_dir=models_dir, config=CONFIG)


def _models_with(outcome: RetrainOutcome, tmp_path: Path) -> Path:
    models_dir = tmp_path / "models"
    shutil.copytree(outcome.path, models_dir / outcome.path.name)
    return models_dir


def _ids(version: Path) -> set[str]:
    return {str(i) for i in NeighbourIndex.load(version / NEIGHBOURS).ids}


def test_the_first_model_is_promoted_with_nothing_to_compare(first: RetrainOutcome) -> None:
    assert first.promoted
    assert first.verdict is None
    assert first.record["champion"] is None
    assert "first model" in first.record["reason"]
    assert active_version(first.path.parent) == first.path.name
    assert not list(first.path.parent.glob(".retrain-*"))


def test_a_better_challenger_is_promoted_scored_on_tickets_neither_model_trained_on(
    first: RetrainOutcome, files: dict[str, Path], tmp_path: Path
) -> None:
    models_dir = _models_with(first, tmp_path)
    outcome = retrain(files["all"], HashingEmbedder(64), models_dir=models_dir, config=CONFIG)

    assert outcome.promoted
    assert outcome.record["champion"] == first.path.name
    assert active_version(models_dir) == outcome.path.name
    heads = outcome.record["heads"]
    assert all(head["passed"] for head in heads.values())
    category = heads["category"]
    assert category["challenger"]["macro_f1"] > category["champion"]["macro_f1"] + 0.1

    # The champion trained on some of the challenger's held-out tickets: they are left out.
    every_id = set(pd.read_csv(files["all"], dtype=str)["id"])
    held_out = every_id - _ids(outcome.path)
    seen = held_out & _ids(first.path)
    evaluation = outcome.record["evaluation"]
    assert evaluation["held_out"] == len(held_out)
    assert evaluation["seen_by_champion"] == len(seen) > 0
    assert evaluation["evaluated"] == len(held_out) - len(seen)


def test_a_champion_that_cannot_be_loaded_stops_the_retrain_unless_forced(
    first: RetrainOutcome, files: dict[str, Path], tmp_path: Path
) -> None:
    models_dir = _models_with(first, tmp_path)
    champion = models_dir / first.path.name
    with (champion / "heads" / "category.joblib").open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ArtifactError, match="checksum"):
        retrain(files["small"], HashingEmbedder(64), models_dir=models_dir, config=CONFIG)
    assert list_versions(models_dir) == [champion.name]  # nothing trained, nothing left
    assert not list(models_dir.glob(".retrain-*"))

    forced = retrain(
        files["small"],
        HashingEmbedder(64),
        models_dir=models_dir,
        config=CONFIG,
        gate=Gate(force=True, reason="heads corrupted on disk"),
    )
    assert forced.promoted
    assert forced.record["forced"] is True
    assert forced.record["reason"].startswith("heads corrupted on disk; forced despite")
    assert "could not be loaded" in forced.record["reason"]
    assert active_version(models_dir) == forced.path.name


def test_held_out_scores_are_the_served_models_answers(first: RetrainOutcome) -> None:
    # The record's challenger scores come from the saved artifact, and its held-out split is
    # the one training scored: with every ticket unseen, the two figures agree.
    evaluation = first.record["evaluation"]
    assert evaluation["evaluated"] == evaluation["held_out"]
    metrics = json.loads((first.path / "metrics.json").read_text())
    for head, scores in first.record["heads"].items():
        assert np.isclose(scores["challenger"]["macro_f1"], metrics["heads"][head]["macro_f1"])
