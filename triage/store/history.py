"""Which database and which point of its history a vector snapshot belongs to.

The embedded search saves its index beside the database and replays ``ticket_changes`` from
the change it was saved at. That is only right if the snapshot came from this database and
that change is still what it was: a database restored from a backup (older than the
snapshot), or replaced by another one, would otherwise be searched with vectors of tickets it
does not hold. :func:`store_id` names the database (made once, kept in ``store_meta``);
:func:`change_mark` says what one change was.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from triage.store.database import Database
from triage.store.dialects import dialect_of
from triage.store.schema import store_meta, ticket_changes


def store_id(database: Database) -> str:
    """This database's identity, made at first use (concurrent first uses agree)."""
    dialect = dialect_of(database.is_postgres)
    insert = dialect.insert(store_meta).values(key="store_id", value=uuid.uuid4().hex)
    with database.begin() as connection:
        connection.execute(insert.on_conflict_do_nothing(index_elements=["key"]))
        found = connection.execute(
            sa.select(store_meta.c.value).where(store_meta.c.key == "store_id")
        ).scalar_one()
    return str(found)


def change_mark(database: Database, seq: int) -> str | None:
    """Change ``seq`` as "row:deleted:time" ("" for 0, before any change), or None when the
    database has no such change."""
    if seq == 0:
        return ""
    with database.begin() as connection:
        row = connection.execute(
            sa.select(ticket_changes.c.row_id, ticket_changes.c.deleted, ticket_changes.c.at).where(
                ticket_changes.c.seq == seq
            )
        ).first()
    if row is None:
        return None
    return f"{int(row[0])}:{int(bool(row[1]))}:{row[2].isoformat()}"
