"""Lexical search: the database's own full-text index of each ticket's subject and body.

SQLite ranks with FTS5's BM25 (subject weighted twice the body); PostgreSQL with ``ts_rank``
over the ``simple`` configuration (subject weight A, body B, divided by 1 + log of the
document length). Neither stems, so English and Bahasa Indonesia are treated alike; words
are matched exactly, case- (and on SQLite diacritic-) insensitively. Migration 0006 builds
both indexes; the database keeps them in step with the rows in the same transaction.

A query is its ticket's words, any of which may match (OR); only the first
``MAX_QUERY_TERMS`` distinct words count, which bounds the cost of a long ticket.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from triage.store.schema import tickets
from triage.store.tickets import Filters, TicketStore

Hits = list[tuple[int, float]]

MAX_QUERY_TERMS = 64
# FTS5 bm25() column weights: (subject, body).
SUBJECT_WEIGHT, BODY_WEIGHT = 2.0, 1.0
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

    def search(self, text: str, k: int, filters: Filters, *, language: str | None = None) -> Hits:
        """Best matches first, as (row_id, rank score); ``language``: that language or unknown."""
        terms = query_terms(text)
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
        return (
            sa.select(tickets.c.row_id, (-rank).label("score"))
            .select_from(fts.join(tickets, tickets.c.row_id == fts.c.rowid))
            .where(
                sa.text("ticket_fts MATCH :match").bindparams(match=match),
                tickets.c.embedding.is_not(None),
                *where,
            )
            .order_by(rank, tickets.c.row_id)
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
