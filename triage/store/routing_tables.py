"""Routing tables as served, one row per version (issue 20)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from triage.store.database import Database
from triage.store.schema import routing_tables, utcnow


@dataclass(frozen=True)
class StoredTable:
    version: int
    text: str
    sha256: str
    source: str
    author: str | None
    created_at: datetime


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _stored(row: sa.RowMapping) -> StoredTable:
    return StoredTable(
        version=int(row["version"]),
        text=row["text"],
        sha256=row["sha256"],
        source=row["source"],
        author=row["author"],
        created_at=row["created_at"],
    )


class RoutingTableStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def add(self, text: str, *, source: str, author: str | None = None) -> StoredTable:
        """Keep ``text`` as the newest version; committed on return."""
        values = {
            "text": text,
            "sha256": text_sha256(text),
            "source": source,
            "author": author,
            "created_at": utcnow(),
        }
        with self.database.begin() as connection:
            version = connection.execute(
                routing_tables.insert().values(**values).returning(routing_tables.c.version)
            ).scalar_one()
        return StoredTable(version=int(version), **values)  # type: ignore[arg-type]

    def latest(self, count: int = 1) -> list[StoredTable]:
        """The newest ``count`` versions, newest first."""
        query = sa.select(routing_tables).order_by(routing_tables.c.version.desc()).limit(count)
        with self.database.begin() as connection:
            return [_stored(row) for row in connection.execute(query).mappings()]

    def latest_from(self, source: str) -> StoredTable | None:
        """The newest version that came from ``source``."""
        query = (
            sa.select(routing_tables)
            .where(routing_tables.c.source == source)
            .order_by(routing_tables.c.version.desc())
            .limit(1)
        )
        with self.database.begin() as connection:
            row = connection.execute(query).mappings().first()
        return None if row is None else _stored(row)
