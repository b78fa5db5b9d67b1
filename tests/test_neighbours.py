from pathlib import Path

import numpy as np

from triage.core.neighbours import NeighbourIndex


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
