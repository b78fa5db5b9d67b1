"""Which of a ticket's words the full-text query searches for (``lexical.choose_terms``).

The searches themselves, on both databases, are in ``tests/store/test_hybrid_search.py``.
"""

from __future__ import annotations

import math

import pytest

from triage.similar import lexical
from triage.similar.lexical import choose_terms, query_terms


def test_words_within_the_postings_limit_are_kept_rarest_first_in_their_own_order() -> None:
    words = ["printer", "jams", "tray", "ora", "floor"]
    counts = {"printer": 900, "jams": 40, "tray": 300, "ora": 2, "floor": 700}
    # Rarest first: ora 2, jams 42, tray 342, floor 1,042 > 1,000: floor and printer left out.
    assert choose_terms(words, counts, 100_000, postings=1_000) == ["jams", "tray", "ora"]
    assert choose_terms(words, counts, 100_000, postings=1_042) == [
        "jams",
        "tray",
        "ora",
        "floor",
    ]
    assert choose_terms(words, counts, 100_000, postings=10**9) == words


def test_the_rarest_word_is_kept_even_over_the_limit_and_unknown_words_cost_nothing() -> None:
    counts = {"printer": 900, "tray": 300}
    assert choose_terms(["printer", "tray"], counts, 100_000, postings=10) == ["tray"]
    # Words the index does not hold (or the statistics do not list) count as in no ticket.
    assert choose_terms(["zanzibar", "printer", "tray"], counts, 100_000, postings=10) == [
        "zanzibar",
        "tray",
    ]


def test_common_words_are_left_out_before_the_limit_applies() -> None:
    # Common: in more than 2 % of the tickets and more than 1,000 of them.
    counts = {"the": 60_000, "printer": 1_500, "tray": 300}
    assert choose_terms(["the", "printer", "tray"], counts, 100_000, postings=10**9) == [
        "printer",
        "tray",
    ]
    assert choose_terms(["the", "printer", "tray"], counts, 50_000, postings=10**9) == ["tray"]
    assert choose_terms(["the", "printer"], {"the": 900}, 1_000, postings=10**9) == [
        "the",
        "printer",
    ]


def test_at_most_max_query_terms_of_the_first_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical, "MAX_QUERY_TERMS", 3)
    words = query_terms("Alpha beta, gamma! delta alpha", limit=10)
    assert words == ["alpha", "beta", "gamma", "delta"]
    assert choose_terms(words, {}, 10, postings=10**9) == ["alpha", "beta", "gamma"]


def test_the_module_limit_is_read_when_called(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical, "MAX_POSTINGS", 50)
    assert choose_terms(["jams", "tray"], {"jams": 40, "tray": 30}, 100_000) == ["tray"]


def test_words_are_grouped_by_their_inverse_document_frequency() -> None:
    groups = lexical.idf_groups(["toner", "printer", "tray"], {"printer": 900}, 1_000)
    # Words the statistics do not list count as in no ticket: the highest IDF, one group.
    assert sorted(groups.values()) == [["printer"], ["toner", "tray"]]
    assert max(groups) == pytest.approx(math.log(1 + 1000.5 / 0.5))  # 7.6
    assert min(groups) == pytest.approx(math.log(1 + 100.5 / 900.5))  # 0.11
    # No statistics yet (no ANALYZE): one group, plain ts_rank.
    assert list(lexical.idf_groups(["toner", "printer"], {}, 0).values()) == [["toner", "printer"]]
