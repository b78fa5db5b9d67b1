from pathlib import Path

import numpy as np

from triage.core.neighbours import NeighbourIndex
from triage.core.refinement import neighbour_vote


def _index() -> NeighbourIndex:
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], dtype=np.float32)
    return NeighbourIndex(vectors, ["T1", "T2", "T3"], {"category": ["a", "b", "c"]})


def test_nearest_are_sorted_by_similarity_with_labels() -> None:
    found = _index().nearest(np.array([0.8, 0.6], dtype=np.float32), k=2)
    assert [n.id for n in found] == ["T3", "T1"]
    assert found[0].labels == {"category": "c"}
    assert abs(found[0].similarity - 0.96) < 1e-3
    assert len(_index().nearest(np.array([1.0, 0.0]), k=10)) == 3


def test_the_index_round_trips_without_pickles(tmp_path: Path) -> None:
    path = tmp_path / "n.npz"
    _index().save(path)
    loaded = NeighbourIndex.load(path)
    assert loaded.ids.tolist() == ["T1", "T2", "T3"]
    assert loaded.labels["category"].tolist() == ["a", "b", "c"]
    assert loaded.nearest(np.array([0.0, 1.0]), k=1)[0].id == "T2"


def test_a_shared_query_votes_as_neighbour_vote_for_every_head_k_and_sharpness() -> None:
    """The request's one search serves every head: each vote must be the one
    ``neighbour_vote`` gives for that head's labels, k and sharpness, to the last bit."""
    rng = np.random.default_rng(7)
    pool = rng.normal(size=(40, 8)).astype(np.float32)
    pool /= np.linalg.norm(pool, axis=1, keepdims=True)
    queries = rng.normal(size=(3, 8)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    labels = {"a": [str(i % 3) for i in range(40)], "b": [str(i % 5) for i in range(40)]}
    index = NeighbourIndex(pool, [f"T{i}" for i in range(40)], labels)
    query = index.query(queries)
    for head, k, sharpness in [
        ("a", 3, 0.05),
        ("b", 3, 0.05),
        ("a", 7, 0.05),
        ("a", 3, 0.5),
        ("b", 1, 0.5),
    ]:
        classes = sorted(set(labels[head]))
        codes = index.codes(head, classes)
        expected = neighbour_vote(
            queries, index.matrix, codes, len(classes), k=k, sharpness=sharpness
        )
        np.testing.assert_array_equal(query.vote(head, classes, k=k, sharpness=sharpness), expected)
        np.testing.assert_array_equal(
            index.vote(queries, head, classes, k=k, sharpness=sharpness), expected
        )
    best = [float((index.matrix @ row).max()) for row in queries]
    assert query.nearest_similarity().tolist() == best
    assert index.nearest_similarity(queries).tolist() == best
