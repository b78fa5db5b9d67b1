import numpy as np
import pytest

from triage.core.auto_gate import AutoGate, load_gate, save_gate
from triage.core.decisions import Decision, HeadPolicy
from triage.training.fit_gate import fit_auto_gate, leave_one_out_nearest

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
