"""The reports' reads: counts grouped in SQL over the per-ticket facts, and the times behind
their percentiles (computed by PostgreSQL, or here from SQLite's sorted rows)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from triage.store.database import Database
from triage.store.schema import ticket_facts, ticket_head_facts

Key = tuple[Any, ...]

# A report's grouping dimension → the column holding it.
FACT_COLUMNS: dict[str, sa.ColumnElement[Any]] = {
    "category": ticket_facts.c.category,
    "tier": ticket_facts.c.tier,
    "priority": ticket_facts.c.priority,
    "group": ticket_facts.c.group_name,
    "agent": ticket_facts.c.agent,
    "language": ticket_facts.c.language,
    "channel": ticket_facts.c.channel,
    "tenant": ticket_facts.c.tenant,
    "source": ticket_facts.c.source,
}
HEAD_COLUMNS: dict[str, sa.ColumnElement[Any]] = {
    "head": ticket_head_facts.c.head,
    "source": ticket_head_facts.c.source,
    "tenant": ticket_head_facts.c.tenant,
}


@dataclass(frozen=True)
class Window:
    """Which tickets a report reads: times in [since, until), grouped by ``group_by``."""

    since: datetime
    until: datetime
    group_by: tuple[str, ...] = ()
    tenants: tuple[str, ...] | None = None  # None: every tenant


class ReportQueries:
    """Read-only queries over ``ticket_facts`` and ``ticket_head_facts``."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def _dims(self, window: Window, columns: dict[str, sa.ColumnElement[Any]]) -> list[Any]:
        return [columns[name].label(f"g_{i}") for i, name in enumerate(window.group_by)]

    def _tenants(self, window: Window, table: sa.Table) -> list[sa.ColumnElement[bool]]:
        return [] if window.tenants is None else [table.c.tenant.in_(window.tenants)]

    def grouped(
        self,
        window: Window,
        measures: Mapping[str, sa.ColumnElement[Any]],
        where: Sequence[sa.ColumnElement[bool]],
        *,
        extra: Sequence[sa.ColumnElement[Any]] = (),
        heads: bool = False,
    ) -> dict[Key, dict[str, Any]]:
        """``measures`` per group (and per ``extra`` column, e.g. a day, ahead of the key)."""
        table = ticket_head_facts if heads else ticket_facts
        dims = self._dims(window, HEAD_COLUMNS if heads else FACT_COLUMNS)
        keys = [*extra, *dims]
        query = (
            sa.select(*keys, *(m.label(name) for name, m in measures.items()))
            .where(*where, *self._tenants(window, table))
            .group_by(*keys)
        )
        with self.database.begin() as connection:
            rows = connection.execute(query).all()
        width = len(keys)
        return {tuple(row[:width]): dict(zip(measures, row[width:], strict=True)) for row in rows}

    def percentiles(
        self,
        window: Window,
        column: sa.ColumnElement[Any],
        where: Sequence[sa.ColumnElement[bool]],
        quantiles: Sequence[float] = (0.5, 0.9),
    ) -> dict[Key, list[float]]:
        """Linear-interpolated quantiles of ``column`` (non-null) per group."""
        dims = self._dims(window, FACT_COLUMNS)
        where = [*where, column.is_not(None), *self._tenants(window, ticket_facts)]
        width = len(dims)
        with self.database.begin() as connection:
            if self.database.is_postgres:
                measures = [sa.func.percentile_cont(q).within_group(column) for q in quantiles]
                query = sa.select(*dims, *measures).where(*where).group_by(*dims)
                return {
                    tuple(row[:width]): [float(v) for v in row[width:]]
                    for row in connection.execute(query)
                }
            rows = connection.execute(_ranks_query(dims, column, where, quantiles)).all()
        return _interpolated(rows, width, quantiles)

    def open_ages(
        self, window: Window, at: datetime
    ) -> list[tuple[Key, datetime, str | None, bool]]:
        """Tickets open at ``at``: their group, creation time, decision and whether reviewed."""
        dims = self._dims(window, FACT_COLUMNS)
        c = ticket_facts.c
        query = sa.select(*dims, c.created_at, c.decision, c.reviewed).where(
            *open_at(at), *self._tenants(window, ticket_facts)
        )
        width = len(dims)
        with self.database.begin() as connection:
            return [
                (tuple(row[:width]), row[width], row[width + 1], bool(row[width + 2]))
                for row in connection.execute(query)
            ]


def open_at(at: datetime) -> list[sa.ColumnElement[bool]]:
    """Created before ``at`` and not resolved by then. A ticket has a resolved_at exactly while
    it is resolved; the two sides each have an index (open tickets are few, and so are those
    resolved after ``at`` unless ``at`` is long ago)."""
    c = ticket_facts.c
    return [
        sa.or_(
            sa.and_(c.status == "open", c.created_at < at),
            sa.and_(c.resolved_at >= at, c.created_at < at),
        )
    ]


def _ranks_query(
    dims: Sequence[Any],
    column: sa.ColumnElement[Any],
    where: Sequence[sa.ColumnElement[bool]],
    quantiles: Sequence[float],
) -> sa.Select[Any]:
    """SQLite has no percentile function: rank the values in each group (window functions)
    and keep only the two ranks around each quantile, rather than send every value here."""
    partition = dims or None
    ranked = (
        sa.select(
            *dims,
            column.label("value"),
            sa.func.row_number().over(partition_by=partition, order_by=column).label("rank"),
            sa.func.count().over(partition_by=partition).label("n"),
        )
        .where(*where)
        .subquery()
    )
    wanted = []
    for q in quantiles:
        below = sa.cast((ranked.c.n - 1) * q, sa.Integer) + 1  # 1-based rank at or below
        wanted += [ranked.c.rank == below, ranked.c.rank == below + 1]
    keys = [ranked.c[f"g_{i}"] for i in range(len(dims))]
    return sa.select(*keys, ranked.c.n, ranked.c.rank, ranked.c.value).where(sa.or_(*wanted))


def _interpolated(
    rows: Sequence[sa.Row[Any]], width: int, quantiles: Sequence[float]
) -> dict[Key, list[float]]:
    """Each group's quantiles, linear between the two ranks around them (as NumPy and
    PostgreSQL's percentile_cont)."""
    values: dict[Key, dict[int, float]] = {}
    sizes: dict[Key, int] = {}
    for row in rows:
        key = tuple(row[:width])
        sizes[key] = int(row[width])
        values.setdefault(key, {})[int(row[width + 1])] = float(row[width + 2])
    found: dict[Key, list[float]] = {}
    for key, ranks in values.items():
        figures = []
        for q in quantiles:
            position = (sizes[key] - 1) * q
            below = int(position)
            low = ranks[below + 1]
            high = ranks.get(below + 2, low)
            figures.append(low + (position - below) * (high - low))
        found[key] = figures
    return found
