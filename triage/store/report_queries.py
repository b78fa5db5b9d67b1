"""The reports' reads: counts grouped in SQL over the per-ticket facts, with the percentiles
of a time in the same pass (computed by PostgreSQL, or here from the values SQLite groups)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa

from triage.store import report_rollups
from triage.store.database import Database
from triage.store.report_rollups import midnight
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


# SQLite seeks each row of an index range in the table: past this share of the rows a plain
# scan is cheaper (2.4 times at a whole year of a million events: benchmarks/README.md).
SCAN_SHARE = 0.2


class ReportQueries:
    """Read-only queries over ``ticket_facts``, ``ticket_head_facts`` and the per-day
    rollups of the facts (``use_rollups=False`` reads the facts alone: the tests compare)."""

    def __init__(self, database: Database, *, use_rollups: bool = True) -> None:
        self.database = database
        self.use_rollups = use_rollups

    def between(
        self, column: sa.ColumnElement[Any], window: Window
    ) -> list[sa.ColumnElement[bool]]:
        """``column`` in [since, until). On SQLite, when the window covers much of the
        history, the column is written ``+column``, which keeps SQLite from reading the rows
        through its index (it keeps no statistics of value ranges to judge this by itself)."""
        if self._scan(window):
            assert isinstance(column, sa.Column)
            column = sa.literal_column(f"+{column.table.name}.{column.name}", type_=column.type)
        return [column >= window.since, column < window.until]

    def open_at(self, at: datetime) -> list[sa.ColumnElement[bool]]:
        """Created before ``at`` and not resolved by then. A ticket has a resolved_at exactly
        while it is resolved; each side has an index (open tickets are few, and so are those
        resolved after ``at`` unless ``at`` is long ago). On SQLite ``created_at`` is written
        ``+created_at``: without statistics SQLite would read nearly every row through the
        index on created_at instead (0.73 s against 0.005 s at a million events)."""
        c = ticket_facts.c
        created: sa.ColumnElement[Any] = c.created_at
        if not self.database.is_postgres:
            created = sa.literal_column("+ticket_facts.created_at", type_=c.created_at.type)
        return [
            sa.or_(
                sa.and_(c.status == "open", created < at),
                sa.and_(c.resolved_at >= at, created < at),
            )
        ]

    def _scan(self, window: Window) -> bool:
        if self.database.is_postgres:
            return False
        c = ticket_facts.c
        with self.database.begin() as connection:
            first, last = connection.execute(
                sa.select(sa.func.min(c.created_at), sa.func.max(c.created_at))
            ).one()
        if first is None or last is None or last <= first:
            return False
        covered: timedelta = min(window.until, last) - max(window.since, first)
        span: timedelta = last - first
        return bool(covered / span >= SCAN_SHARE)

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
        quantiles: tuple[sa.ColumnElement[Any], Sequence[float]] | None = None,
    ) -> dict[Key, dict[str, Any]]:
        """``measures`` per group (and per ``extra`` column, e.g. a day, ahead of the key).

        ``quantiles`` (a column and the quantiles wanted): its linear-interpolated quantiles
        (as PostgreSQL's percentile_cont; nulls left out) per group, in the same pass over
        the rows, as measures ``q0``, ``q1``, … (None where a group has no value)."""
        table = ticket_head_facts if heads else ticket_facts
        dims = self._dims(window, HEAD_COLUMNS if heads else FACT_COLUMNS)
        keys = [*extra, *dims]
        columns = dict(measures)
        if quantiles is not None:
            column, wanted = quantiles
            if self.database.is_postgres:
                for i, q in enumerate(wanted):
                    columns[f"q{i}"] = sa.func.percentile_cont(q).within_group(column)
            else:
                # SQLite hands each group's values over as one string: far cheaper than a
                # row each (or than its own sort of them, for window functions).
                columns["_values"] = sa.func.group_concat(column)
        query = (
            sa.select(*keys, *(m.label(name) for name, m in columns.items()))
            .where(*where, *self._tenants(window, table))
            .group_by(*keys)
        )
        with self.database.begin() as connection:
            rows = connection.execute(query).all()
        width = len(keys)
        found = {tuple(row[:width]): dict(zip(columns, row[width:], strict=True)) for row in rows}
        if quantiles is not None:
            for values in found.values():
                figures = _figures(values, quantiles[1])
                values.update({f"q{i}": v for i, v in enumerate(figures)})
        return found

    def rolled(
        self,
        window: Window,
        family: str,
        *,
        per_day: bool = False,
        quantiles: Sequence[float] = (),
    ) -> dict[Key, dict[str, Any]] | None:
        """A family's counts (``report_rollups.MEASURES``) per group (and per day ahead of the
        key, if ``per_day``), and the quantiles of its durations as ``q0``, ``q1``, …: the
        whole days of the window from the rollups, the hours before the first midnight and
        after the last from the facts. None where the grouping is not rolled up."""
        dims = [name for name in window.group_by if name != "tenant"]
        grouping = report_rollups.grouping_of(dims)
        if not self.use_rollups or grouping is None:
            return None
        by_tenant = "tenant" in window.group_by
        order = [*(["tenant"] if by_tenant else []), *grouping]
        place = [order.index(name) for name in window.group_by]
        lead = 1 if per_day else 0
        first, end = math.ceil(_days(window.since)), math.floor(_days(window.until))
        found: dict[Key, dict[str, Any]] = {}
        values: dict[Key, list[Any]] = {}

        def add(key: Key, counts: Mapping[str, int], durations: Any) -> None:
            key = (*key[:lead], *(key[lead + i] for i in place))
            into = found.setdefault(key, dict.fromkeys(report_rollups.MEASURES[family], 0))
            for name, value in counts.items():
                into[name] += value
            values.setdefault(key, []).append(np.asarray(durations, dtype=np.float64))

        edges = [(window.since, window.until)]
        with self.database.begin() as connection:
            if first < end:
                edges = [(window.since, midnight(first)), (midnight(end), window.until)]
                for key, counts, durations in report_rollups.read(
                    connection,
                    family,
                    grouping,
                    first,
                    end,
                    by_tenant=by_tenant,
                    per_day=per_day,
                    tenants=window.tenants,
                    durations=bool(quantiles),
                ):
                    add(key, counts, durations)
            for since, until in edges:
                if since >= until:
                    continue
                rows = report_rollups.facts_between(
                    connection, family, since, until, window.tenants
                )
                for key, figures in report_rollups.figures_of(
                    family, rows, ["tenant", *grouping] if by_tenant else grouping, per_day
                ).items():
                    add(key, figures.counts, figures.durations)
        if not window.group_by and not per_day:  # as SQL's aggregate of no rows: one row
            add((), {}, ())
        for key, into in found.items():
            joined = np.concatenate(values[key])
            for i, q in enumerate(quantiles):
                into[f"q{i}"] = float(np.quantile(joined, q)) if joined.size else None
        return found

    def open_ages(
        self, window: Window, at: datetime
    ) -> list[tuple[Key, datetime, str | None, bool]]:
        """Tickets open at ``at``: their group, creation time, decision and whether reviewed."""
        dims = self._dims(window, FACT_COLUMNS)
        c = ticket_facts.c
        query = sa.select(*dims, c.created_at, c.decision, c.reviewed).where(
            *self.open_at(at), *self._tenants(window, ticket_facts)
        )
        width = len(dims)
        with self.database.begin() as connection:
            return [
                (tuple(row[:width]), row[width], row[width + 1], bool(row[width + 2]))
                for row in connection.execute(query)
            ]


def _days(at: datetime) -> float:
    """Days since 1970-01-01 (UTC) at ``at``, with the fraction of the day."""
    return (at - midnight(0)) / timedelta(days=1)


def _figures(values: dict[str, Any], quantiles: Sequence[float]) -> list[Any]:
    """A group's quantiles: PostgreSQL's (as floats), or computed from SQLite's values."""
    count = len(quantiles)
    if "_values" not in values:
        return [None if values[f"q{i}"] is None else float(values[f"q{i}"]) for i in range(count)]
    joined = values.pop("_values")
    return [None] * count if joined is None else _quantiles(joined, quantiles)


def _quantiles(joined: str, quantiles: Sequence[float]) -> list[float]:
    """Linear-interpolated quantiles (as PostgreSQL's percentile_cont) of comma-joined numbers."""
    values = np.array(joined.split(","), dtype=np.float64)
    return [float(v) for v in np.quantile(values, list(quantiles))]
