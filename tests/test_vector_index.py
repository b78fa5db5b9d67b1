"""VectorIndex: exact below the threshold, HNSW above it, removal, persistence, recall."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from triage.similar.vector_index import VectorIndex

DIM = 32


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, *, seed: int = 0, centres: int = 20, noise: float = 0.35) -> np.ndarray:
    """Unit vectors drawn around a few random centres, like embeddings of similar tickets."""
    rng = np.random.default_rng(seed)
    base = unit(rng.normal(size=(centres, DIM)))
    picks = rng.integers(0, centres, size=n)
    return unit(base[picks] + noise * rng.normal(size=(n, DIM)) / np.sqrt(DIM))


def exact_top(corpus: np.ndarray, keys: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    scores = unit(queries) @ corpus.T
    return keys[np.argsort(-scores, axis=1, kind="stable")[:, :k]]


def test_exact_mode_matches_brute_force_and_sorts_by_score() -> None:
    vectors = clustered(300)
    keys = np.arange(1000, 1300, dtype=np.int64)
    index = VectorIndex(DIM, hnsw_threshold=10_000)
    index.upsert(keys, vectors)
    assert index.mode == "exact"
    assert len(index) == 300
    queries = clustered(7, seed=1)
    found, scores = index.search(queries, 10)
    assert found.shape == scores.shape == (7, 10)
    assert found.dtype == np.int64
    np.testing.assert_array_equal(found, exact_top(vectors, keys, queries, 10))
    assert np.all(np.diff(scores, axis=1) <= 0)
    np.testing.assert_allclose(scores[:, 0], np.max(unit(queries) @ vectors.T, axis=1), atol=1e-5)


def test_scores_are_cosine_whatever_the_input_norm() -> None:
    index = VectorIndex(2, hnsw_threshold=100)
    index.upsert([1, 2], [[3.0, 0.0], [1.0, 1.0]])
    found, scores = index.search([[10.0, 0.0]], 2)
    assert found.tolist() == [[1, 2]]
    np.testing.assert_allclose(scores, [[1.0, np.sqrt(0.5)]], atol=1e-6)


def test_single_query_and_k_larger_than_size() -> None:
    index = VectorIndex(DIM, hnsw_threshold=100)
    index.upsert([5, 6, 7], clustered(3))
    found, scores = index.search(clustered(1, seed=3)[0], 10)
    assert found.shape == scores.shape == (1, 3)
    assert sorted(found[0].tolist()) == [5, 6, 7]


def test_empty_index_returns_empty_rows() -> None:
    index = VectorIndex(DIM)
    found, scores = index.search(clustered(2), 5)
    assert found.shape == scores.shape == (2, 0)
    assert len(index) == 0


def test_upsert_replaces_and_last_duplicate_wins() -> None:
    index = VectorIndex(2, hnsw_threshold=100)
    index.upsert([1, 2], [[1.0, 0.0], [0.0, 1.0]])
    index.upsert([1, 1], [[0.0, 1.0], [-1.0, 0.0]])  # key 1 now points left
    assert len(index) == 2
    found, scores = index.search([[-1.0, 0.0]], 1)
    assert found.tolist() == [[1]]
    assert scores[0, 0] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("keys", "vectors", "error"),
    [
        ([1, 2], np.ones((3, DIM)), ValueError),
        ([-1], np.ones((1, DIM)), ValueError),
        ([1.5], np.ones((1, DIM)), TypeError),
        ([1], np.ones((1, DIM + 1)), ValueError),
        ([1], np.zeros((1, DIM)), ValueError),
        ([1], np.full((1, DIM), np.nan), ValueError),
    ],
)
def test_bad_input_is_rejected(keys: list[float], vectors: np.ndarray, error: type) -> None:
    with pytest.raises(error):
        VectorIndex(DIM).upsert(keys, vectors)


def test_switches_to_hnsw_above_threshold_and_back_below_half() -> None:
    vectors = clustered(400)
    keys = np.arange(400, dtype=np.int64)
    index = VectorIndex(DIM, hnsw_threshold=100)
    index.upsert(keys[:80], vectors[:80])
    assert index.mode == "exact"
    index.upsert(keys[80:], vectors[80:])
    assert index.mode == "hnsw"
    assert len(index) == 400
    assert 17 in index
    assert 400 not in index

    assert index.remove(keys[:340]) == 340
    assert index.mode == "hnsw"  # 60 left: above half the threshold
    assert index.remove(keys[340:360]) == 20
    assert index.mode == "exact"
    assert len(index) == 40
    found, _ = index.search(vectors[360:365], 3)
    np.testing.assert_array_equal(found[:, 0], keys[360:365])


@pytest.mark.parametrize("threshold", [10_000, 50])
def test_removed_keys_are_never_returned(threshold: int) -> None:
    vectors = clustered(300)
    keys = np.arange(10, 310, dtype=np.int64)
    index = VectorIndex(DIM, hnsw_threshold=threshold)
    index.upsert(keys, vectors)
    gone = keys[::2]
    assert index.remove(np.concatenate([gone, [99_999]])) == len(gone)
    assert index.remove(gone) == 0
    assert len(index) == 150
    found, _ = index.search(vectors, 20)  # the removed vectors themselves as queries
    assert not np.isin(found, gone).any()
    assert (found >= 0).all()
    for key in gone[:5].tolist():
        assert key not in index

    # Re-adding a removed key brings it back.
    index.upsert(gone[:1], vectors[:1])
    found, _ = index.search(vectors[:1], 1)
    assert found[0, 0] == gone[0]


@pytest.mark.parametrize("threshold", [10_000, 100])
def test_save_load_round_trip(tmp_path: Path, threshold: int) -> None:
    vectors = clustered(250)
    keys = np.arange(250, dtype=np.int64) * 7 + 3
    index = VectorIndex(DIM, hnsw_threshold=threshold, dtype="f32")
    index.upsert(keys, vectors)
    index.remove(keys[:10])
    path = tmp_path / "tickets.sqlite.vectors"
    index.save(path)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left behind

    loaded = VectorIndex.load(path, hnsw_threshold=threshold)
    assert loaded.mode == index.mode
    assert len(loaded) == 240
    queries = clustered(20, seed=5)
    before_keys, before_scores = index.search(queries, 10)
    after_keys, after_scores = loaded.search(queries, 10)
    np.testing.assert_array_equal(before_keys, after_keys)
    np.testing.assert_allclose(before_scores, after_scores, atol=1e-6)

    # Saving again replaces the file in place.
    loaded.upsert([1_000_000], vectors[:1])
    loaded.save(path)
    assert len(VectorIndex.load(path, hnsw_threshold=threshold)) == 241


def test_load_switches_mode_with_the_threshold_it_is_given(tmp_path: Path) -> None:
    vectors = clustered(200)
    index = VectorIndex(DIM, hnsw_threshold=10_000)
    index.upsert(np.arange(200), vectors)
    index.save(tmp_path / "small.idx")
    assert VectorIndex.load(tmp_path / "small.idx", hnsw_threshold=10_000).mode == "exact"
    # A saved exact index loaded with a low threshold is indexed on load.
    assert VectorIndex.load(tmp_path / "small.idx", hnsw_threshold=50).mode == "hnsw"

    big = VectorIndex(DIM, hnsw_threshold=50)
    big.upsert(np.arange(200), vectors)
    big.save(tmp_path / "big.idx")
    small_again = VectorIndex.load(tmp_path / "big.idx", hnsw_threshold=10_000)
    assert small_again.mode == "exact"
    found, _ = small_again.search(vectors[:5], 1)
    assert found[:, 0].tolist() == [0, 1, 2, 3, 4]


def test_load_rejects_other_files(tmp_path: Path) -> None:
    path = tmp_path / "not-an-index"
    path.write_bytes(b"hello world, not an index at all")
    with pytest.raises(ValueError, match="not a saved VectorIndex"):
        VectorIndex.load(path)


@pytest.mark.parametrize("dtype", ["f32", "f16"])
def test_hnsw_recall_against_exact_on_clustered_data(dtype: str) -> None:
    corpus = clustered(3000, centres=40)
    keys = np.arange(3000, dtype=np.int64) + 1
    queries = clustered(200, seed=9, centres=40)
    index = VectorIndex(DIM, hnsw_threshold=500, dtype=dtype)  # type: ignore[arg-type]
    index.upsert(keys, corpus)
    assert index.mode == "hnsw"
    found, scores = index.search(queries, 10)
    truth = exact_top(corpus, keys, queries, 10)
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.95
    assert np.all(np.diff(scores, axis=1) <= 1e-6)


def test_searches_run_while_another_thread_upserts() -> None:
    corpus = clustered(2000)
    keys = np.arange(2000, dtype=np.int64)
    index = VectorIndex(DIM, hnsw_threshold=300, write_chunk=64)
    index.upsert(keys[:200], corpus[:200])
    errors: list[BaseException] = []
    done = threading.Event()

    def search_loop() -> None:
        try:
            while not done.is_set():
                found, _ = index.search(corpus[:4], 5)
                assert ((found >= 0) & (found < 2000)).all()
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)

    readers = [threading.Thread(target=search_loop) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        for start in range(200, 2000, 300):
            index.upsert(keys[start : start + 300], corpus[start : start + 300])
        index.remove(keys[:100])
    finally:
        done.set()
        for reader in readers:
            reader.join()
    assert not errors
    assert index.mode == "hnsw"
    assert len(index) == 1900


def test_a_row_the_graph_cannot_fill_is_searched_again_exactly() -> None:
    # Small graphs with removals can leave live vectors unreachable (USearch then returns
    # fewer than k); simulate it and check the row is completed by brute force.
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(30, 8)).astype(np.float32)
    index = VectorIndex(dim=8, hnsw_threshold=4)
    index.upsert(np.arange(30), vectors)
    graph = index._hnsw
    assert graph is not None
    original = graph.search

    def reaches_only_three(queries: np.ndarray, count: int, **options: object) -> object:
        return original(queries, count if options.get("exact") else 3, **options)

    graph.search = reaches_only_three  # type: ignore[method-assign]
    queries = rng.normal(size=(2, 8)).astype(np.float32)
    keys, scores = index.search(queries, k=10)
    assert (keys >= 0).all()
    assert np.isfinite(scores).all()
    normed = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    qn = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    expected = np.argsort(-(qn @ normed.T), axis=1)[:, :10]
    assert [set(row) for row in keys.tolist()] == [set(row) for row in expected.tolist()]
