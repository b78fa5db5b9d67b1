"""What a data scientist hit training on real helpdesk exports (issue 27), on small data of
the same shape: tiny classes in both files, the held-out part never learnt from."""

from pathlib import Path

import pandas as pd
import pytest

from triage.core.artifacts import load_model
from triage.core.embeddings import HashingEmbedder
from triage.core.errors import DataValidationError
from triage.training.train import TrainConfig, train_from_file

TOPICS = {
    "network": "vpn tunnel drops remote office",
    "printers": "toner low printer jammed tray",
    "email": "outlook mailbox full cannot send",
}


def _rows(n: int, extra: dict[str, int] | None = None) -> list[dict[str, str]]:
    rows = [
        {
            "id": f"{label}-{i}",
            "subject": f"{words} {i}",
            "body": words,
            "category": label,
            "tier": "L1" if i % 2 else "L2",
        }
        for label, words in TOPICS.items()
        for i in range(n)
    ]
    for label, count in (extra or {}).items():
        rows += [
            {
                "id": f"{label}-{i}",
                "subject": f"rare {label} {i}",
                "body": "odd",
                "category": label,
                "tier": "L1",
            }
            for i in range(count)
        ]
    return rows


def test_drop_rare_drops_the_rare_classes_from_the_test_file_too(tmp_path: Path) -> None:
    data, test = tmp_path / "all.csv", tmp_path / "test.csv"
    pd.DataFrame(_rows(12, {"9": 1})).to_csv(data, index=False)
    # The test file holds the rare class 9 (two rows) and a label the data never had.
    pd.DataFrame(_rows(3, {"9": 2, "storage": 1})).to_csv(test, index=False)

    with pytest.raises(DataValidationError, match=r"--drop-rare .*--test-data"):
        train_from_file(data, HashingEmbedder(32), test_path=test)

    said: list[str] = []
    result = train_from_file(
        data,
        HashingEmbedder(32),
        config=TrainConfig(drop_rare=True),
        test_path=test,
        say=said.append,
    )
    split = result.metrics["split"]
    assert split["n_test"] == 9
    assert split["test_rows_unseen"] == 3
    assert result.metrics["heads"]["category"]["n"] == 9
    assert any("dropped 1 row(s) of 1 rare category class(es): 9" in line for line in said)
    assert any(
        "left 3 of 12 test row(s) out of the evaluation" in line and "9 (2), storage (1)" in line
        for line in said
    )


def test_an_unseen_test_label_without_drop_rare_names_it_and_the_way_out(tmp_path: Path) -> None:
    data, test = tmp_path / "all.csv", tmp_path / "test.csv"
    pd.DataFrame(_rows(12)).to_csv(data, index=False)
    pd.DataFrame(_rows(2, {"storage": 2})).to_csv(test, index=False)
    with pytest.raises(DataValidationError, match=r"never seen in training: storage \(2 test"):
        train_from_file(data, HashingEmbedder(32), test_path=test)


def test_the_served_heads_learn_from_the_held_out_tickets_too(tmp_path: Path) -> None:
    data = tmp_path / "all.csv"
    pd.DataFrame(_rows(15)).to_csv(data, index=False)
    refit = train_from_file(data, HashingEmbedder(32), models_dir=tmp_path / "refit")
    held = train_from_file(
        data, HashingEmbedder(32), config=TrainConfig(refit=False), models_dir=tmp_path / "held"
    )
    assert refit.path is not None
    assert held.path is not None
    # The same held-out tickets, scored by heads fitted without them: the same estimate.
    for head in ("category", "tier"):
        assert refit.metrics["heads"][head]["n"] == held.metrics["heads"][head]["n"] == 9
        assert refit.metrics["heads"][head]["accuracy"] == held.metrics["heads"][head]["accuracy"]
    assert refit.metrics["split"]["refit"] is True
    assert "refit" not in held.metrics["split"]
    # What is served: every ticket in the refit model's neighbour pool, only 36 in the other.
    assert len(load_model(refit.path).neighbours) == 45
    assert len(load_model(held.path).neighbours) == 36
    card = (refit.path / "MODEL_CARD.md").read_text()
    assert "then fitted on all 45 tickets, the held-out ones included" in card
    assert "fitted on the training part only" in (held.path / "MODEL_CARD.md").read_text()


def test_finetune_with_the_default_body_tunes_minilm_and_says_what_that_costs(
    tmp_path: Path,
) -> None:
    from triage.core.embeddings import DEFAULT_EMBEDDER
    from triage.training.finetune import finetunable_body

    body, note = finetunable_body(DEFAULT_EMBEDDER)
    assert body == "minilm"
    assert note is not None
    assert f"the {DEFAULT_EMBEDDER!r} body cannot be fine-tuned" in note
    assert "trained on English" in note
    assert finetunable_body("minilm") == ("minilm", None)
    assert finetunable_body(str(tmp_path)) == (str(tmp_path), None)  # a local model directory


def test_an_int8_body_that_collapses_a_class_is_refused_although_accuracy_holds() -> None:
    from triage.training.model_card import render_model_card
    from triage.training.publish import body_comparison, int8_loss

    # As on a real export: accuracy unchanged, but the small class 'c' is lost.
    truth = ["a"] * 40 + ["b"] * 40 + ["c"] * 6 + ["a"] * 6
    trained = ["a"] * 40 + ["b"] * 40 + ["c"] * 6 + ["b"] * 6
    served = ["a"] * 40 + ["b"] * 40 + ["a"] * 12
    comparison = body_comparison(truth, served, trained, ["a", "b", "c"])
    assert comparison["accuracy_delta_points"] == 0.0
    assert comparison["per_class_f1"]["c"] == {"onnx": 0.0, "torch": 1.0, "n": 6}
    check = {"precision": "int8", "on": "held-out tickets", "heads": {"category": comparison}}
    loss = int8_loss(check)
    assert loss is not None
    assert "macro-F1" in loss
    # A body that only reshuffles a few answers ships.
    same = body_comparison(truth, trained, trained, ["a", "b", "c"])
    assert int8_loss({"heads": {"category": same}}) is None

    served_check = {**check, "precision": "fp32", "int8_refused": {"why": loss}}
    metrics = {
        "split": {
            "method": "stratified",
            "stratify_on": "category",
            "seed": 0,
            "n_train": 90,
            "n_test": 22,
        },
        "heads": {},
        "onnx_embedder": served_check,
    }
    card = render_model_card(
        version="v",
        embedder={"name": "tuned"},
        text_columns=["subject"],
        label_columns={"category": "category"},
        training_data={"file": "x.csv", "sha256": "0" * 64, "rows": 112, "rows_used": 112},
        metrics=metrics,
    )
    assert "### Served through the fp32 ONNX body" in card
    assert f"The int8 export was refused: it {loss}." in card


def test_a_refit_never_tunes_the_body_on_the_held_out_tickets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triage.training import train as train_module
    from triage.training.finetune import FinetuneConfig

    seen: list[str] = []

    def tune(base: object, texts: list[str], labels: list[str], *_: object, **__: object) -> None:
        seen.extend(texts)
        raise RuntimeError("stop after seeing what the body would be tuned on")

    monkeypatch.setattr(train_module, "finetune_body", tune)
    data = tmp_path / "all.csv"
    pd.DataFrame(_rows(15)).to_csv(data, index=False)
    with pytest.raises(RuntimeError, match="stop after"):
        train_from_file(data, HashingEmbedder(32), config=TrainConfig(finetune=FinetuneConfig()))
    assert len(seen) == 36  # the 80 % training part of 45 tickets, not all of them


def test_too_few_tickets_for_a_held_out_split_cannot_tune_the_body(tmp_path: Path) -> None:
    from triage.training.finetune import FinetuneConfig

    data = tmp_path / "few.csv"
    pd.DataFrame(_rows(3)).to_csv(data, index=False)
    with pytest.raises(DataValidationError, match="--finetune needs a held-out split"):
        train_from_file(data, HashingEmbedder(32), config=TrainConfig(finetune=FinetuneConfig()))


def test_an_optional_head_in_another_case_is_learnt_as_its_own_name(tmp_path: Path) -> None:
    from triage.cli.app import train_config
    from triage.training.split import split_rows

    rows = [{**row, "priority": "high" if i % 2 else "low"} for i, row in enumerate(_rows(12))]
    data = tmp_path / "export.csv"
    pd.DataFrame(rows).rename(columns={"category": "Category", "priority": "Priority"}).to_csv(
        data, index=False
    )
    split = split_rows(train_config(None, None), data, None)
    assert split.label_columns == {"category": "category", "tier": "tier", "priority": "priority"}
    assert "column 'Priority' read as 'priority'" in split.notes
    assert "column 'Category' read as 'category'" in split.notes
