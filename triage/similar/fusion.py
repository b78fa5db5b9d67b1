"""Reciprocal-rank fusion (RRF): one ranking from several, using ranks only.

Cormack, Clarke and Büttcher (SIGIR 2009): an item's fused score is the sum, over the
rankings that contain it, of ``weight / (k + rank)`` with 1-based ranks. Scores of the
underlying retrievers (cosine, BM25, ...) are never compared, so they need no calibration
or normalisation; an item missing from a ranking simply gets nothing from it.

The function is pure and deterministic: the same input always gives the same output,
independent of hash seeds, and equal fused scores are broken by a documented rule.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import TypeVar

__all__ = ["DEFAULT_K", "reciprocal_rank_fusion"]

T = TypeVar("T", bound=Hashable)

DEFAULT_K = 60
"""The constant of the original paper; larger ``k`` flattens the advantage of top ranks."""


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[T]],
    k: float = DEFAULT_K,
    weights: Sequence[float] | None = None,
    limit: int | None = None,
) -> list[tuple[T, float]]:
    """Fuse rankings (best first) into one list of ``(item, score)``, best first.

    Args:
        rankings: one sequence of item ids per retriever, best first. A ranking may be
            empty (a retriever that found nothing) and may be cut at any depth; an item
            may appear at most once per ranking.
        k: the RRF constant, ``>= 0``. Rank ``r`` (1-based) contributes ``weight / (k + r)``.
        weights: one non-negative, finite weight per ranking; ``None`` means all 1.
        limit: return at most this many items (``None``: all of them).

    Returns:
        Every item found in any ranking, with its fused score, by decreasing score. Ties
        are broken by the best (smallest) rank the item has in any ranking, then by the
        position of the first ranking in which it has that rank — so on a tie the earlier
        ranking (list it first: the primary retriever) wins. Scores are summed with
        :func:`math.fsum`, so they do not depend on the order of the rankings.

    Raises:
        ValueError: on a negative or non-finite ``k`` or weight, a weight count that does
            not match the rankings, a negative ``limit``, or an item repeated in a ranking.
    """
    if not math.isfinite(k) or k < 0:
        raise ValueError(f"k must be a finite number >= 0, not {k!r}")
    if weights is None:
        weights = [1.0] * len(rankings)
    elif len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weight(s) for {len(rankings)} ranking(s)")
    for weight in weights:
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"weights must be finite and >= 0, not {weight!r}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0 or None, not {limit!r}")

    contributions: dict[T, list[float]] = {}
    best: dict[T, tuple[int, int]] = {}  # item -> (best 1-based rank, index of its ranking)
    for which, (ranking, weight) in enumerate(zip(rankings, weights, strict=True)):
        seen: set[T] = set()
        for rank, item in enumerate(ranking, start=1):
            if item in seen:
                raise ValueError(f"item {item!r} appears twice in ranking {which}")
            seen.add(item)
            contributions.setdefault(item, []).append(weight / (k + rank))
            if item not in best or (rank, which) < best[item]:
                best[item] = (rank, which)

    fused = [(item, math.fsum(parts)) for item, parts in contributions.items()]
    fused.sort(key=lambda pair: (-pair[1], *best[pair[0]]))
    return fused if limit is None else fused[:limit]
