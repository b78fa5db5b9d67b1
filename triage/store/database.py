"""One engine per process, a SQLite file by default or PostgreSQL by URL, migrated by Alembic."""

from __future__ import annotations

import fcntl
import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry

from triage.core.errors import StoreCorruptError, StoreUnavailableError

if TYPE_CHECKING:
    from alembic.config import Config

    from triage.settings import Settings

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration under migrations/versions (a test keeps the two equal). A database
# already there is not handed to Alembic, whose import costs every worker ~0.2 s and ~11 MB.
HEAD_REVISION = "0023"


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3, the driver the project ships."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


BUSY_TIMEOUT_MS = 30_000  # how long a writer waits for another process's lock
MMAP_BYTES = 1 << 30  # address space, not memory: the OS pages the file in and out


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # WAL lets readers run beside the one writer; busy_timeout makes writers queue rather
    # than fail when several worker processes share the file.
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    _write_ahead_log(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Pages read through a memory map rather than copied in by a read() each: a search
    # reads a few hundred pages of a file far larger than the page cache (2 MB), and at
    # 100,000 tickets the copies were a quarter of its CPU time (benchmarks/README.md).
    cursor.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
    cursor.close()


def _write_ahead_log(cursor: Any) -> None:
    """``PRAGMA journal_mode=WAL``, retried while another process holds the file: on a new
    file, switching the mode answers "database is locked" at once, without waiting for the
    busy timeout, to all but one of the worker processes that start together (seen: a second
    uvicorn worker failing its start-up on a fresh data directory)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def _unavailable(exc: sa_exc.SQLAlchemyError) -> bool:
    # OperationalError: refused or dropped connections, a locked or full SQLite file;
    # TimeoutError: no pooled connection came free in time.
    if isinstance(exc, sa_exc.OperationalError | sa_exc.TimeoutError):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated


def _corrupt(exc: sa_exc.SQLAlchemyError) -> bool:
    # SQLite's SQLITE_CORRUPT and SQLITE_NOTADB: "database disk image is malformed",
    # "file is not a database".
    text = str(getattr(exc, "orig", exc)).lower()
    return isinstance(exc, sa_exc.DatabaseError) and (
        "malformed" in text or "not a database" in text
    )


def _first_line(exc: sa_exc.SQLAlchemyError) -> str:
    origin = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
    return (str(origin).strip().splitlines() or [type(origin).__name__])[0]


class Database:
    """The engine and its schema version. Every store module takes one of these."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(self.url, echo=echo)
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            # A database host that drops packets must fail a request within seconds (503 with
            # Retry-After), not hold it for the operating system's two-minute TCP timeout.
            connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": 5}
            self.engine = create_engine(
                self.url, echo=echo, pool_pre_ping=True, connect_args=connect_args
            )

    @classmethod
    def from_settings(cls, settings: Settings, *, upgrade: bool = True) -> Database:
        """The configured database, checked (a SQLite file, unless TRIAGE_INTEGRITY_CHECK is
        off) and migrated to the latest revision unless ``upgrade`` is False (every process
        does this at start; migrations are idempotent and locked)."""
        database = cls(settings.database())
        if settings.integrity_check:
            database.check_integrity()
        if upgrade:
            database.upgrade()
        return database

    def check_integrity(self) -> None:
        """SQLite's ``PRAGMA quick_check`` (every page read once: about 1 s per 500 MB
        cached, several from a cold disk); a damaged file raises :class:`StoreCorruptError`
        naming the first problem. PostgreSQL checks its own pages: nothing to do."""
        if self.dialect != "sqlite":
            return
        with self.begin() as connection:
            rows = [str(row[0]) for row in connection.execute(text("PRAGMA quick_check(5)"))]
        if rows != ["ok"]:
            lines = [line for row in rows for line in row.splitlines()]
            problems = [line for line in lines if not line.startswith("***")] or lines
            raise StoreCorruptError(
                f"the database {self.describe()} is damaged ({problems[0]}); restore it from "
                "a backup, or move it aside to start with an empty one",
                details={"problems": problems},
            )

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    def alembic_config(self) -> Config:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["engine"] = self.engine
        return config

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (idempotent; safe on every start).

        Several worker processes may start at once: PostgreSQL serialises them with an
        advisory lock (in ``migrations/env.py``), a SQLite file with a lock file beside it.
        """
        if self.revision() == HEAD_REVISION:
            return
        from alembic import command

        database = make_url(self.url).database
        if self.dialect != "sqlite" or not database or database == ":memory:":
            command.upgrade(self.alembic_config(), "head")
            return
        with open(f"{database}.migrate-lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                command.upgrade(self.alembic_config(), "head")
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def revision(self) -> str | None:
        """The schema's migration, as Alembic records it (None for an empty database)."""
        with self.engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            return None if found is None else str(found)

    def head_revision(self) -> str | None:
        """The newest migration Alembic finds in ``migrations/versions``."""
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction: committed when the block ends, rolled back if it raises.

        A database that cannot be reached (or a SQLite file that is locked or full) raises
        :class:`StoreUnavailableError`. A commit cut off this way may or may not have
        landed: callers retry idempotent writes (feedback is an upsert).
        """
        try:
            with self.engine.begin() as connection:
                yield connection
        except sa_exc.SQLAlchemyError as exc:
            if _corrupt(exc):
                log.error("database %s is damaged: %s", self.describe(), _first_line(exc))
                raise StoreCorruptError(
                    f"the database is damaged ({_first_line(exc)}); restore it from a backup"
                ) from exc
            if not _unavailable(exc):
                raise
            log.warning("database %s unavailable: %s", self.describe(), _first_line(exc))
            raise StoreUnavailableError("the database is unavailable; retry later") from exc

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.dispose()

    def describe(self) -> str:
        """The URL without its password, for logs."""
        return make_url(self.url).render_as_string(hide_password=True)
