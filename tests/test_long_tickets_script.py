"""benchmarks/long_tickets.py: the pieces a text is cut into, and the validation / test halves
of SeaMonkey's queries (a duplicate group must never straddle them)."""

from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np
import pytest

from tests.conftest import ROOT


@pytest.fixture
def long_tickets(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # it runs as a file, beside retrieval
    return importlib.import_module("long_tickets")


def test_pieces_cover_the_text_in_near_equal_parts(long_tickets: ModuleType) -> None:
    words = [f"w{i}" for i in range(70)]
    parts = long_tickets.pieces(" ".join(words), 32)
    assert [len(p.split()) for p in parts] == [24, 23, 23]
    assert " ".join(parts).split() == words
    assert long_tickets.pieces("one two", 32) == ["one two"]


def test_a_duplicate_group_stays_in_one_half(long_tickets: ModuleType) -> None:
    # Bugs 1-2-3 are one group (linked through 2), 4-5 another, 6-7, 8-9 and 10-11 others;
    # each pair is asked both ways, as in SeaMonkey.
    links = [("1", "2"), ("2", "3"), ("4", "5"), ("6", "7"), ("8", "9"), ("10", "11")]
    pairs = links + [(b, a) for a, b in links]
    bugs = [str(i) for i in range(1, 12)]
    split = long_tickets.Split(
        corpus=[(bug, None) for bug in bugs],
        corpus_labels=np.asarray(bugs),
        queries=[(a, None) for a, _ in pairs],
        query_labels=np.asarray([b for _, b in pairs]),
        protocol="test",
        query_rows=[bugs.index(a) for a, _ in pairs],
    )
    halves = long_tickets.validation_half(split)
    group = {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1, "6": 2, "7": 2, "8": 3, "9": 3}
    group |= {"10": 4, "11": 4}
    by_group: dict[int, set[bool]] = {}
    for (a, _), half in zip(pairs, halves, strict=True):
        by_group.setdefault(group[a], set()).add(bool(half))
    assert all(len(sides) == 1 for sides in by_group.values())
    assert sum(True in sides for sides in by_group.values()) == 2  # half of the 5 groups
    np.testing.assert_array_equal(halves, long_tickets.validation_half(split))  # seeded
