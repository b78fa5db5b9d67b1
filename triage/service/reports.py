"""Reports on the helpdesk's work, from the ticket events: one use case for every edge.

Every report is a table (``Report.columns``, ``Report.rows``) over a window [since, until):
the API serves it as JSON or CSV, the staff page draws it. Times are in hours. A share is
None where its denominator is zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

import numpy as np
import sqlalchemy as sa

from triage.core.errors import InvalidReportQueryError, ReportNotFoundError
from triage.store.database import Database
from triage.store.report_queries import HEAD_COLUMNS, Key, ReportQueries, Window
from triage.store.schema import ticket_facts, ticket_head_facts, utcnow

DEFAULT_DAYS = 30
MAX_BUCKETS = 1000
DEFAULT_DEFLECTION_THRESHOLD = 0.8
AGE_BANDS = (("under_1d", 1), ("d1_3", 3), ("d3_7", 7), ("d7_30", 30), ("over_30d", None))


class Bucket(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


TICKET_DIMENSIONS = ("category", "tier", "priority", "group", "agent", "language", "channel")
GROUPINGS: dict[str, tuple[str, ...]] = {
    "volume": (*TICKET_DIMENSIONS, "tenant"),
    "resolution": (*TICKET_DIMENSIONS, "tenant"),
    "escalation": (*TICKET_DIMENSIONS, "tenant"),
    "backlog": (*TICKET_DIMENSIONS, "tenant"),
    "staff": ("agent", "group", "tier", "category", "tenant"),
    "automation": tuple(HEAD_COLUMNS),
    "deflection": (*TICKET_DIMENSIONS, "source", "tenant"),
}
REPORTS = tuple(GROUPINGS)
# Each report's figures, after its grouping columns (and the volume report's period).
COLUMNS: dict[str, tuple[str, ...]] = {
    "volume": ("new", "resolved", "backlog"),
    "resolution": (
        "resolved",
        "median_hours",
        "p90_hours",
        "resolved_at_l1",
        "share_resolved_at_l1",
    ),
    "escalation": (
        "tickets",
        "started_at_l1",
        "escalated_from_l1",
        "rate_l1_l2",
        "reached_l2",
        "escalated_from_l2",
        "rate_l2_l3",
        "escalated",
        "median_hours_to_escalate",
        "p90_hours_to_escalate",
        "resolved_with_prediction",
        "predicted_tier_differs",
        "share_predicted_tier_differs",
    ),
    "backlog": (
        "open",
        *(band for band, _ in AGE_BANDS),
        "median_age_hours",
        "oldest_age_hours",
        "waiting_review",
    ),
    "staff": (
        "resolved",
        "median_hours",
        "escalated",
        "share_escalated",
        "reopened",
        "share_reopened",
    ),
    "automation": (
        "received",
        "auto",
        "share_auto",
        "written_back",
        "reviewed",
        "kept",
        "corrected",
        "share_kept",
    ),
    "deflection": ("triaged", "with_match_score", "deflectable", "share_deflectable"),
}
DEFAULT_GROUPING: dict[str, tuple[str, ...]] = {"staff": ("agent",), "automation": ("head",)}


@dataclass(frozen=True)
class ReportQuery:
    """What a caller asks for; ``group_by`` is a comma-separated list of dimensions."""

    since: datetime | None = None
    until: datetime | None = None
    bucket: str = Bucket.DAY.value
    group_by: str | None = None
    tenants: tuple[str, ...] | None = None
    threshold: float = DEFAULT_DEFLECTION_THRESHOLD


@dataclass(frozen=True)
class Report:
    """One report: a table of ``rows``, each a dict with every name in ``columns``."""

    name: str
    since: datetime
    until: datetime
    bucket: str
    group_by: tuple[str, ...]
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]


def _aware(value: datetime) -> datetime:
    return (value if value.tzinfo else value.astimezone()).astimezone(UTC)


def _share(part: int | None, whole: int | None) -> float | None:
    return round(part / whole, 4) if part is not None and whole else None


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 3)


def _bucket_start(day: date, bucket: Bucket) -> date:
    if bucket is Bucket.WEEK:
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if bucket is Bucket.MONTH:
        return day.replace(day=1)
    return day


def _next_bucket(start: date, bucket: Bucket) -> date:
    if bucket is Bucket.DAY:
        return start + timedelta(days=1)
    if bucket is Bucket.WEEK:
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def _buckets(since: datetime, until: datetime, bucket: Bucket) -> list[tuple[date, datetime]]:
    """Each bucket's first day and the moment it ends (``until`` for the last one)."""
    found: list[tuple[date, datetime]] = []
    start = _bucket_start(since.date(), bucket)
    while datetime.combine(start, datetime.min.time(), UTC) < until:
        following = _next_bucket(start, bucket)
        found.append((start, min(datetime.combine(following, datetime.min.time(), UTC), until)))
        start = following
        if len(found) > MAX_BUCKETS:
            raise InvalidReportQueryError(
                f"more than {MAX_BUCKETS} {bucket.value} buckets: choose a larger bucket or a "
                "shorter window",
                details={"bucket": bucket.value, "limit": MAX_BUCKETS},
            )
    return found


def _sort_key(key: Key) -> tuple[tuple[bool, str], ...]:
    return tuple((value is None, str(value)) for value in key)


class ReportService:
    """Builds the reports from :class:`ReportQueries` over the event store's facts."""

    def __init__(self, database: Database, *, use_rollups: bool = True) -> None:
        self.queries = ReportQueries(database, use_rollups=use_rollups)
        self._builders: dict[str, Callable[[Window, ReportQuery], list[dict[str, Any]]]] = {
            "volume": self._volume,
            "resolution": self._resolution,
            "escalation": self._escalation,
            "backlog": self._backlog,
            "staff": self._staff,
            "automation": self._automation,
            "deflection": self._deflection,
        }

    def run(self, name: str, query: ReportQuery, *, now: datetime | None = None) -> Report:
        """The report ``name`` (unknown: :class:`ReportNotFoundError`; bad query: 422)."""
        if name not in self._builders:
            raise ReportNotFoundError(
                f"no report {name!r}; the reports: {', '.join(REPORTS)}",
                details={"reports": list(REPORTS)},
            )
        window = self.window(name, query, now=now)
        rows = self._builders[name](window, query)
        lead = ("period",) if name == "volume" else ()
        columns = (*lead, *window.group_by, *COLUMNS[name])
        return Report(
            name, window.since, window.until, query.bucket, window.group_by, columns, rows
        )

    def window(self, name: str, query: ReportQuery, *, now: datetime | None = None) -> Window:
        """The validated window and grouping of ``query`` for report ``name``."""
        until = _aware(query.until) if query.until else (now or utcnow())
        since = _aware(query.since) if query.since else until - timedelta(days=DEFAULT_DAYS)
        if since >= until:
            raise InvalidReportQueryError(
                "'since' must be earlier than 'until'",
                details={"since": since.isoformat(), "until": until.isoformat()},
            )
        if query.bucket not in Bucket.__members__.values():
            raise InvalidReportQueryError(
                f"unknown bucket {query.bucket!r}; use day, week or month",
                details={"bucket": query.bucket, "allowed": [b.value for b in Bucket]},
            )
        group_by = self._grouping(name, query.group_by)
        if not 0.0 <= query.threshold <= 1.0:
            raise InvalidReportQueryError(
                "'threshold' must be between 0 and 1", details={"threshold": query.threshold}
            )
        return Window(since, until, group_by, query.tenants)

    @staticmethod
    def _grouping(name: str, group_by: str | None) -> tuple[str, ...]:
        if group_by is None:
            return DEFAULT_GROUPING.get(name, ())
        names = tuple(part.strip() for part in group_by.split(",") if part.strip())
        allowed = GROUPINGS[name]
        unknown = [part for part in names if part not in allowed]
        if unknown or len(set(names)) != len(names):
            raise InvalidReportQueryError(
                f"the {name} report cannot be grouped by {group_by!r}; it can be by "
                f"{', '.join(allowed)} (comma-separated, each once)",
                details={"group_by": group_by, "allowed": list(allowed)},
            )
        return names

    def _between(
        self, column: sa.ColumnElement[Any], window: Window
    ) -> list[sa.ColumnElement[bool]]:
        return self.queries.between(column, window)

    def _keyed(self, window: Window, key: Key) -> dict[str, Any]:
        return dict(zip(window.group_by, key, strict=True))

    def _volume(self, window: Window, query: ReportQuery) -> list[dict[str, Any]]:
        bucket = Bucket(query.bucket)
        c = ticket_facts.c
        count = {"n": sa.func.count()}
        opening = self.queries.grouped(window, count, self.queries.open_at(window.since))
        rolled_new = self.queries.rolled(window, "created", per_day=True)
        rolled_resolved = self.queries.rolled(window, "resolved", per_day=True)
        if rolled_new is not None and rolled_resolved is not None:
            new = {key: {"n": found["tickets"]} for key, found in rolled_new.items()}
            resolved = {
                key: {"n": found["resolved"], "known": found["known"]}
                for key, found in rolled_resolved.items()
            }
        else:
            new = self.queries.grouped(
                window, count, self._between(c.created_at, window), extra=[c.created_day]
            )
            known = sa.and_(c.created_at.is_not(None), c.created_at <= c.resolved_at)
            resolved = self.queries.grouped(
                window,
                {"n": sa.func.count(), "known": _count_if(known)},
                self._between(c.resolved_at, window),  # a resolved_at only while resolved
                extra=[c.resolved_day],
            )
        groups = {key[1:] for key in (*new, *resolved)} | set(opening)
        if not window.group_by:
            groups.add(())
        rows: list[dict[str, Any]] = []
        for group in sorted(groups, key=_sort_key):
            backlog = int(opening.get(group, {}).get("n", 0))
            for start, end in _buckets(window.since, window.until, bucket):
                first, last = _day(start), _day(end.date()) + (end.time() != time.min)
                added = sum(int(new.get((d, *group), {}).get("n", 0)) for d in range(first, last))
                done = [resolved.get((d, *group), {}) for d in range(first, last)]
                backlog += added - sum(int(found.get("known", 0)) for found in done)
                rows.append(
                    {
                        "period": start.isoformat(),
                        **self._keyed(window, group),
                        "new": added,
                        "resolved": sum(int(found.get("n", 0)) for found in done),
                        "backlog": backlog,
                    }
                )
        return rows

    def _resolution(self, window: Window, query: ReportQuery) -> list[dict[str, Any]]:
        c = ticket_facts.c
        where = self._between(c.resolved_at, window)  # a resolved_at only while resolved
        at_l1 = sa.and_(c.max_tier_level == 1, c.escalations == 0)
        counts = self.queries.rolled(window, "resolved", quantiles=(0.5, 0.9))
        if counts is None:
            counts = self.queries.grouped(
                window,
                {
                    "resolved": sa.func.count(),
                    "at_l1": _count_if(at_l1),
                    "with_tier": _count_if(c.max_tier_level.is_not(None)),
                },
                where,
                quantiles=(c.resolve_seconds, (0.5, 0.9)),
            )
        return [
            {
                **self._keyed(window, key),
                "resolved": int(found["resolved"]),
                "median_hours": _hours(found["q0"]),
                "p90_hours": _hours(found["q1"]),
                "resolved_at_l1": int(found["at_l1"]),
                "share_resolved_at_l1": _share(int(found["at_l1"]), int(found["with_tier"])),
            }
            for key, found in sorted(counts.items(), key=lambda item: _sort_key(item[0]))
        ]

    def _escalation(self, window: Window, query: ReportQuery) -> list[dict[str, Any]]:
        c = ticket_facts.c
        where = self._between(c.created_at, window)
        predicted = sa.and_(
            c.status == "resolved", c.predicted_tier.is_not(None), c.tier.is_not(None)
        )
        counts = self.queries.rolled(window, "created", quantiles=(0.5, 0.9))
        if counts is None:
            counts = self.queries.grouped(
                window,
                {
                    "tickets": sa.func.count(),
                    "l1": _count_if(c.first_tier_level == 1),
                    "from_l1": _count_if(sa.and_(c.first_tier_level == 1, c.max_tier_level >= 2)),
                    "l2": _count_if(c.reached_l2),
                    "from_l2": _count_if(sa.and_(c.reached_l2, c.max_tier_level >= 3)),
                    "escalated": _count_if(c.escalations > 0),
                    "predicted": _count_if(predicted),
                    "differs": _count_if(sa.and_(predicted, c.predicted_tier != c.tier)),
                },
                where,
                quantiles=(c.escalate_seconds, (0.5, 0.9)),
            )
        rows = []
        for key, found in sorted(counts.items(), key=lambda item: _sort_key(item[0])):
            median, p90 = found.pop("q0"), found.pop("q1")
            n = {name: int(value) for name, value in found.items()}
            rows.append(
                {
                    **self._keyed(window, key),
                    "tickets": n["tickets"],
                    "started_at_l1": n["l1"],
                    "escalated_from_l1": n["from_l1"],
                    "rate_l1_l2": _share(n["from_l1"], n["l1"]),
                    "reached_l2": n["l2"],
                    "escalated_from_l2": n["from_l2"],
                    "rate_l2_l3": _share(n["from_l2"], n["l2"]),
                    "escalated": n["escalated"],
                    "median_hours_to_escalate": _hours(median),
                    "p90_hours_to_escalate": _hours(p90),
                    "resolved_with_prediction": n["predicted"],
                    "predicted_tier_differs": n["differs"],
                    "share_predicted_tier_differs": _share(n["differs"], n["predicted"]),
                }
            )
        return rows

    def _backlog(self, window: Window, query: ReportQuery) -> list[dict[str, Any]]:
        """Tickets open at ``until``, by age; ``since`` plays no part."""
        groups: dict[Key, list[tuple[float, bool]]] = {}
        for key, created_at, decision, reviewed in self.queries.open_ages(window, window.until):
            waiting = decision in ("review", "suggest") and not reviewed
            age = (window.until - created_at).total_seconds()
            groups.setdefault(key, []).append((age, waiting))
        rows: list[dict[str, Any]] = []
        if not groups and not window.group_by:
            empty = dict.fromkeys(COLUMNS["backlog"], 0)
            return [{**empty, "median_age_hours": None, "oldest_age_hours": None}]
        for key, tickets in sorted(groups.items(), key=lambda item: _sort_key(item[0])):
            ages = np.array([age for age, _ in tickets], dtype=np.float64)
            bands: dict[str, int] = {}
            low = 0.0
            for band, days in AGE_BANDS:
                high = float("inf") if days is None else days * 86400.0
                bands[band] = int(((ages >= low) & (ages < high)).sum())
                low = high
            rows.append(
                {
                    **self._keyed(window, key),
                    "open": len(tickets),
                    **bands,
                    "median_age_hours": _hours(float(np.quantile(ages, 0.5))),
                    "oldest_age_hours": _hours(float(ages.max())),
                    "waiting_review": sum(waiting for _, waiting in tickets),
                }
            )
        return rows

    def _staff(self, window: Window, query: ReportQuery) -> list[dict[str, Any]]:
        c = ticket_facts.c
        where = self._between(c.resolved_at, window)  # a resolved_at only while resolved
        counts = self.queries.rolled(window, "resolved", quantiles=(0.5,))
        if counts is None:
            counts = self.queries.grouped(
                window,
                {
                    "resolved": sa.func.count(),
                    "escalated": _count_if(c.escalations > 0),
                    "reopened": _count_if(c.reopened > 0),
                },
                where,
                quantiles=(c.resolve_seconds, (0.5,)),
            )
        return [
            {
                **self._keyed(window, key),
                "resolved": int(found["resolved"]),
                "median_hours": _hours(found["q0"]),
                "escalated": int(found["escalated"]),
                "share_escalated": _share(int(found["escalated"]), int(found["resolved"])),
                "reopened": int(found["reopened"]),
                "share_reopened": _share(int(found["reopened"]), int(found["resolved"])),
            }
            for key, found in sorted(counts.items(), key=lambda item: _sort_key(item[0]))
        ]

    def _automation(self, window: Window, query: ReportQuery) -> list[dict[str, Any]]:
        h = ticket_head_facts.c
        counts = self.queries.grouped(
            window,
            {
                "received": sa.func.count(),
                "auto": _count_if(h.decision == "auto"),
                "written_back": _count_if(h.written_back),
                "reviewed": _count_if(h.final.is_not(None)),
                "kept": _count_if(h.kept.is_(True)),
                "corrected": _count_if(h.kept.is_(False)),
            },
            self._between(h.triaged_at, window),
            heads=True,
        )
        rows = []
        for key, found in sorted(counts.items(), key=lambda item: _sort_key(item[0])):
            n = {name: int(value) for name, value in found.items()}
            rows.append(
                {
                    **self._keyed(window, key),
                    "received": n["received"],
                    "auto": n["auto"],
                    "share_auto": _share(n["auto"], n["received"]),
                    "written_back": n["written_back"],
                    "reviewed": n["reviewed"],
                    "kept": n["kept"],
                    "corrected": n["corrected"],
                    "share_kept": _share(n["kept"], n["reviewed"]),
                }
            )
        return rows

    def _deflection(self, window: Window, query: ReportQuery) -> list[dict[str, Any]]:
        """Triaged tickets whose best resolved match scored at least ``threshold``, of those
        whose matches were searched (a job's or a webhook's tickets are classified only)."""
        c = ticket_facts.c
        counts = self.queries.grouped(
            window,
            {
                "triaged": sa.func.count(),
                "scored": _count_if(c.match_score.is_not(None)),
                "deflectable": _count_if(c.match_score >= query.threshold),
            },
            self._between(c.triaged_at, window),
        )
        return [
            {
                **self._keyed(window, key),
                "triaged": int(found["triaged"]),
                "with_match_score": int(found["scored"]),
                "deflectable": int(found["deflectable"]),
                "share_deflectable": _share(int(found["deflectable"]), int(found["scored"])),
            }
            for key, found in sorted(counts.items(), key=lambda item: _sort_key(item[0]))
        ]


def _count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


_EPOCH_DAY = date(1970, 1, 1)


def _day(value: date) -> int:
    return (value - _EPOCH_DAY).days


__all__: Sequence[str] = ("REPORTS", "Bucket", "Report", "ReportQuery", "ReportService")
