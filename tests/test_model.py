from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from triage.core.artifacts import load_model, read_manifest, save_model
from triage.core.features import EMBEDDING_PREFIX, feature_frame
from triage.core.model import LazyMapping, TriageModel, direct_features
from triage.core.refinement import FILE as REFINEMENT_FILE
from triage.core.refinement import Refinement, TopLabelCalibration, neighbour_vote
from triage.training.train import TrainResult


def test_the_direct_feature_path_gives_exactly_the_pipelines_probabilities(
    trained: TrainResult, sample_frame: pd.DataFrame
) -> None:
    model = trained.model
    texts = (sample_frame["subject"] + " " + sample_frame["body"]).tolist()[:200]
    embeddings = model.embedder.encode(texts)
    frame = feature_frame(texts, embeddings)
    for name, head in model.heads.items():
        direct = direct_features(head)
        assert direct is not None, name
        np.testing.assert_array_equal(
            head.steps[-1][1].predict_proba(direct(texts, embeddings)), head.predict_proba(frame)
        )
    through_pipelines = TriageModel(model.embedder, model.heads)  # no NumPy heads: direct path
    batch = through_pipelines.predict_proba(texts)
    one = through_pipelines.predict(texts[:1])[0]
    for name, head in model.heads.items():
        np.testing.assert_array_equal(batch[name], head.predict_proba(frame))
        assert one[name].confidence == float(head.predict_proba(frame.iloc[:1]).max())


def test_a_head_of_another_layout_goes_through_its_pipeline(trained: TrainResult) -> None:
    texts = ["VPN drops every hour", "printer jam", "password reset", "new laptop"] * 3
    embeddings = trained.model.embedder.encode(texts)
    frame = feature_frame(texts, embeddings)
    scaled = Pipeline(
        [
            (
                "features",
                ColumnTransformer(
                    [("scaled", StandardScaler(), make_column_selector(f"^{EMBEDDING_PREFIX}"))]
                ),
            ),
            ("classifier", LogisticRegression()),
        ]
    ).fit(frame, ["network", "printers", "accounts", "hardware"] * 3)
    assert direct_features(scaled) is None
    model = TriageModel(trained.model.embedder, {"category": scaled})
    np.testing.assert_array_equal(
        model.predict_proba(texts)["category"], scaled.predict_proba(frame)
    )
    assert model.predict(texts[:2])[1]["category"].label == "printers"


def _refined(model: TriageModel, refinements: dict[str, Refinement]) -> TriageModel:
    return TriageModel(
        model.embedder,
        model.heads,
        curves=model.curves,
        neighbours=model.neighbours,
        linear=model.linear,
        refinements=refinements,
    )


TICKETS = ["VPN drops every hour", "printer jam on floor 3", "reset my password please"]


def test_a_head_blends_the_neighbours_vote_and_calibrates_as_its_refinement_says(
    trained: TrainResult,
) -> None:
    model = trained.model
    assert model.neighbours is not None
    assert model.linear is not None
    knots = TopLabelCalibration((0.2, 0.9), (0.1, 0.8))
    refined = _refined(
        model, {"category": Refinement(vote_weight=0.4, vote_k=5, calibration=knots)}
    )
    embeddings = model.embedder.encode(TICKETS)
    raw = model.linear.predict_proba(TICKETS, embeddings)
    got = refined.proba_from_embeddings(TICKETS, embeddings)
    labels = model.labels("category")
    pool = model.neighbours.matrix
    codes = np.searchsorted(labels, model.neighbours.labels["category"].astype(str))
    vote = neighbour_vote(embeddings, pool, codes, len(labels), k=5)
    np.testing.assert_allclose(got["category"], knots.apply(0.6 * raw["category"] + 0.4 * vote))
    np.testing.assert_array_equal(got["tier"], raw["tier"])  # no refinement: the head alone
    one = refined.predict(TICKETS[:1])[0]["category"]
    assert one.confidence == float(got["category"][0].max())


def test_a_vote_without_neighbours_is_refused(trained: TrainResult) -> None:
    with pytest.raises(ValueError, match="no neighbours"):
        TriageModel(
            trained.model.embedder,
            trained.model.heads,
            refinements={"category": Refinement(vote_weight=0.2)},
        )
    with pytest.raises(ValueError, match="heads the model lacks"):
        TriageModel(
            trained.model.embedder, trained.model.heads, refinements={"priority": Refinement()}
        )


def test_an_artifact_without_refinements_answers_with_the_heads_alone(
    trained: TrainResult, tmp_path: Path
) -> None:
    bare = _refined(trained.model, {})
    path = save_model(
        bare, tmp_path, version="bare", manifest_fields={}, metrics={}, model_card="-"
    )
    manifest = read_manifest(path)
    assert "refinement" not in manifest
    assert REFINEMENT_FILE not in manifest["files"]
    loaded = load_model(path)
    assert loaded.refinements == {}
    embeddings = loaded.embedder.encode(TICKETS)
    expected = trained.model.linear.predict_proba(TICKETS, embeddings)  # type: ignore[union-attr]
    for head, proba in loaded.proba_from_embeddings(TICKETS, embeddings).items():
        np.testing.assert_array_equal(proba, expected[head])


def test_the_trained_model_serves_the_refinement_it_chose(
    trained: TrainResult, artifact_dir: Path
) -> None:
    loaded = load_model(artifact_dir)
    assert set(loaded.refinements) == {"category", "tier"}
    for name, refinement in loaded.refinements.items():
        report = trained.metrics["heads"][name]["refinement"]
        assert refinement.vote_weight == report["vote_weight"]
        assert next(c["vote_weight"] for c in report["vote_candidates"]) == 0.0


def test_asking_whether_a_lazy_head_exists_does_not_load_it() -> None:
    loaded: list[str] = []

    def load(name: str) -> str:
        loaded.append(name)
        return f"pipeline {name}"

    heads = LazyMapping(["category", "tier"], load)
    assert "tier" in heads
    assert "priority" not in heads
    assert sorted(heads) == ["category", "tier"]
    assert loaded == []
    assert heads["tier"] == "pipeline tier"
    assert loaded == ["tier"]


def test_heads_voting_with_different_neighbours_share_one_search_and_answer_as_alone(
    trained: TrainResult,
) -> None:
    """One search of the neighbours serves every head's vote (and the gate): each head must
    still get the vote of its own k and sharpness, bit for bit as ``neighbour_vote`` alone."""
    model = trained.model
    assert model.neighbours is not None
    assert model.linear is not None
    own = {
        "category": Refinement(vote_weight=0.5, vote_k=5, vote_sharpness=0.05),
        "tier": Refinement(vote_weight=0.3, vote_k=2, vote_sharpness=0.2),
    }
    refined = _refined(model, own)
    embeddings = model.embedder.encode(TICKETS)
    raw = model.linear.predict_proba(TICKETS, embeddings)
    got = refined.proba_from_embeddings(TICKETS, embeddings)
    predicted = refined.predict(TICKETS, embeddings=embeddings)
    pool = model.neighbours.matrix
    for head, refinement in own.items():
        labels = model.labels(head)
        codes = model.neighbours.codes(head, labels)
        alone = neighbour_vote(
            embeddings,
            pool,
            codes,
            len(labels),
            k=refinement.vote_k,
            sharpness=refinement.vote_sharpness,
        )
        expected = refinement.apply(raw[head], alone)
        np.testing.assert_array_equal(got[head], expected)
        for row, answer in zip(expected, predicted, strict=True):
            assert answer[head].distribution == dict(zip(labels, row.tolist(), strict=True))


def test_the_model_answers_on_one_blas_thread_whatever_openblas_was_given(
    trained: TrainResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gate's products and the neighbour search run on one BLAS thread: OpenBLAS's other
    threads only spin-waited on these small products (CPU spent, no time gained)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    model = trained.model
    seen: list[int] = []
    auto_blocks = model.auto_blocks

    def spy(*args: object, **kwargs: object) -> object:
        seen.extend(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
        return auto_blocks(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(model, "auto_blocks", spy)
    with threadpool_limits(limits=2, user_api="blas"):
        model.predict(["the vpn drops every hour", "printer on floor 3 jams"])
        after = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    assert seen
    assert set(seen) == {1}
    assert set(after) == {2}  # the caller's setting is given back
