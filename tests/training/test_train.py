import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from triage.core.artifacts import load_model
from triage.core.embeddings import HashingEmbedder
from triage.core.errors import DataValidationError
from triage.core.refinement import centroid_vote, class_centroids
from triage.training.train import TrainConfig, TrainResult, train_from_file


def test_training_reports_every_head_against_its_baselines(trained: TrainResult) -> None:
    metrics = trained.metrics
    assert metrics["split"]["seed"] == 0
    assert metrics["split"]["stratify_on"] == "category"
    assert metrics["split"]["n_test"] == pytest.approx(
        0.2 * (metrics["split"]["n_train"] + metrics["split"]["n_test"]), abs=1
    )
    for head in ("category", "tier"):
        report = metrics["heads"][head]
        assert {
            "accuracy",
            "macro_f1",
            "per_class",
            "confusion_matrix",
            "calibration",
            "coverage",
            "slices",
        } <= set(report)
        assert report["baselines"]["tfidf_logreg"]["macro_f1"] > 0
        # The head must at least beat always answering the most common label.
        assert report["accuracy"] > report["baselines"]["majority"]["accuracy"] + 0.1
        assert set(report["slices"]["language"]) == {"en", "id"}
        decisions = report["operating_points"]["test"]
        assert sum(d["share"] for d in decisions.values()) == pytest.approx(1.0, abs=1e-3)
        assert set(report["operating_points"]["thresholds"]) == set(report["per_class"])
        assert report["tuning"]["chosen"] in [
            {"C": c["C"], "class_weight": c["class_weight"]} for c in report["tuning"]["candidates"]
        ]
        assert sum(sum(row) for row in report["confusion_matrix"]["matrix"]) == report["n"]


def test_the_artifact_carries_metrics_and_a_model_card(
    artifact_dir: Path, trained: TrainResult
) -> None:
    assert json.loads((artifact_dir / "metrics.json").read_text()) == json.loads(
        json.dumps(trained.metrics)
    )
    card = (artifact_dir / "MODEL_CARD.md").read_text()
    assert "| category |" in card
    assert "| tier |" in card
    assert "### tier by language" in card
    for head in ("category", "tier"):
        alone = trained.metrics["heads"][head]["refinement"]["head_alone"]
        assert f"- {head}: " in card
        assert f"macro-F1 {alone['macro_f1']:.3f}, ECE {alone['ece']:.3f}." in card


def test_training_is_reproducible_with_a_fixed_seed(tmp_path: Path, trained: TrainResult) -> None:
    again = train_from_file(
        Path(__file__).parents[2] / "data" / "tickets.csv", HashingEmbedder(128)
    )
    assert (
        again.metrics["heads"]["category"]["accuracy"]
        == trained.metrics["heads"]["category"]["accuracy"]
    )
    assert again.path is None  # nothing is written without a models directory


def test_custom_columns_and_heads(tmp_path: Path) -> None:
    rows = []
    for i in range(30):
        rows.append({"Document": f"vpn tunnel drops {i}", "Queue": "network", "Prio": "high"})
        rows.append({"Document": f"toner low on printer {i}", "Queue": "print", "Prio": "low"})
    path = tmp_path / "custom.jsonl"
    pd.DataFrame(rows).to_json(path, orient="records", lines=True)
    config = TrainConfig(text_columns=("Document",), labels={"queue": "Queue", "priority": "Prio"})
    result = train_from_file(path, HashingEmbedder(32), config=config, models_dir=tmp_path / "m")
    assert result.path is not None
    model = load_model(result.path)
    assert set(model.heads) == {"queue", "priority"}
    assert model.manifest["text_columns"] == ["Document"]
    assert model.predict(["toner is low"])[0]["queue"].label == "print"


def test_bad_training_data_fails_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame({"subject": ["a", "b"], "body": ["x", "y"], "category": ["p", "p"]}).to_csv(
        path, index=False
    )
    with pytest.raises(DataValidationError, match="missing column\\(s\\) 'tier'"):
        train_from_file(path, HashingEmbedder(32), models_dir=tmp_path / "models")
    assert not (tmp_path / "models").exists()


def test_a_separate_test_file_is_used_as_the_held_out_set(tmp_path: Path) -> None:
    rows = [
        {"subject": f"vpn tunnel drops {i}", "body": "remote", "category": "network", "tier": "L1"}
        for i in range(20)
    ] + [
        {"subject": f"toner low {i}", "body": "printer", "category": "printers", "tier": "L2"}
        for i in range(20)
    ]
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    pd.DataFrame(rows).to_csv(train, index=False)
    pd.DataFrame(rows[:3] + rows[-2:]).to_csv(test, index=False)
    result = train_from_file(train, HashingEmbedder(32), test_path=test, models_dir=tmp_path / "m")
    assert result.metrics["split"]["method"] == "test file"
    assert result.metrics["split"]["n_train"] == 40
    assert result.metrics["heads"]["category"]["n"] == 5
    assert result.path is not None
    assert "the separate file `test.csv`" in (result.path / "MODEL_CARD.md").read_text()

    pd.DataFrame([{**rows[0], "category": "storage"}]).to_csv(test, index=False)
    with pytest.raises(DataValidationError, match="never seen in training: storage"):
        train_from_file(train, HashingEmbedder(32), test_path=test)


def test_hierarchical_labels_get_parent_operating_points(tmp_path: Path) -> None:
    rows = []
    for i in range(30):
        rows.append(
            {
                "subject": f"laptop screen broken {i}",
                "body": "x",
                "category": "hw/laptop",
                "tier": "L3",
            }
        )
        rows.append(
            {
                "subject": f"printer paper jam {i}",
                "body": "x",
                "category": "hw/printer",
                "tier": "L1",
            }
        )
        rows.append(
            {"subject": f"vpn tunnel drops {i}", "body": "x", "category": "net/vpn", "tier": "L2"}
        )
    path = tmp_path / "tree.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    result = train_from_file(path, HashingEmbedder(32), models_dir=tmp_path / "m")
    assert result.path is not None
    curves = load_model(result.path).curves["category"]
    assert {"hw", "net", "hw/laptop", "hw/printer", "net/vpn"} == set(curves)
    assert curves["hw"].support == 60  # all 60 hardware rows: served heads are refit on all


def test_untuned_or_fixed_settings_fit_one_classifier(tmp_path: Path) -> None:
    data = Path(__file__).parents[2] / "data" / "tickets.csv"
    untuned = train_from_file(data, HashingEmbedder(32), config=TrainConfig(tune=False))
    fixed = train_from_file(
        data,
        HashingEmbedder(32),
        config=TrainConfig(head_params={"C": 1.0, "embedding_weight": 2.0}),
    )
    for result, C in ((untuned, 0.3), (fixed, 1.0)):
        candidates = result.metrics["heads"]["tier"]["tuning"]["candidates"]
        assert len(candidates) == 1
        assert candidates[0]["C"] == C
        assert result.model.heads["tier"].named_steps["classifier"].C == C
    weights = fixed.model.heads["tier"].named_steps["features"].transformer_weights
    assert weights["embedding"] == 2.0


def test_a_new_helpdesk_with_three_tickets_a_category_gets_centroid_suggestions(
    tmp_path: Path, sample_frame: pd.DataFrame, hashing_embedder: HashingEmbedder
) -> None:
    shuffled = sample_frame.sample(frac=1.0, random_state=0)
    few = shuffled[shuffled.groupby("category").cumcount() < 4]  # 3 to train, 1 held out
    data = tmp_path / "few.csv"
    few.to_csv(data, index=False)
    result = train_from_file(
        data,
        hashing_embedder,
        config=TrainConfig(labels={"category": "category"}, test_size=0.25),
        models_dir=tmp_path / "models",
    )
    report = result.metrics["heads"]["category"]
    assert report["refinement"]["mode"] == "cold start"
    assert report["refinement"]["vote_kind"] == "centroids"
    # Too few tickets to trust a threshold: everything is a suggestion or a review.
    assert report["operating_points"]["test"]["auto"]["share"] == 0.0
    assert set(report["operating_points"]["excluded"]) == set(report["per_class"])
    assert result.path is not None
    model = load_model(result.path)
    texts = (few["subject"] + "\n" + few["body"]).tolist()[:5]
    proba = model.predict_proba(texts)["category"]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    embeddings = model.embedder.encode(texts)
    assert model.neighbours is not None
    labels = model.labels("category")
    centroids = class_centroids(
        model.neighbours.matrix, model.neighbours.codes("category", labels), len(labels)
    )
    # The answer is the centroid vote itself: the trained head does not take part.
    np.testing.assert_allclose(proba, centroid_vote(embeddings, centroids))


def test_the_cold_start_ends_when_the_data_allows(trained: TrainResult) -> None:
    for head in ("category", "tier"):
        assert trained.metrics["heads"][head]["refinement"]["mode"] == "trained"
