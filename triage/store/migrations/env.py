"""Alembic environment: runs on the engine the application hands over (never a config URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, text

from triage.store.schema import metadata

engine: Engine = context.config.attributes["engine"]

# Any constant: workers starting together run the migrations one after the other.
MIGRATION_LOCK = 7_402_315

with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
