"""``triage retrain``: a worse challenger is refused (exit 3) and never served, --force records why."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sklearn.model_selection import train_test_split
from typer.testing import CliRunner

from triage.cli import EXIT_REFUSED, app
from triage.core.artifacts import list_versions, load_model, read_manifest
from triage.core.embeddings import HashingEmbedder
from triage.core.registry import ACTIVE, served_model_dir
from triage.settings import get_settings
from triage.store.database import Database
from triage.store.feedback import Feedback, FeedbackStore
from triage.training.train import TrainConfig, train_from_file

runner = CliRunner()
SWAP = {"printers": "hardware", "hardware": "printers"}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, small_sample: Path) -> dict[str, Path]:
    """The small sample (24 tickets a category) split once: a training file, and a held-out
    file no model trains on."""
    directory = tmp_path_factory.mktemp("data")
    frame = pd.read_csv(small_sample, dtype=str, keep_default_na=False)
    train, test = train_test_split(frame, test_size=0.2, stratify=frame["category"], random_state=1)
    train.to_csv(directory / "train.csv", index=False)
    test.to_csv(directory / "test.csv", index=False)
    return {"train": directory / "train.csv", "test": directory / "test.csv"}


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory, files: dict[str, Path]) -> Path:
    result = train_from_file(
        files["train"],
        HashingEmbedder(64),
        config=TrainConfig(tune=False),
        test_path=files["test"],
        models_dir=tmp_path_factory.mktemp("champion"),
    )
    assert result.path is not None
    return result.path


@pytest.fixture
def models_dir(
    champion: Path, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The champion alone (no ACTIVE pointer: it is served as the newest), and a database
    whose feedback swaps printers and hardware on every training ticket of either."""
    models = tmp_path / "models"
    shutil.copytree(champion, models / champion.name)
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    train = pd.read_csv(files["train"], dtype=str)
    wrong = [
        Feedback(ticket, "category", label, SWAP[label], champion.name, "auto", 0.9)
        for ticket, label in zip(train["id"], train["category"], strict=True)
        if label in SWAP
    ]
    with Database(url) as database:
        database.upgrade()
        FeedbackStore(database).add([*wrong, Feedback("TCK-9999", "tier", "L1", "L2", "v0")])
    monkeypatch.setenv("TRIAGE_EMBEDDER", "hashing:64")
    monkeypatch.setenv("TRIAGE_MODELS_DIR", str(models))
    monkeypatch.setenv("TRIAGE_DATABASE_URL", url)
    get_settings.cache_clear()
    yield models
    get_settings.cache_clear()


def _retrain(files: dict[str, Path], *extra: str) -> tuple[int, dict[str, object]]:
    args = ["retrain", "--data", str(files["train"]), "--with-feedback"]
    result = runner.invoke(app, [*args, "--test", str(files["test"]), "--no-tune", "-q", *extra])
    assert result.exit_code in {0, EXIT_REFUSED}, result.output
    return result.exit_code, json.loads(result.stdout)


def test_a_worse_challenger_is_refused_and_the_champion_stays_served(
    models_dir: Path, champion: Path, files: dict[str, Path]
) -> None:
    assert not (models_dir / ACTIVE).exists()
    code, record = _retrain(files, "--tolerance", "0.01", "--json")

    assert code == EXIT_REFUSED
    assert record["decision"] == "refused"
    assert record["champion"] == champion.name
    assert record["tolerance"] == 0.01
    assert record["heads"]["category"]["passed"] is False
    assert "category: macro-F1" in record["reason"]
    feedback = record["feedback"]
    swapped = sum(1 for label in pd.read_csv(files["train"])["category"] if label in SWAP)
    assert (feedback["applied"], feedback["overridden"]) == (swapped, swapped)
    assert feedback["skipped_tickets"] == ["TCK-9999"]
    assert record["evaluation"]["evaluated"] == len(pd.read_csv(files["test"]))

    # The refused challenger is kept, and is the newest version: the pointer written before
    # it arrived keeps the champion served.
    challenger = record["challenger"]
    assert list_versions(models_dir) == [champion.name, challenger]
    assert (models_dir / ACTIVE).read_text().strip() == champion.name
    assert served_model_dir(models_dir) == models_dir / champion.name
    assert read_manifest(models_dir / challenger)["retrain"]["decision"] == "refused"
    assert not list(models_dir.glob(".retrain-*"))


def test_force_promotes_a_worse_challenger_and_the_manifest_says_why(
    models_dir: Path, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_RETRAIN_TOLERANCE", "0.02")
    get_settings.cache_clear()
    code, record = _retrain(files, "--force", "--reason", "relabelled after the audit", "--json")

    assert code == 0
    challenger = models_dir / str(record["challenger"])
    assert served_model_dir(models_dir) == challenger
    manifest = read_manifest(challenger)  # every checksum still verifies
    decision = manifest["retrain"]
    assert decision["decision"] == "promoted"
    assert decision["forced"] is True
    assert decision["tolerance"] == 0.02
    assert decision["reason"].startswith("relabelled after the audit; forced despite: category")
    assert json.loads((challenger / "metrics.json").read_text())["retrain"] == decision
    assert load_model(challenger).version == challenger.name


def test_a_reason_without_force_is_refused(models_dir: Path, files: dict[str, Path]) -> None:
    result = runner.invoke(app, ["retrain", "--data", str(files["train"]), "--reason", "because"])
    assert result.exit_code == 2
    assert "--force" in result.output
    assert len(list_versions(models_dir)) == 1
