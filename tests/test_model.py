import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from triage.features import EMBEDDING_PREFIX, feature_frame
from triage.model import TriageModel, direct_features
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
