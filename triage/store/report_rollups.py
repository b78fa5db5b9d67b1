"""Per-day rollups of the per-ticket facts, kept in step with them: what the volume,
resolution, escalation and staff reports read instead of sorting a year of tickets.

A ticket counts in two families: ``created`` on the day it was created (the escalation
report, and the volume report's new tickets) and ``resolved`` on the day of its resolution
while it is resolved (the resolution and staff reports, and the volume report's resolved
tickets). A rollup row holds one family's counts for one day, tenant and grouping key, with
the durations of its tickets (exact, so medians and p90 are exact too). Groupings of none, one
or two of the ticket dimensions are rolled up; other groupings read the facts.

Whenever ``EventStore.add`` folds a ticket's facts again, it adds the difference between the
ticket's old and new facts to the rollups, in the same transaction: counts are added to (an
upsert, no read), and a duration that leaves a row is appended to it as its negative
(``-0.0`` for 0), which cancels it when the row is read; a rebuild writes the rows afresh,
without those. Duplicated, late and out-of-order events leave the rollups exact, as they
leave the facts.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import combinations
from typing import Any

import numpy as np
import sqlalchemy as sa

from triage.store.dialects import dialect_of
from triage.store.schema import report_day_rollups, ticket_facts

# A grouping dimension → its ticket_facts column (``tenant`` is part of every rollup key).
DIMENSIONS: dict[str, str] = {
    "category": "category",
    "tier": "tier",
    "priority": "priority",
    "group": "group_name",
    "agent": "agent",
    "language": "language",
    "channel": "channel",
}
GROUPINGS: tuple[tuple[str, ...], ...] = (
    (),
    *((name,) for name in DIMENSIONS),
    *combinations(DIMENSIONS, 2),
)
# Each family's counts, in the columns c0, c1, … of a rollup row.
MEASURES: dict[str, tuple[str, ...]] = {
    "created": ("tickets", "l1", "from_l1", "l2", "from_l2", "escalated", "predicted", "differs"),
    "resolved": ("resolved", "known", "at_l1", "with_tier", "escalated", "reopened"),
}
COUNT_COLUMNS = tuple(f"c{i}" for i in range(max(len(m) for m in MEASURES.values())))
_TIME = {"created": "created_at", "resolved": "resolved_at"}
_DAY = {"created": "created_day", "resolved": "resolved_day"}
_DURATION = {"created": "escalate_seconds", "resolved": "resolve_seconds"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ROWS = 2000  # rows inserted per statement
_DAYS = 31  # days computed at once by a rebuild (bounds its memory)


def midnight(day: int) -> datetime:
    """The moment a day (days since 1970-01-01, UTC) begins."""
    return _EPOCH + timedelta(days=day)


def grouping_of(dimensions: Sequence[str]) -> tuple[str, ...] | None:
    """The rolled-up grouping holding ``dimensions`` (in its own order), or None."""
    wanted = set(dimensions)
    for grouping in GROUPINGS:
        if set(grouping) == wanted:
            return grouping
    return None


def _counts(family: str, row: Mapping[Any, Any]) -> tuple[int, ...]:
    """One ticket's counts in ``family``: the same conditions as the reports' SQL over the
    facts (a NULL level compares as false there, as None does here)."""
    top = row["max_tier_level"]
    escalated = row["escalations"] > 0
    if family == "resolved":
        created, resolved = row["created_at"], row["resolved_at"]
        return (
            1,
            int(created is not None and created <= resolved),
            int(top == 1 and row["escalations"] == 0),
            int(top is not None),
            int(escalated),
            int(row["reopened"] > 0),
        )
    first_l1 = row["first_tier_level"] == 1
    reached_l2 = bool(row["reached_l2"])
    predicted = (
        row["status"] == "resolved"
        and row["predicted_tier"] is not None
        and row["tier"] is not None
    )
    return (
        1,
        int(first_l1),
        int(first_l1 and top is not None and top >= 2),
        int(reached_l2),
        int(reached_l2 and top is not None and top >= 3),
        int(escalated),
        int(predicted),
        int(predicted and row["predicted_tier"] != row["tier"]),
    )


@dataclass
class Figures:
    """A group's counts (by measure name) and its tickets' durations (None left out)."""

    counts: dict[str, int]
    durations: list[float] = field(default_factory=list)

    def add(self, counts: Iterable[int], durations: Iterable[float]) -> None:
        for name, value in zip(self.counts, counts, strict=False):
            self.counts[name] += value
        self.durations.extend(durations)


def _empty(family: str) -> Figures:
    return Figures(dict.fromkeys(MEASURES[family], 0))


def figures_of(
    family: str, rows: Iterable[Mapping[Any, Any]], dimensions: Sequence[str], per_day: bool
) -> dict[tuple[Any, ...], Figures]:
    """Facts rows summed by (day, if ``per_day``, then) the values of ``dimensions``."""
    found: dict[tuple[Any, ...], Figures] = {}
    columns = [DIMENSIONS.get(name, name) for name in dimensions]
    for row in rows:
        key = tuple(row[column] for column in columns)
        if per_day:
            key = (row[_DAY[family]], *key)
        duration = row[_DURATION[family]]
        found.setdefault(key, _empty(family)).add(
            _counts(family, row), () if duration is None else (duration,)
        )
    return found


def fact_columns() -> list[sa.ColumnElement[Any]]:
    names = {
        "tenant",
        "status",
        *_TIME.values(),
        *_DAY.values(),
        *_DURATION.values(),
        *DIMENSIONS.values(),
        "first_tier_level",
        "max_tier_level",
        "reached_l2",
        "escalations",
        "reopened",
        "predicted_tier",
    }
    return [ticket_facts.c[name] for name in sorted(names)]


def facts_between(
    connection: sa.Connection,
    family: str,
    since: datetime,
    until: datetime,
    tenants: Sequence[str] | None = None,
) -> Iterator[sa.RowMapping]:
    """The facts rows whose ``family`` time is in [since, until)."""
    time = ticket_facts.c[_TIME[family]]
    query = sa.select(*fact_columns()).where(time >= since, time < until)
    if tenants is not None:
        query = query.where(ticket_facts.c.tenant.in_(tenants))
    yield from connection.execute(query).mappings()


def _row(
    family: str,
    grouping: str,
    key: str,
    day: int,
    tenant: str,
    counts: Sequence[int],
    durations: str,
) -> dict[str, Any]:
    return {
        "family": family,
        "grouping": grouping,
        "key": key,
        "day": day,
        "tenant": tenant,
        **{c: counts[i] if i < len(counts) else 0 for i, c in enumerate(COUNT_COLUMNS)},
        "durations": durations or None,
    }


def _rollup_rows(family: str, rows: Sequence[Mapping[Any, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for grouping in GROUPINGS:
        by_key = figures_of(family, rows, ("tenant", *grouping), per_day=True)
        for (day, tenant, *values), figures in by_key.items():
            durations = ",".join(repr(float(d)) for d in sorted(figures.durations))
            counts = list(figures.counts.values())
            found.append(
                _row(family, ",".join(grouping), json.dumps(values), day, tenant, counts, durations)
            )
    return found


def _insert(connection: sa.Connection, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _ROWS):
        connection.execute(sa.insert(report_day_rollups), rows[start : start + _ROWS])


# A rollup row's primary key → the counts and the durations (as written) to add to it.
Delta = dict[tuple[str, str, str, int, str], tuple[list[int], list[str]]]


def contribute(delta: Delta, row: Mapping[Any, Any], sign: int) -> None:
    """Add (``sign`` 1) or take away (-1) one facts row's part in every rollup row."""
    for family, names in MEASURES.items():
        day = row[_DAY[family]]
        if day is None:
            continue
        counts = _counts(family, row)
        duration = row[_DURATION[family]]
        text = None if duration is None else repr(sign * float(duration))
        dimensions = tuple(row[column] for column in DIMENSIONS.values())
        for grouping, key in _keys(dimensions):
            into = delta.setdefault(
                (family, grouping, key, day, row["tenant"]), ([0] * len(names), [])
            )
            for i, count in enumerate(counts):
                into[0][i] += sign * count
            if text is not None:
                into[1].append(text)


_PLACES = [[list(DIMENSIONS).index(name) for name in grouping] for grouping in GROUPINGS]


@functools.lru_cache(maxsize=4096)
def _keys(dimensions: tuple[Any, ...]) -> list[tuple[str, str]]:
    """Each grouping (comma-joined) with its key (a JSON list) for one ticket's dimensions."""
    return [
        (",".join(grouping), json.dumps([dimensions[i] for i in places]))
        for grouping, places in zip(GROUPINGS, _PLACES, strict=True)
    ]


def _cancelled(counts: list[int], durations: list[str]) -> bool:
    """Nothing to add: a ticket left the row and joined it again unchanged."""
    plus = sorted(d for d in durations if not d.startswith("-"))
    return not any(counts) and plus == sorted(d[1:] for d in durations if d.startswith("-"))


def apply(connection: sa.Connection, delta: Delta) -> None:
    """Add a delta to the rollups, with one upsert per row changed."""
    rows = [
        _row(*key, counts, ",".join(durations))
        for key, (counts, durations) in delta.items()
        if not _cancelled(counts, durations)
    ]
    if not rows:
        return
    dialect: Any = dialect_of(connection.dialect.name == "postgresql")
    statement = dialect.insert(report_day_rollups)
    r, new = report_day_rollups.c, statement.excluded
    upsert = statement.on_conflict_do_update(
        index_elements=[c.name for c in report_day_rollups.primary_key],
        set_={
            **{c: r[c] + new[c] for c in COUNT_COLUMNS},
            "durations": sa.case(
                (r.durations.is_(None), new.durations),
                (new.durations.is_(None), r.durations),
                else_=r.durations + "," + new.durations,
            ),
        },
    )
    for start in range(0, len(rows), _ROWS):
        connection.execute(upsert, rows[start : start + _ROWS])


def rebuild(connection: sa.Connection) -> None:
    """Every rollup row again from the facts (a migration's backfill; a bulk load's end)."""
    connection.execute(sa.delete(report_day_rollups))
    c = ticket_facts.c
    for family in MEASURES:
        day = c[_DAY[family]]
        first, last = connection.execute(sa.select(sa.func.min(day), sa.func.max(day))).one()
        if first is None:
            continue
        for start in range(first, last + 1, _DAYS):
            end = min(start + _DAYS, last + 1)
            rows = list(facts_between(connection, family, midnight(start), midnight(end)))
            _insert(connection, _rollup_rows(family, rows))


def durations_of(text: str | None) -> np.ndarray:
    """A rollup's comma-joined durations, those taken away (negative) cancelling theirs."""
    if not text:
        return np.empty(0)
    values = np.array(text.split(","), dtype=np.float64)
    gone = np.signbit(values)
    if not gone.any():
        return values
    kept, counts = np.unique(values[~gone], return_counts=True)
    taken, times = np.unique(-values[gone], return_counts=True)
    counts[np.searchsorted(kept, taken)] -= times
    return np.repeat(kept, counts)


def read(
    connection: sa.Connection,
    family: str,
    grouping: tuple[str, ...],
    first: int,
    end: int,
    *,
    by_tenant: bool,
    per_day: bool,
    tenants: Sequence[str] | None,
    durations: bool,
) -> Iterator[tuple[tuple[Any, ...], dict[str, int], np.ndarray]]:
    """Days [first, end) of a grouping summed by (day,) (tenant,) key: its counts by name and
    its durations. Groups whose tickets all left them are left out."""
    r = report_day_rollups.c
    # Rows are read in the primary key's order (family, grouping, key, day): grouped by key
    # (and day), SQLite needs no sort. Grouped by tenant too, it sorts the few rows read.
    keys: list[sa.ColumnElement[Any]] = [
        *([r.tenant] if by_tenant else []),
        r.key,
        *([r.day] if per_day else []),
    ]
    names = MEASURES[family]
    sums = [sa.func.sum(r[f"c{i}"]) for i in range(len(names))]
    joined: list[sa.ColumnElement[Any]] = []
    if durations:
        joined = [sa.func.string_agg(r.durations, ",")]
        if connection.dialect.name == "sqlite":
            joined = [sa.func.group_concat(r.durations, ",")]
    query = (
        sa.select(*keys, *sums, *joined)
        .where(
            r.family == family,
            r.grouping == ",".join(grouping),
            r.day >= first,
            r.day < end,
        )
        .group_by(*keys)
    )
    if tenants is not None:
        query = query.where(r.tenant.in_(tenants))
    width = len(keys)
    for row in connection.execute(query):
        fields = dict(zip((k.key for k in keys), row[:width], strict=True))
        counts = {name: int(value or 0) for name, value in zip(names, row[width:], strict=False)}
        if not counts[names[0]]:
            continue
        key: tuple[Any, ...] = tuple(json.loads(fields["key"]))
        if by_tenant:
            key = (fields["tenant"], *key)
        if per_day:
            key = (fields["day"], *key)
        yield key, counts, durations_of(row[-1] if durations else None)
