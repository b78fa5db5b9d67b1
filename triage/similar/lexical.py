"""Lexical search: the database's own full-text index of each ticket's subject and body.

SQLite ranks with FTS5's BM25 (subject weighted twice the body); PostgreSQL with ``ts_rank``
over the ``simple`` configuration (subject weight A, body B, divided by 1 + log of the
document length). Neither stems, so English and Bahasa Indonesia are treated alike; words
are matched exactly, case- (and on SQLite diacritic-) insensitively. Migration 0006 builds
both indexes; the database keeps them in step with the rows in the same transaction.

A query is its ticket's words, any of which may match (OR): the first ``MAX_QUERY_TERMS``
distinct ones that are not common — in more than ``COMMON_SHARE`` of the stored tickets and
more than ``COMMON_FLOOR`` of them (SQLite counts them in the index's vocabulary; PostgreSQL
reads its planner statistics of the column, kept by ANALYZE). Common words add little to the
ranking and most of its cost: every ticket containing one must be scored.
"""

from __future__ import annotations

import re
import time
from typing import Any

import sqlalchemy as sa

from triage.store.schema import tickets
from triage.store.tickets import Filters, TicketStore

Hits = list[tuple[int, float]]

_PG_STATS = sa.text(
    "SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs, c.reltuples "
    "FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename "
    "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = s.schemaname "
    "WHERE s.schemaname = current_schema() AND s.tablename = 'tickets' AND s.attname = 'lexical'"
)

MAX_QUERY_TERMS = 64
COMMON_SHARE, COMMON_FLOOR = 0.02, 1_000
_SIZE_TTL = 60.0  # seconds the store's ticket count is reused
# FTS5 bm25() column weights: (subject, body).
SUBJECT_WEIGHT, BODY_WEIGHT = 2.0, 1.0
# Full-text matches ranked before the join with the ticket rows and their filters (SQLite).
SQLITE_CANDIDATES = 400
# Unicode letters and digits: what both the FTS5 unicode61 tokenizer and PostgreSQL's parser
# keep as word characters (underscore and punctuation split words).
_WORD = re.compile(r"[^\W_]+")


def query_terms(text: str, limit: int = MAX_QUERY_TERMS) -> list[str]:
    """Distinct lower-cased words of ``text``, in order of first appearance, at most ``limit``."""
    terms = dict.fromkeys(word.lower() for word in _WORD.findall(text))
    return list(terms)[:limit]


class LexicalSearch:
    """Full-text search of the stored tickets that have a vector (only those can be scored)."""

    def __init__(self, store: TicketStore) -> None:
        self.store = store
        self._size = (0, -_SIZE_TTL)  # (tickets, when counted)

    def _tickets(self) -> int:
        count, at = self._size
        if time.monotonic() - at > _SIZE_TTL:
            self._size = (count, at) = (self.store.count(), time.monotonic())
        return count

    def _common(self, terms: list[str]) -> set[str]:
        """The terms too common to search for (see the module docstring)."""
        if self.store.database.is_postgres:
            with self.store.database.begin() as connection:
                stats = connection.execute(_PG_STATS).first()
            if stats is None or stats[0] is None:
                return set()
            limit = max(COMMON_SHARE, COMMON_FLOOR / max(float(stats[2]), 1.0))
            wanted = set(terms)
            return {
                t
                for t, share in zip(stats[0], stats[1], strict=False)
                if t in wanted and share > limit
            }
        size = self._tickets()
        limit = max(COMMON_SHARE * size, COMMON_FLOOR)
        if size <= limit:
            return set()
        with self.store.database.begin() as connection:
            rows = connection.execute(
                sa.text("SELECT term, doc FROM ticket_fts_vocab WHERE term IN :terms").bindparams(
                    sa.bindparam("terms", expanding=True)
                ),
                {"terms": terms},
            ).all()
        return {str(term) for term, docs in rows if docs > limit}

    def search(self, text: str, k: int, filters: Filters, *, language: str | None = None) -> Hits:
        """Best matches first, as (row_id, rank score); ``language``: that language or unknown."""
        words = query_terms(text, limit=4 * MAX_QUERY_TERMS)
        common = self._common(words) if words else set()
        terms = [word for word in words if word not in common][:MAX_QUERY_TERMS]
        if not terms or k <= 0:
            return []
        where = [*filters.clauses()]
        if language is not None:
            where.append(sa.or_(tickets.c.language == language, tickets.c.language.is_(None)))
        if self.store.database.is_postgres:
            statement = self._postgres(terms, where, k)
        else:
            statement = self._sqlite(terms, where, k)
        with self.store.database.begin() as connection:
            rows = connection.execute(statement).all()
        return [(int(row[0]), float(row[1])) for row in rows]

    def _sqlite(
        self, terms: list[str], where: list[sa.ColumnElement[bool]], k: int
    ) -> sa.Select[Any]:
        fts = sa.table("ticket_fts", sa.column("rowid"))
        # bm25() is lower for better matches; the score handed back is its negation.
        rank = sa.func.bm25(sa.literal_column("ticket_fts"), SUBJECT_WEIGHT, BODY_WEIGHT)
        match = " OR ".join(f'"{term}"' for term in terms)
        # Ranked inside the full-text index first, so that only the best few hundred matches
        # are joined with their (large) ticket rows; filters that drop more than that leave
        # fewer lexical candidates, and the dense ranking still covers the rest.
        best = (
            sa.select(fts.c.rowid.label("row_id"), rank.label("rank"))
            .select_from(fts)
            .where(sa.text("ticket_fts MATCH :match").bindparams(match=match))
            .order_by(rank)
            .limit(max(SQLITE_CANDIDATES, 4 * k))
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
        self, terms: list[str], where: list[sa.ColumnElement[bool]], k: int
    ) -> sa.Select[Any]:
        lexical: sa.ColumnClause[Any] = sa.literal_column("lexical")
        query = sa.func.to_tsquery(
            sa.literal_column("'simple'::regconfig"),
            sa.bindparam("tsquery", " | ".join(terms), type_=sa.Text),
        )
        rank = sa.func.ts_rank(lexical, query, 1)
        vector = sa.literal_column("vec") if self.store.pgvector else tickets.c.embedding
        return (
            sa.select(tickets.c.row_id, rank.label("score"))
            .where(lexical.op("@@")(query), vector.is_not(None), *where)
            .order_by(rank.desc(), tickets.c.row_id)
            .limit(k)
        )
