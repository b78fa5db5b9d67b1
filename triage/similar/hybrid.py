"""How the dense, the subject and the lexical ranking become one: weighted reciprocal-rank
fusion.

A long ticket's vector averages every word of its body (the default body has no input
window; a body with one cuts the text at it), so what the ticket is about — its subject —
weighs little in it, and two long reports of one bug, each full of logs and version
strings, look alike to it only as much as any two such reports. The subject is therefore
embedded apart as well, and the subject vectors (a ticket's own vector where its text is its
subject) are searched as a ranking of their own: the query's subject against the stored
subjects. Every ticket keeps one score, the cosine similarity of the two tickets' vectors.
Chunks (each long ticket cut into pieces, each embedded) were measured as a fourth ranking and
not built: on SeaMonkey's duplicates they gained nothing held out (``benchmarks/long_tickets.py``).

Lexical matching cannot cross languages: a word of an Indonesian query never matches an
English ticket, so an English candidate would lose to Indonesian ones that merely share
words. A candidate the lexical index cannot judge — stored in another language than the
query's, when that language is detected surely (``service.LANGUAGE_CONFIDENCE``, unmixed) —
is therefore ranked, in the lexical ranking's place, by its dense position among the other
such candidates. A store in one language is unaffected; a query whose matches are
all in another language is ranked exactly as the dense ranking alone ranks it.

The weights, the RRF constant and the depth were chosen by ``benchmarks/retrieval.py
--tune`` on validation queries that are not the benchmark's test queries (see its docstring).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from triage.similar.fusion import reciprocal_rank_fusion


@dataclass(frozen=True)
class HybridSettings:
    """Fusion of dense (cosine) and lexical (full-text) candidates."""

    # From benchmarks/retrieval.py --tune (results/retrieval.json "tuning"): the best mean
    # MRR@10 on the banking77 and tobi_bueck validation queries of a 7 x 7 x 3 grid.
    dense_weight: float = 1.0
    lexical_weight: float = 0.25
    k: float = 10.0
    depth: int = 50  # candidates asked of each retriever
    subject_weight: float = 0.25
    # The subject ranking counts for queries of more than this many words only: in a short
    # ticket the subject is much of the text, and its vector already holds it. 83: the 75th
    # percentile of the tobi_bueck validation queries (their longest quarter, on which the
    # subject weight above was chosen; ranking every query by subject, the grid chose 0).
    long_words: int = 83

    def ranks_subject(self, text: str) -> bool:
        """Whether a query of this text is ranked by subject as well."""
        return self.subject_weight > 0 and len(text.split()) > self.long_words

    def __post_init__(self) -> None:
        if self.depth < 1:
            raise ValueError(f"depth must be >= 1, not {self.depth}")


DEFAULT_HYBRID = HybridSettings()


def fuse(
    dense: Sequence[int],
    lexical: Sequence[int],
    other_language: Sequence[int],
    settings: HybridSettings = DEFAULT_HYBRID,
    limit: int | None = None,
    *,
    subject: Sequence[int] = (),
) -> list[int]:
    """Row ids best first, from the dense ranking, the lexical ranking of the candidates in
    the query's language (or of unknown language), ``other_language``: the dense
    candidates in another language, in dense order (the lexical ranking's stand-in for them),
    and ``subject``: the ranking by subject vector.
    """
    if settings.lexical_weight == 0 and (settings.subject_weight == 0 or not subject):
        return list(dense[:limit] if limit is not None else dense)
    fused = reciprocal_rank_fusion(
        [dense, lexical, other_language, subject],
        k=settings.k,
        weights=[
            settings.dense_weight,
            settings.lexical_weight,
            settings.lexical_weight,
            settings.subject_weight,
        ],
        limit=limit,
    )
    return [row for row, _ in fused]
