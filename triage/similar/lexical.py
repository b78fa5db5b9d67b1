"""Lexical search: the database's own full-text index of each ticket's subject and body.

SQLite ranks with FTS5's BM25 (subject weighted twice the body); PostgreSQL with ``ts_rank``
over the ``simple`` configuration (subject weight A, body B, divided by 1 + log of the
document length), which knows no inverse document frequency: each word's ``ts_rank`` is
weighted by its BM25 IDF, read from the column's statistics (``idf_groups``). Neither stems,
so English and Bahasa Indonesia are treated alike; words are matched exactly, case- (and on
SQLite diacritic-) insensitively. Migration 0006 builds both indexes; the database keeps them
in step with the rows in the same transaction.

A query is its ticket's words, any of which may match (OR): of its first ``MAX_QUERY_TERMS``
distinct words that are not common — in more than ``COMMON_SHARE`` of the stored tickets and
more than ``COMMON_FLOOR`` of them — the rarest, as many as fit in ``MAX_POSTINGS`` tickets
summed over the words (the first word the index holds is kept whatever its count). The cost
of a query grows with that sum: FTS5 counts each word's tickets for its IDF and scores every
ticket holding any of them. SQLite reads a word's count from the index's vocabulary, which
walks the word's whole posting list (8 ms for a word in 80,000 tickets), so each word's count
is kept ``_FREQUENCY_TTL`` seconds; PostgreSQL reads its planner statistics of the column,
kept by ANALYZE, which list only the common words (the others count as in no ticket).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from triage.store.records import Filters
from triage.store.schema import tickets
from triage.store.tickets import TicketStore

Hits = list[tuple[int, float]]

_PG_STATS = sa.text(
    "SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs, c.reltuples "
    "FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename "
    "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = s.schemaname "
    "WHERE s.schemaname = current_schema() AND s.tablename = 'tickets' AND s.attname = 'lexical'"
)

MAX_QUERY_TERMS = 64
COMMON_SHARE, COMMON_FLOOR = 0.02, 1_000
# Measured with benchmarks/hybrid_speed.py and benchmarks/retrieval.py (benchmarks/README.md):
# 5,000 keeps a query at ~5 ms of CPU at 100,000 tickets and changed no retrieval figure;
# 2,000 (~3.7 ms) moved SeaMonkey's hybrid R@1 and R@5 by one query of 92; none, 7 ms.
MAX_POSTINGS = 5_000
IDF_STEP = 0.5  # PostgreSQL: words whose IDF round to the same multiple share one ts_rank
_SIZE_TTL = 60.0  # seconds the store's ticket count is reused
_FREQUENCY_TTL = 600.0  # seconds a word's ticket count is reused (SQLite)
_FREQUENCY_WORDS = 200_000  # words whose counts are kept at most (SQLite)
# FTS5 bm25() column weights: (subject, body).
SUBJECT_WEIGHT, BODY_WEIGHT = 2.0, 1.0
# Full-text matches ranked before the join with the ticket rows and their filters (SQLite):
# k x this, then (if fewer than k passed the filters) k x SQLITE_WIDER. Each joined match
# reads its ticket row (~10 us at 100,000 tickets).
SQLITE_OVERSAMPLE, SQLITE_WIDER = 2, 8
# Unicode letters and digits: what both the FTS5 unicode61 tokenizer and PostgreSQL's parser
# keep as word characters (underscore and punctuation split words).
_WORD = re.compile(r"[^\W_]+")


def query_terms(text: str, limit: int = MAX_QUERY_TERMS) -> list[str]:
    """Distinct lower-cased words of ``text``, in order of first appearance, at most ``limit``."""
    terms = dict.fromkeys(word.lower() for word in _WORD.findall(text))
    return list(terms)[:limit]


def choose_terms(
    words: Sequence[str],
    frequencies: Mapping[str, int],
    tickets: int,
    *,
    postings: int | None = None,
) -> list[str]:
    """The words to search for, in their order (see the module docstring).

    ``frequencies``: how many stored tickets hold each word (absent: none, or too few for
    the backend to say); ``tickets``: how many are stored; ``postings``: MAX_POSTINGS.
    """
    postings = MAX_POSTINGS if postings is None else postings
    common = max(COMMON_SHARE * tickets, COMMON_FLOOR)
    kept = [word for word in words if frequencies.get(word, 0) <= common][:MAX_QUERY_TERMS]
    rarest = sorted(range(len(kept)), key=lambda i: (frequencies.get(kept[i], 0), i))
    chosen: set[int] = set()
    total = 0
    for i in rarest:
        count = frequencies.get(kept[i], 0)
        if total + count > postings and total > 0:  # the first word held is always kept
            break
        chosen.add(i)
        total += count
    return [word for i, word in enumerate(kept) if i in chosen]


def idf_groups(
    terms: Sequence[str], frequencies: Mapping[str, int], tickets: int
) -> dict[float, list[str]]:
    """The words by their BM25 inverse document frequency, ``ln(1 + (N - n + 0.5) / (n +
    0.5))``: words whose IDF round to the same multiple of ``IDF_STEP`` share one
    ``ts_rank``, weighted by their mean IDF (most words, which the statistics do not list,
    share the highest)."""
    rounded: dict[int, list[tuple[str, float]]] = {}
    for term in terms:
        n = min(frequencies.get(term, 0), tickets)
        idf = math.log(1 + (tickets - n + 0.5) / (n + 0.5))
        rounded.setdefault(round(idf / IDF_STEP), []).append((term, idf))
    return {
        sum(idf for _, idf in group) / len(group): [term for term, _ in group]
        for group in rounded.values()
    }


class LexicalSearch:
    """Full-text search of the stored tickets that have a vector (only those can be scored)."""

    def __init__(self, store: TicketStore) -> None:
        self.store = store
        self._size = (0, -_SIZE_TTL)  # (tickets, when counted)
        self._frequencies: dict[str, tuple[int, float]] = {}  # word -> (tickets, when read)

    def _tickets(self) -> int:
        count, at = self._size
        if time.monotonic() - at > _SIZE_TTL:
            self._size = (count, at) = (self.store.count(), time.monotonic())
        return count

    def _counts(self, words: list[str]) -> tuple[dict[str, int], int]:
        """How many stored tickets hold each word, and how many are stored."""
        if self.store.database.is_postgres:
            with self.store.database.begin() as connection:
                stats = connection.execute(_PG_STATS).first()
            if stats is None or stats[0] is None:
                return {}, 0
            size = max(float(stats[2]), 0.0)
            wanted = set(words)
            return {
                t: round(share * size)
                for t, share in zip(stats[0], stats[1], strict=False)
                if t in wanted
            }, round(size)
        now = time.monotonic()
        known = {w: self._frequencies.get(w, (0, -_FREQUENCY_TTL)) for w in words}
        missing = [w for w, (_, at) in known.items() if now - at > _FREQUENCY_TTL]
        if missing:
            with self.store.database.begin() as connection:
                rows: dict[str, int] = dict(
                    connection.execute(
                        sa.text(
                            "SELECT term, doc FROM ticket_fts_vocab WHERE term IN :terms"
                        ).bindparams(sa.bindparam("terms", expanding=True)),
                        {"terms": missing},
                    ).all()
                )
            if len(self._frequencies) + len(missing) > _FREQUENCY_WORDS:
                self._frequencies.clear()
            for word in missing:
                known[word] = (int(rows.get(word, 0)), now)
                self._frequencies[word] = known[word]
        return {w: count for w, (count, _) in known.items()}, self._tickets()

    def search(self, text: str, k: int, filters: Filters, *, language: str | None = None) -> Hits:
        """Best matches first, as (row_id, rank score); ``language``: that language or unknown."""
        words = query_terms(text, limit=4 * MAX_QUERY_TERMS)
        if not words or k <= 0:
            return []
        counts = self._counts(words)
        terms = choose_terms(words, *counts)
        if not terms:
            return []
        postgres = self.store.database.is_postgres
        # SQLite looks the matches' rows up by id (see Filters.clauses).
        where = [*filters.clauses(indexed=postgres)]
        if language is not None:
            where.append(sa.or_(tickets.c.language == language, tickets.c.language.is_(None)))
        if postgres:
            return self._rows(self._postgres(idf_groups(terms, *counts), where, k))
        hits = self._rows(self._sqlite(terms, where, k, SQLITE_OVERSAMPLE * k))
        if len(hits) < k:  # the filters dropped too many of the best matches
            hits = self._rows(self._sqlite(terms, where, k, SQLITE_WIDER * k))
        return hits

    def _rows(self, statement: sa.Select[Any]) -> Hits:
        with self.store.database.begin() as connection:
            rows = connection.execute(statement).all()
        return [(int(row[0]), float(row[1])) for row in rows]

    def _sqlite(
        self, terms: list[str], where: list[sa.ColumnElement[bool]], k: int, candidates: int
    ) -> sa.Select[Any]:
        fts = sa.table("ticket_fts", sa.column("rowid"))
        # bm25() is lower for better matches; the score handed back is its negation.
        rank = sa.func.bm25(sa.literal_column("ticket_fts"), SUBJECT_WEIGHT, BODY_WEIGHT)
        match = " OR ".join(f'"{term}"' for term in terms)
        # Ranked inside the full-text index first, so that only the best few matches are
        # joined with their (large) ticket rows: the first k that pass the filters are the
        # same as if all were joined, unless fewer than k of the candidates pass.
        best = (
            sa.select(fts.c.rowid.label("row_id"), rank.label("rank"))
            .select_from(fts)
            .where(sa.text("ticket_fts MATCH :match").bindparams(match=match))
            .order_by(rank)
            .limit(max(candidates, k))
            .subquery()
        )
        return (
            sa.select(tickets.c.row_id, (-best.c.rank).label("score"))
            .select_from(best.join(tickets, tickets.c.row_id == best.c.row_id))
            .where(tickets.c.embedding.is_not(None), *where)
            .order_by(best.c.rank, tickets.c.row_id)
            .limit(k)
        )

    def _postgres(
        self, groups: dict[float, list[str]], where: list[sa.ColumnElement[bool]], k: int
    ) -> sa.Select[Any]:
        lexical: sa.ColumnClause[Any] = sa.literal_column("lexical")

        def tsquery(terms: list[str], name: str) -> sa.ColumnElement[Any]:
            return sa.func.to_tsquery(
                sa.literal_column("'simple'::regconfig"),
                sa.bindparam(name, " | ".join(terms), type_=sa.Text),
            )

        # ts_rank of an OR query is the mean over its words: times their count, the sum.
        parts = [
            sa.func.ts_rank(lexical, tsquery(terms, f"group_{i}"), 1) * (idf * len(terms))
            for i, (idf, terms) in enumerate(sorted(groups.items()))
        ]
        rank = sum(parts[1:], parts[0])
        query = tsquery([t for terms in groups.values() for t in terms], "tsquery")
        vector = sa.literal_column("vec") if self.store.pgvector else tickets.c.embedding
        return (
            sa.select(tickets.c.row_id, rank.label("score"))
            .where(lexical.op("@@")(query), vector.is_not(None), *where)
            .order_by(rank.desc(), tickets.c.row_id)
            .limit(k)
        )
