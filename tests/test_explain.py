import numpy as np
import pytest

from triage.core.explain import explain_label
from triage.core.features import feature_frame
from triage.training.train import TrainResult

TEXT = "Printer on 3rd floor jams\nEvery job since this morning stops with a paper jam."


@pytest.mark.parametrize("head", ["category", "tier"])
def test_blocks_add_up_to_the_score_of_the_label(trained: TrainResult, head: str) -> None:
    model = trained.model
    frame = feature_frame([TEXT], model.embedder.encode([TEXT]))
    pipeline = model.heads[head]
    label = pipeline.predict(frame)[0]
    explanation = explain_label(pipeline, frame, label)
    scores = pipeline.named_steps["classifier"].decision_function(
        pipeline.named_steps["features"].transform(frame)
    )[0]
    index = list(pipeline.classes_).index(label)
    assert sum(explanation.blocks.values()) == pytest.approx(scores[index], abs=1e-3)
    assert set(explanation.blocks) == {"bias", "words", "chars", "embedding"}
    weights = [t.weight for t in explanation.terms]
    assert weights == sorted(weights, reverse=True)
    assert all(w > 0 for w in weights)


def test_the_words_behind_a_printer_ticket_are_printer_words(trained: TrainResult) -> None:
    prediction = trained.model.predict([TEXT], explain=True)[0]["category"]
    assert prediction.label == "printers"
    assert prediction.explanation is not None
    top = {t.term for t in prediction.explanation.terms[:4]}
    assert top & {"printer", "paper", "jam", "paper jam"}
    neighbours = prediction.explanation.neighbours
    assert len(neighbours) == 5
    assert [n.similarity for n in neighbours] == sorted(
        (n.similarity for n in neighbours), reverse=True
    )
    assert sum(n.labels["category"] == "printers" for n in neighbours) >= 3


def test_binary_heads_explain_both_labels(trained: TrainResult) -> None:
    from triage.core.classifier import build_head

    texts = [f"vpn tunnel drops {i}" for i in range(12)] + [
        f"toner low on printer {i}" for i in range(12)
    ]
    labels = np.array(["network"] * 12 + ["printers"] * 12, dtype=object)
    embedder = trained.model.embedder
    frame = feature_frame(texts, embedder.encode(texts))
    head = build_head().fit(frame, labels)
    one = frame.iloc[[0]]
    score = head.named_steps["classifier"].decision_function(
        head.named_steps["features"].transform(one)
    )[0]
    for index, label in enumerate(head.classes_):
        assert sum(explain_label(head, one, label).blocks.values()) == pytest.approx(
            score[index], abs=1e-3
        )
