"""The SQLAlchemy dialect whose ``insert`` has ``ON CONFLICT`` (upserts), for a database.

Imported when a database of that kind is first written: a worker on SQLite (the default)
never needs the PostgreSQL dialect, whose import cost ~60 ms of CPU of its start when every
store module imported both dialects.
"""

from __future__ import annotations

from types import ModuleType


def dialect_of(postgres: bool) -> ModuleType:
    """``sqlalchemy.dialects.postgresql`` if ``postgres``, else ``sqlalchemy.dialects.sqlite``."""
    if postgres:
        from sqlalchemy.dialects import postgresql

        return postgresql
    from sqlalchemy.dialects import sqlite

    return sqlite
