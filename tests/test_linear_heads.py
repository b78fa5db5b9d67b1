"""The NumPy heads answer as the scikit-learn pipelines do, without importing scikit-learn."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from triage.core.artifacts import load_model, read_manifest
from triage.core.classifier import build_baseline, build_head
from triage.core.embeddings import HashingEmbedder
from triage.core.features import feature_frame
from triage.core.head_compiler import compile_heads, largest_difference
from triage.core.linear_heads import EMBEDDING, LinearHead, LinearHeads, TextBlock
from triage.training.train import TrainResult

ROOT = Path(__file__).resolve().parents[1]

# Texts an analyzer can get wrong: case, accents, digits, punctuation, runs of white space,
# one-letter words, words shorter than the n-gram, non-Latin scripts, empty and unknown text.
AWKWARD = [
    "VPN  putus-putus sejak pagi,\tTOLONG dicek!!",
    "Printer 3rd-floor: paper jam (again) — café Ünïcödé",
    "a b c d",
    "   ",
    "",
    "x",
    "zzqqxx wwvvyy",
    "Outlook\n\nkeeps asking for my password\r\nafter the update",
    "東京 サーバー 停止 ошибка сервера",
    "email email email email email",
    "Tidak bisa login ke SAP, akun terkunci setelah reset password kemarin",
]


def _texts(frame: pd.DataFrame, n: int = 150) -> list[str]:
    return (frame["subject"] + " " + frame["body"]).tolist()[:n] + AWKWARD


@pytest.mark.parametrize(
    "vectorizer",
    [
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(ngram_range=(2, 3), lowercase=False),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), norm="l1"),
    ],
    ids=["words-1-2", "words-2-3-cased", "chars-2-5", "chars-1-3-l1"],
)
def test_each_text_block_reproduces_the_vectorizer(
    vectorizer: TfidfVectorizer, sample_frame: pd.DataFrame
) -> None:
    from triage.core.head_compiler import _text_block

    texts = _texts(sample_frame)
    vectorizer.fit(texts[:100])
    block = _text_block(vectorizer)
    assert block is not None
    analyzer = vectorizer.build_analyzer()
    expected = vectorizer.transform(texts).toarray()
    for text, row in zip(texts, expected, strict=True):
        assert block.analyze(text) == analyzer(text), text
        indices, values = block.transform_one(text)
        dense = np.zeros(len(block.terms))
        dense[indices] = values
        np.testing.assert_allclose(dense, row, rtol=0, atol=1e-12, err_msg=text)


def test_the_trained_heads_are_compiled_and_agree_with_the_pipelines(
    trained: TrainResult, sample_frame: pd.DataFrame
) -> None:
    model = trained.model
    assert model.linear is not None
    check = trained.metrics["linear_heads"]
    assert check["compiled"]
    assert check["largest_probability_difference"] <= 1e-9
    texts = _texts(sample_frame, 300)
    embeddings = model.embedder.encode(texts)
    assert largest_difference(model.linear, model.heads, texts, embeddings) < 1e-12
    # Both heads were fitted on the same texts: their TF-IDF blocks are stored once.
    assert len(model.linear.text_blocks) == 2
    frame = feature_frame(texts, embeddings)
    compiled = model.linear.predict_proba(texts, embeddings)
    for name, head in model.heads.items():
        assert (compiled[name].argmax(axis=1) == head.predict_proba(frame).argmax(axis=1)).all()


def test_a_ticket_scores_the_same_alone_and_in_a_batch(
    trained: TrainResult, sample_frame: pd.DataFrame
) -> None:
    linear = trained.model.linear
    assert linear is not None
    texts = _texts(sample_frame, 40)
    embeddings = trained.model.embedder.encode(texts)
    batch = linear.predict_proba(texts, embeddings)
    for i in (0, 17, len(texts) - 1):
        alone = linear.predict_proba(texts[i : i + 1], embeddings[i : i + 1])
        for name in batch:
            np.testing.assert_array_equal(alone[name][0], batch[name][i])


def test_a_binary_head_and_a_weighted_embedding_compile(
    sample_frame: pd.DataFrame, hashing_embedder: HashingEmbedder
) -> None:
    texts = _texts(sample_frame, 200)[:200]
    y = np.where(sample_frame["tier"].to_numpy()[:200] == "L1", "L1", "escalated")
    embeddings = hashing_embedder.encode(texts)
    head = build_head(embedding_weight=2.5, calibration_folds=2).fit(
        feature_frame(texts, embeddings), y
    )
    linear = compile_heads({"tier": head})
    assert linear is not None
    assert linear.labels("tier") == ["L1", "escalated"]
    probe = _texts(sample_frame.iloc[200:], 100)
    probe_embeddings = hashing_embedder.encode(probe)
    assert largest_difference(linear, {"tier": head}, probe, probe_embeddings) < 1e-12


def test_a_head_of_another_layout_is_not_compiled(
    sample_frame: pd.DataFrame, hashing_embedder: HashingEmbedder
) -> None:
    texts = _texts(sample_frame, 120)
    frame = feature_frame(texts, hashing_embedder.encode(texts))
    labels = (["a", "b", "c"] * 60)[: len(texts)]
    assert compile_heads({"category": build_baseline().fit(frame, labels)}) is None


def test_the_saved_artifact_carries_them_and_loads_them_without_the_pickles(
    artifact_dir: Path, trained: TrainResult, sample_frame: pd.DataFrame
) -> None:
    manifest = read_manifest(artifact_dir)
    assert manifest["linear_heads"]["format"] == 1
    assert {"heads/linear.npz", "heads/linear.json"} <= set(manifest["files"])
    loaded = load_model(artifact_dir)
    assert isinstance(loaded.linear, LinearHeads)
    texts = _texts(sample_frame, 50)
    through_pipelines = load_model(artifact_dir, compiled_heads=False)
    assert through_pipelines.linear is None
    a, b = loaded.predict_proba(texts), through_pipelines.predict_proba(texts)
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=0, atol=1e-12)
    # An explanation reads the pickled pipeline on demand.
    [one] = loaded.predict(texts[:1], explain=True)
    assert one["category"].explanation is not None


SERVE_THEN_IMPORT = textwrap.dedent(
    """
    import sys
    import numpy as np
    from triage.similar.vector_index import VectorIndex

    index = VectorIndex(dim=8, hnsw_threshold=4)
    index.upsert(np.arange(10), np.random.default_rng(0).random((10, 8), dtype=np.float32))
    assert "usearch" in sys.modules
    import onnxruntime  # crashed the interpreter when USearch had been loaded first
    print("ok")
    """
)


def test_onnxruntime_can_be_imported_after_the_vector_index_grew_a_graph() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SERVE_THEN_IMPORT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


def _word_block(terms: list[str], idf: np.ndarray, *, sublinear_tf: bool) -> TextBlock:
    """A block of single words over ``terms``, l2-normalised."""
    return TextBlock(
        analyzer="word",
        ngram_range=(1, 1),
        token_pattern=r"(?u)\b\w\w+\b",
        lowercase=True,
        sublinear_tf=sublinear_tf,
        norm="l2",
        terms=terms,
        idf=idf,
    )


def test_heads_sharing_a_block_at_different_weights_score_as_each_alone() -> None:
    """Heads share each block's weighted features within a request; a head weighting a
    block (or the embedding) differently must still score as it does on its own."""
    rng = np.random.default_rng(3)
    terms = ["printer", "jam", "vpn", "password", "reset", "floor"]
    block = _word_block(terms, rng.uniform(1.0, 3.0, size=len(terms)), sublinear_tf=True)

    def head(text_weight: float, embedding_weight: float) -> LinearHead:
        return LinearHead(
            classes=["x", "y", "z"],
            temperature=0.7,
            intercept=rng.normal(size=3),
            blocks=[
                (0, text_weight, rng.normal(size=(len(terms), 3))),
                (EMBEDDING, embedding_weight, rng.normal(size=(4, 3))),
            ],
        )

    heads = {"one": head(1.0, 1.0), "two": head(0.35, 2.5), "three": head(1.0, 1.0)}
    texts = ["Printer jam on floor 3, printer again", "VPN password reset", "nothing known"]
    embeddings = rng.normal(size=(3, 4)).astype(np.float32)
    together = LinearHeads([block], heads).predict_proba(texts, embeddings)
    for name, alone_head in heads.items():
        alone = LinearHeads([block], {name: alone_head}).predict_proba(texts, embeddings)
        # The heads' coefficients are multiplied side by side, which may round the last bits
        # differently from one head's alone; a weight applied to the wrong head would not.
        np.testing.assert_allclose(together[name], alone[name], rtol=0, atol=1e-12)


def test_the_heads_keep_each_coefficient_once_with_the_same_values(tmp_path) -> None:
    """The heads' coefficients are views of the stacked ones the scoring reads (not a second
    copy of each), hold the values given, and are saved as they were."""
    rng = np.random.default_rng(5)
    terms = ["printer", "jam", "vpn"]
    block = _word_block(terms, np.ones(len(terms)), sublinear_tf=False)
    given = {
        name: LinearHead(
            classes=[f"c{i}" for i in range(classes)],
            temperature=1.0,
            intercept=rng.normal(size=classes),
            blocks=[(0, 1.0, rng.normal(size=(len(terms), classes)))],
        )
        for name, classes in (("one", 3), ("two", 2))
    }
    heads = LinearHeads([block], given)
    ((_, _, stacked, _),) = heads._stacked
    for name, head in heads.heads.items():
        ((_, _, coef),) = head.blocks
        assert np.shares_memory(coef, stacked)
        np.testing.assert_array_equal(coef, given[name].blocks[0][2])
    heads.save(tmp_path)
    again = LinearHeads.load(tmp_path)
    for name, head in again.heads.items():
        np.testing.assert_array_equal(head.blocks[0][2], given[name].blocks[0][2])
