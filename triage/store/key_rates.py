"""Each API key's request rate, counted in the database so that every worker and replica
sharing it holds a key to one limit (issue 24: each process used to count its own, so N
workers let a key send N times its rate).

The generic cell rate algorithm (GCRA): a key's row keeps its *theoretical arrival time*
``tat`` (Unix seconds). A key allowed ``rate`` requests a minute may send one every
``60 / rate`` seconds and a burst of ``rate`` at once, as the per-process token bucket a minute
deep did. A request at ``now`` is allowed when ``max(tat, now) - now`` is at most the burst
tolerance ``60 - 60 / rate``; it then moves ``tat`` on by ``60 / rate``. The test and the move are
one ``UPDATE … WHERE … RETURNING``, so two processes can never both take the last place.
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from triage.store.database import Database
from triage.store.dialects import dialect_of
from triage.store.schema import key_rates


class KeyRateStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def take(self, key_name: str, rate_per_minute: int, now: float | None = None) -> float:
        """0.0 and one request counted for the key, or the seconds until it may send again
        (nothing counted)."""
        now = time.time() if now is None else now
        interval = 60.0 / rate_per_minute
        tolerance = 60.0 - interval
        row = key_rates.c
        start = sa.case((row.tat > now, row.tat), else_=sa.literal(now))
        move = (
            key_rates.update()
            .where(row.key_name == key_name, start - now <= tolerance)
            .values(tat=start + interval)
            .returning(row.tat)
        )
        dialect = dialect_of(self.database.is_postgres)
        first = (
            dialect.insert(key_rates)
            .values(key_name=key_name, tat=now + interval)
            .on_conflict_do_nothing(index_elements=["key_name"])
            .returning(row.tat)
        )
        wait = 0.0
        # A second round only when another process inserted the key's row between this
        # one's two statements (its update found no row, its insert a conflict).
        for _ in range(2):
            with self.database.begin() as connection:
                if connection.execute(move).first() or connection.execute(first).first():
                    return 0.0
                tat = float(
                    connection.execute(
                        sa.select(row.tat).where(row.key_name == key_name)
                    ).scalar_one()
                )
            wait = max(tat, now) - now - tolerance
            if wait > 0:
                return wait
        return max(wait, 1e-3)
