"""The promises behind "auto": evidence-backed thresholds and the auto gate, end to end."""

from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from triage.api.app import create_app
from triage.core.decisions import HeadPolicy
from triage.core.embeddings import HashingEmbedder
from triage.service import Ticket, TriageService
from triage.settings import Settings
from triage.training.train import TrainConfig, TrainResult, train_from_file

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "tickets.csv"


def _always_auto(service: TriageService) -> TriageService:
    """The same model with every class automatic at any confidence: only the gate refuses."""
    policies = {
        head: HeadPolicy({label: 0.0 for label in service.model.labels(head)}, floor=0.0)
        for head in service.model.heads
    }
    return TriageService(service.model, policies=policies)


def test_a_ticket_of_filler_words_is_never_decided_automatically(
    service: TriageService,
) -> None:
    permissive = _always_auto(service)
    vague = permissive.classify(Ticket(subject="Minta tolong", body="Komputer saya agak aneh ya"))
    for result in vague.predictions.values():
        assert result.decision.value == "suggest"
        assert result.auto_blocked is not None
        assert result.auto_blocked.startswith("too little content")
    real = permissive.classify(
        Ticket(
            subject="Printer on the 4th floor jams",
            body="The HP LaserJet on floor 4 jams paper in tray 2 every morning since Monday; "
            "we cleaned the rollers and replaced the toner cartridge, still jamming.",
        )
    )
    assert all(r.decision.value == "auto" for r in real.predictions.values())


def test_the_api_says_why_a_ticket_was_not_decided_automatically(
    settings: Settings, service: TriageService
) -> None:
    with TestClient(create_app(settings, service=_always_auto(service))) as client:
        answer = client.post("/v1/classify", json={"subject": "tolong", "body": "please help asap"})
    assert answer.status_code == 200
    for head in answer.json()["predictions"].values():
        assert head["decision"] != "auto"
        assert "too little content" in head["auto_blocked"]


# A canteen order, in Indonesian: enough words the IT tickets also use, but about lunch.
CANTEEN = (
    "Menu kantin hari Jumat: nasi goreng, sate ayam, es teh manis; tolong pesan untuk dua "
    "belas orang di ruang rapat lantai tiga dan kirim tagihan ke bagian keuangan"
)


def test_a_ticket_far_from_its_predicted_labels_tickets_is_not_decided_automatically(
    settings: Settings, service: TriageService
) -> None:
    with TestClient(create_app(settings, service=_always_auto(service))) as client:
        answer = client.post("/v1/classify", json={"subject": "Pesan makan siang", "body": CANTEEN})
    assert answer.status_code == 200
    heads = answer.json()["predictions"].values()
    assert all(head["decision"] != "auto" for head in heads)
    reasons = [head["auto_blocked"] for head in heads]
    assert any(r and r.startswith("unlike the training tickets of") for r in reasons), reasons
    assert all("automatic decisions need at most" in r for r in reasons if "distance" in r)


def test_the_model_info_names_classes_that_never_decide_and_why(client: TestClient) -> None:
    info = client.get("/v1/model").json()
    assert info["auto_gate"]["min_informative_words"] >= 1
    assert set(info["auto_gate"]["max_distance"]) == set(info["heads"])
    assert all(limit > 0 for limit in info["auto_gate"]["max_distance"].values())
    assert info["auto_gate"]["vocabulary_words"] > 100
    for head in info["heads"].values():
        assert head["guaranteed"] is True
        assert head["target_precision"] == 0.95
        never = {label for label, t in head["thresholds"].items() if t is None}
        assert set(head["no_auto"]) == never
        assert all(reason for reason in head["no_auto"].values())


def test_a_tiny_training_file_warns_and_promises_nothing(tmp_path: Path) -> None:
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    small = frame.groupby("tier", group_keys=False).head(20)
    path = tmp_path / "small.csv"
    small.to_csv(path, index=False)
    said: list[str] = []
    result = train_from_file(
        path,
        HashingEmbedder(dim=64),
        config=TrainConfig(labels={"tier": "tier"}),
        say=said.append,
    )
    output = "\n".join(said)
    assert "WARNING head 'tier': no class can be decided automatically" in output
    assert "at least 59 correctly predicted" in output
    assert "precision n/a" in output
    assert "precision 0.000" not in output
    auto = result.metrics["heads"]["tier"]["operating_points"]["test"]["auto"]
    assert auto["share"] == 0
    assert auto["precision"] is None


def test_the_model_card_explains_the_bound_and_the_gate(trained: TrainResult) -> None:
    assert trained.path is not None
    card = (trained.path / "MODEL_CARD.md").read_text()
    assert "Clopper–Pearson" in card
    assert "Auto gate: at least" in card
