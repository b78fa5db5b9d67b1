import json

import numpy as np
import pytest

from triage.core.auto_gate import AutoGate, load_gate, save_gate
from triage.core.decisions import Decision, HeadPolicy
from triage.training.fit_distance import budget_limit, fit_class_distance
from triage.training.fit_gate import fit_auto_gate, known_words, leave_one_out_nearest

TICKETS = [
    f"Printer {i} on floor {i % 5} jams paper in tray two, toner light blinking" for i in range(150)
]


def _pool(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_leave_one_out_never_finds_the_ticket_itself() -> None:
    pool = _pool(300)
    nearest = leave_one_out_nearest(pool)
    full = pool @ pool.T
    np.fill_diagonal(full, -np.inf)
    assert np.allclose(nearest, full.max(axis=1), atol=1e-6)
    assert (nearest < 0.999).all()


def test_the_gate_turns_away_about_its_quantile_of_training_like_tickets() -> None:
    pool = _pool(2000)
    gate = fit_auto_gate(TICKETS * 13 + TICKETS[:50], pool, quantile=0.01)
    assert gate.min_similarity is not None
    # Fresh tickets from the same distribution: about 1 % unlike every training ticket.
    fresh = _pool(4000, seed=1)
    similarity = (fresh @ pool.T).max(axis=1)
    refused = np.mean([gate.reason(TICKETS[0], s) is not None for s in similarity])
    assert 0.0 < refused < 0.03
    # Something from elsewhere in the space is turned away.
    assert "unlike the training tickets" in (gate.reason(TICKETS[0], -0.5) or "")


def test_stop_words_alone_never_pass_even_when_training_tickets_are_empty_of_content() -> None:
    gate = fit_auto_gate(["tolong ya", "please help"] * 60, _pool(120))
    assert gate.min_informative_words == 1
    assert "too little content: 0 informative words" in (gate.reason("Minta tolong ya", 0.9) or "")


def test_few_training_tickets_fit_the_content_check_only() -> None:
    gate = fit_auto_gate(TICKETS[:40], _pool(40))
    assert gate.min_similarity is None
    assert gate.reason(TICKETS[1], None) is None
    assert "not fitted" in str(gate.fitted_on["familiarity"])


def test_the_gate_survives_a_round_trip_through_the_artifact(tmp_path) -> None:  # type: ignore[no-untyped-def]
    gate = AutoGate(3, 0.4123, 0.01, {"tickets": 10})
    save_gate(tmp_path, gate)
    assert load_gate(tmp_path) == gate


def test_a_refused_ticket_is_at_most_suggested_and_gets_no_parent_fallback() -> None:
    policy = HeadPolicy(thresholds={"hw/printer": 0.9, "hw": 0.5}, floor=0.5)
    distribution = {"hw/printer": 0.95, "hw/laptop": 0.05}
    assert policy.decide("hw/printer", 0.95, distribution).decision is Decision.AUTO
    refused = policy.decide("hw/printer", 0.95, distribution, allow_auto=False)
    assert refused.decision is Decision.SUGGEST
    assert not refused.fallback
    assert policy.decide("hw/printer", 0.3, allow_auto=False).decision is Decision.REVIEW


@pytest.mark.parametrize("words", [0, 1])
def test_content_reason_says_how_many_words_are_needed(words: int) -> None:
    gate = AutoGate(min_informative_words=4, min_similarity=None)
    text = " ".join([*["printer"][:words], "tolong", "ya"])
    assert gate.reason(text, None) == (
        f"too little content: {words} informative word{'s' if words != 1 else ''}; "
        "automatic decisions need 4"
    )


def _clusters(n: int, dim: int = 16, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Two labels, each a cloud around its own centre, stretched along a few directions."""
    centres = np.random.default_rng(42).normal(size=(2, dim)) * 2
    rng = np.random.default_rng(seed)
    scale = np.ones(dim)
    scale[:3] = 3.0
    codes = rng.integers(0, 2, size=n)
    vectors = centres[codes] + rng.normal(size=(n, dim)) * scale
    return vectors.astype(np.float32), ["a" if c == 0 else "b" for c in codes]


def _confident(labels: list[str]) -> np.ndarray:
    return np.asarray([[0.99, 0.01] if y == "a" else [0.01, 0.99] for y in labels])


def test_the_distance_limit_spends_at_most_its_budget_of_auto_decisions() -> None:
    distances = np.linspace(0.0, 10.0, 1000)
    auto = np.arange(1000) % 2 == 0
    limit = budget_limit(distances, auto, budget=0.015, max_turned_away=0.5)
    assert ((distances > limit) & auto).sum() <= 15
    assert ((distances > limit - 0.05) & auto).sum() > 15  # the smallest such limit
    # A head that decides nothing automatically is bounded by the cap alone.
    capped = budget_limit(distances, np.zeros(1000, dtype=bool), max_turned_away=0.1)
    assert (distances > capped).mean() <= 0.1
    assert (distances > capped - 0.05).mean() > 0.09


def test_the_distance_check_turns_away_what_lies_far_from_the_predicted_label() -> None:
    vectors, labels = _clusters(1500)
    check = fit_class_distance(vectors, labels, ["a", "b"], _confident(labels), [True] * 1500)
    assert check.fitted_on["auto_cost"] <= 0.015
    fresh, fresh_labels = _clusters(2000, seed=1)
    refused = np.mean([r is not None for r in check.reasons(fresh, fresh_labels)])
    assert refused < 0.04  # about the budget, measured out of fold
    # Off along a direction the training tickets never vary in, though near in cosine.
    odd = vectors[:5] + np.r_[np.zeros(3), np.full(13, 4.0)].astype(np.float32)
    reasons = check.reasons(odd, labels[:5])
    assert all(r is not None and r.startswith("unlike the training tickets of") for r in reasons)
    # Each label's tickets are near their own centroid, not the other's.
    swapped = ["b" if y == "a" else "a" for y in fresh_labels]
    assert np.mean([r is not None for r in check.reasons(fresh, swapped)]) > 0.9


def test_words_no_training_ticket_uses_are_no_content() -> None:
    vocabulary, counts = known_words(["printer toner jam", "printer toner empty", "vpn drops"])
    assert vocabulary == {"printer", "toner"}
    assert counts.tolist() == [0, 0, 0]  # each ticket's words, counted against the others
    gate = AutoGate(2, None, vocabulary=vocabulary)
    assert gate.reason("printer toner blinking", None) is None
    assert gate.reason("mortgage interest refund", None) == (
        "too little content: 0 informative words the training tickets use; "
        "automatic decisions need 2"
    )


def test_a_format_2_gate_survives_a_round_trip_through_the_artifact(tmp_path) -> None:  # type: ignore[no-untyped-def]
    vectors, labels = _clusters(400)
    check = fit_class_distance(vectors, labels, ["a", "b"], _confident(labels), [True] * 400)
    gate = AutoGate(3, 0.41, 0.01, {"tickets": 400}, frozenset({"printer", "toner"}), {"h": check})
    assert save_gate(tmp_path, gate) == ["auto_gate.json", "auto_gate.npz"]
    loaded = load_gate(tmp_path)
    assert loaded.format == 2
    assert loaded.to_dict() == gate.to_dict()
    assert loaded.vocabulary == gate.vocabulary
    probes = vectors[:50] * 1.5
    assert loaded.head_reasons("h", probes, labels[:50]) == gate.head_reasons(
        "h", probes, labels[:50]
    )
    assert loaded.head_reasons("other head", probes, labels[:50]) == [None] * 50


def test_a_format_1_gate_still_loads_and_counts_every_informative_word(tmp_path) -> None:  # type: ignore[no-untyped-def]
    written_before = {
        "format": 1,
        "gate": {"min_informative_words": 2, "min_similarity": 0.35, "quantile": 0.01},
    }
    (tmp_path / "auto_gate.json").write_text(json.dumps(written_before))
    gate = load_gate(tmp_path)
    assert gate.format == 1
    assert gate.vocabulary is None
    assert not gate.distances
    assert gate.reason("mortgage interest", 0.5) is None
    assert gate.reason("mortgage", 0.5) == (
        "too little content: 1 informative word; automatic decisions need 2"
    )
    assert "unlike the training tickets" in (gate.reason("mortgage interest", 0.3) or "")
    assert gate.head_reasons("tier", np.zeros((1, 4)), ["L1"]) == [None]
    save_gate(tmp_path, gate)  # and is written back as it was
    assert json.loads((tmp_path / "auto_gate.json").read_text())["format"] == 1


def test_every_heads_distances_in_one_product_give_each_heads_own_reasons() -> None:
    """``heads_reasons`` whitens with all heads' matrices side by side: each head still gets
    the reasons (and the distances written in them) of its own check, alone or in a batch."""
    dim = 512  # the default body's size, where BLAS takes its blocked paths
    vectors, labels = _clusters(900, dim=dim)
    checks = {
        f"h{i}": fit_class_distance(
            vectors[i::3], labels[i::3], ["a", "b"], _confident(labels[i::3]), [True] * 300
        )
        for i in range(3)
    }
    gate = AutoGate(1, None, distances=checks)
    fresh, fresh_labels = _clusters(64, dim=dim, seed=1)
    fresh += np.float32(0.7)  # far enough that some are refused with their distance
    swapped = ["b" if y == "a" else "a" for y in fresh_labels]
    predicted = {"h0": fresh_labels, "h1": swapped, "h2": fresh_labels, "none": fresh_labels}
    for rows in (slice(0, 64), slice(5, 6)):
        got = gate.heads_reasons(fresh[rows], {h: p[rows] for h, p in predicted.items()})
        assert got["none"] == [None] * len(fresh_labels[rows])
        for head in checks:
            assert got[head] == gate.head_reasons(head, fresh[rows], predicted[head][rows])
        assert any(r is not None for r in got["h1"])
