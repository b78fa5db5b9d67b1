"""Fitting the auto gate (:mod:`triage.core.auto_gate`) on the training rows alone.

The ticket-level checks are fitted here; each head's distance check is fitted with the head
(:mod:`triage.training.fit_distance`), from its out-of-fold decisions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from triage.core.auto_gate import DEFAULT_QUANTILE, AutoGate
from triage.core.informative import informative_words

_BLOCK = 1024  # query rows per similarity block: bounds the work matrix to a few MB
# Below this many training tickets a quantile of 1 % is the minimum itself: the familiarity
# limit would rest on one ticket, so it is left out and only the content check applies.
MIN_ROWS_FOR_SIMILARITY = 100
# A word counts as content when at least this many training tickets use it.
VOCABULARY_MIN_TICKETS = 2


def leave_one_out_nearest(pool: np.ndarray) -> np.ndarray:
    """Per row of ``pool`` (L2-normalised embeddings): the cosine of its nearest other row."""
    pool = np.asarray(pool, dtype=np.float32)
    n = pool.shape[0]
    nearest = np.full(n, -1.0)
    for start in range(0, n, _BLOCK):
        sims = pool[start : start + _BLOCK] @ pool.T
        rows = np.arange(sims.shape[0])
        sims[rows, rows + start] = -np.inf
        nearest[start : start + _BLOCK] = sims.max(axis=1) if n > 1 else -1.0
    return nearest


def known_words(texts: Sequence[str]) -> tuple[frozenset[str], np.ndarray]:
    """The informative words at least ``VOCABULARY_MIN_TICKETS`` of ``texts`` use, and per
    text, out of fold, how many of its informative words at least that many *other* texts use
    (what a new ticket's count is measured against)."""
    words = [set(informative_words(t)) for t in texts]
    tickets = Counter(word for ticket in words for word in ticket)
    vocabulary = frozenset(w for w, n in tickets.items() if n >= VOCABULARY_MIN_TICKETS)
    counts = [sum(tickets[w] - 1 >= VOCABULARY_MIN_TICKETS for w in ticket) for ticket in words]
    return vocabulary, np.asarray(counts, dtype=int)


def fit_auto_gate(
    texts: Sequence[str], pool: np.ndarray, *, quantile: float = DEFAULT_QUANTILE
) -> AutoGate:
    """Each limit at ``quantile`` of its statistic over the training tickets, out of fold:
    informative words the other training tickets use, per ticket (never below 1), and
    similarity to the nearest other training ticket (with at least
    ``MIN_ROWS_FOR_SIMILARITY`` tickets)."""
    vocabulary, words = known_words(texts)
    # The largest limit that turns away at most ``quantile`` of the training tickets.
    candidates = np.arange(1, int(words.max(initial=1)) + 2)
    kept = [int(c) for c in candidates if (words < c).mean() <= quantile]
    min_words = max([1, *kept])
    min_similarity = None
    fitted_on: dict[str, object] = {
        "tickets": len(texts),
        "vocabulary_words": len(vocabulary),
        "informative_words": _summary(words),
        "turned_away_by_content": round(float((words < min_words).mean()), 4),
    }
    if len(texts) >= MIN_ROWS_FOR_SIMILARITY:
        nearest = leave_one_out_nearest(pool)
        # Rounded down: a ticket exactly at the training quantile is let through.
        min_similarity = float(np.floor(np.quantile(nearest, quantile) * 1e4) / 1e4)
        fitted_on["nearest_similarity"] = _summary(nearest)
        fitted_on["turned_away_by_familiarity"] = round(float((nearest < min_similarity).mean()), 4)
    else:
        fitted_on["familiarity"] = (
            f"not fitted: {len(texts)} training tickets (< {MIN_ROWS_FOR_SIMILARITY})"
        )
    return AutoGate(min_words, min_similarity, quantile, fitted_on, vocabulary)


def _summary(values: np.ndarray) -> dict[str, float]:
    points = np.quantile(values, [0.01, 0.05, 0.5]) if values.size else np.zeros(3)
    return {
        "p01": round(float(points[0]), 4),
        "p05": round(float(points[1]), 4),
        "median": round(float(points[2]), 4),
    }
