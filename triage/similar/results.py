"""What the similar-ticket search answers: matches, the candidates before fusion, what an
add did, and the identity of the vector space a store's vectors and queries share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from triage.core.embeddings import Embedder
from triage.store.records import StoredTicket


def embedder_key(embedder: Embedder) -> dict[str, Any]:
    """What identifies the vector space: a store's vectors and queries must share it."""
    identity = embedder.identity
    return {k: identity.get(k) for k in ("kind", "name", "dim", "weights_sha256")}


@dataclass(frozen=True)
class Match:
    ticket: StoredTicket
    score: float
    duplicate: bool


@dataclass(frozen=True)
class SimilarResult:
    similar: list[Match]
    duplicates: list[Match]


@dataclass(frozen=True)
class Candidates:
    """Row ids each retriever found for one query, best first, before fusion.

    ``other_language``: the dense candidates stored in another language than the query's,
    which the lexical index cannot judge. ``cosine``: the dense candidates' similarities.
    ``subject``: the candidates by subject vector (none when not searched).
    """

    dense: list[int]
    lexical: list[int]
    other_language: list[int]
    cosine: dict[int, float]
    subject: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class AddResult:
    row_ids: list[int]
    embedded: int
    unchanged: int
