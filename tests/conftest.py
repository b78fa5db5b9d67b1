"""Shared fixtures. Fast tests use a deterministic hashing embedder instead of MiniLM."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from triage.api.app import create_app
from triage.artifacts import load_model
from triage.embeddings import HashingEmbedder
from triage.service import TriageService
from triage.settings import Settings
from triage.training.train import TrainConfig, TrainResult, train_from_file

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = ROOT / "data" / "tickets.csv"
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"

# Nothing in the test suite may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def shared_dataset(relative: str) -> Path:
    """A file under ../shared/datasets, or a skip saying why it is absent."""
    path = SHARED_DATASETS / relative
    if not path.exists():
        pytest.skip(f"{path} is absent (third-party datasets live in ../shared, not in the repo)")
    return path


@pytest.fixture(scope="session")
def sample_frame() -> pd.DataFrame:
    return pd.read_csv(SAMPLE_DATA, dtype=str, keep_default_na=False)


@pytest.fixture(scope="session")
def hashing_embedder() -> HashingEmbedder:
    return HashingEmbedder(dim=128)


@pytest.fixture(scope="session")
def trained(
    tmp_path_factory: pytest.TempPathFactory, hashing_embedder: HashingEmbedder
) -> TrainResult:
    """A model trained once on the sample data with the stand-in embedder, saved to disk."""
    models_dir = tmp_path_factory.mktemp("models")
    return train_from_file(
        SAMPLE_DATA, hashing_embedder, config=TrainConfig(), models_dir=models_dir
    )


@pytest.fixture(scope="session")
def artifact_dir(trained: TrainResult) -> Path:
    assert trained.path is not None
    return trained.path


@pytest.fixture(scope="session")
def service(artifact_dir: Path) -> TriageService:
    return TriageService(load_model(artifact_dir), max_text_chars=5_000)


@pytest.fixture
def settings(artifact_dir: Path) -> Settings:
    return Settings(models_dir=artifact_dir.parent, max_text_chars=5_000, max_request_bytes=50_000)


@pytest.fixture
def client(settings: Settings, service: TriageService) -> Iterator[TestClient]:
    with TestClient(create_app(settings, service=service)) as test_client:
        yield test_client
