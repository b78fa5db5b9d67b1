"""The leadership report's content: this period's reports and its headline figures set
against the period of the same length just before it (what a helpdesk lead reads on Monday).

Every figure is read from the reports of :mod:`triage.service.reports`, ungrouped, so the
summary and the tables can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from triage.service.reports import Bucket, Report, ReportQuery, ReportService

# What the Reports tab and the leadership report show of each report, grouped how.
SHOWN_REPORTS: tuple[tuple[str, str | None], ...] = (
    ("resolution", "tier"),
    ("escalation", None),
    ("backlog", None),
    ("staff", "agent"),
    ("automation", "head"),
    ("deflection", None),
)
# A move this large (relative for counts and hours, in points for shares) is worth a sentence.
NOTABLE_CHANGE = 0.10
NOTABLE_POINTS = 0.05

Better = Literal["higher", "lower"]
# figure: (report, column, how the report's rows give it, which way is better)
_FIGURES: tuple[tuple[str, str, str, str, Better], ...] = (
    ("new", "volume", "new", "sum", "lower"),
    ("resolved", "volume", "resolved", "sum", "higher"),
    ("backlog", "volume", "backlog", "last", "lower"),
    ("median_hours", "resolution", "median_hours", "one", "lower"),
    ("share_resolved_at_l1", "resolution", "share_resolved_at_l1", "one", "higher"),
    ("rate_l1_l2", "escalation", "rate_l1_l2", "one", "lower"),
    ("share_reopened", "staff", "share_reopened", "one", "lower"),
    ("share_auto", "automation", "share_auto", "one", "higher"),
    ("share_deflectable", "deflection", "share_deflectable", "one", "higher"),
)


@dataclass(frozen=True)
class Change:
    """One headline figure in this period and the one before (None: nothing to measure)."""

    figure: str
    current: float | None
    previous: float | None
    better: Better

    @property
    def is_share(self) -> bool:
        return self.figure.startswith(("share_", "rate_"))

    @property
    def delta(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return round(self.current - self.previous, 4)

    @property
    def relative(self) -> float | None:
        """The change as a fraction of the previous value (None from zero)."""
        if self.delta is None or not self.previous:
            return None
        return round(self.delta / abs(self.previous), 4)

    @property
    def notable(self) -> bool:
        if self.delta is None or self.delta == 0:
            return False
        if self.is_share:
            return abs(self.delta) >= NOTABLE_POINTS
        return self.relative is None or abs(self.relative) >= NOTABLE_CHANGE

    @property
    def trend(self) -> Literal["better", "worse", "same"] | None:
        if self.delta is None:
            return None
        if self.delta == 0:
            return "same"
        return "better" if (self.delta > 0) == (self.better == "higher") else "worse"


@dataclass(frozen=True)
class OpsReport:
    """This period [since, until), the previous one [previous_since, since), the headline
    figures of both, and this period's reports."""

    since: datetime
    until: datetime
    previous_since: datetime
    changes: list[Change]
    volume: Report
    tables: list[tuple[str, Report]]

    @property
    def notable(self) -> list[Change]:
        return [change for change in self.changes if change.notable]


def bucket_for(days: int) -> Bucket:
    """Days up to a month by day, up to half a year by week, longer by month."""
    if days <= 31:
        return Bucket.DAY
    return Bucket.WEEK if days <= 183 else Bucket.MONTH


def _figure(report: Report, column: str, how: str) -> float | None:
    values = [row[column] for row in report.rows]
    if not values:
        return None
    if how == "sum":
        return float(sum(values))
    if how == "last":
        return float(values[-1])
    value = values[0]
    return None if value is None else float(value)


def _headline(reports: ReportService, since: datetime, until: datetime) -> dict[str, Any]:
    """The ungrouped reports over [since, until), each run once."""
    bucket = bucket_for(max(1, (until - since).days)).value
    names = {report for _, report, _, _, _ in _FIGURES}
    return {
        name: reports.run(name, ReportQuery(since=since, until=until, bucket=bucket, group_by=""))
        for name in names
    }


def ops_report(reports: ReportService, *, days: int, until: datetime) -> OpsReport:
    """The leadership report over the ``days`` before ``until``, against the ``days`` before."""
    since = until - timedelta(days=days)
    previous_since = since - timedelta(days=days)
    now, before = _headline(reports, since, until), _headline(reports, previous_since, since)
    changes = [
        Change(
            figure,
            _figure(now[report], column, how),
            _figure(before[report], column, how),
            better,
        )
        for figure, report, column, how, better in _FIGURES
    ]
    bucket = bucket_for(days).value
    tables = [
        (
            name,
            reports.run(
                name, ReportQuery(since=since, until=until, bucket=bucket, group_by=group_by)
            ),
        )
        for name, group_by in SHOWN_REPORTS
    ]
    return OpsReport(since, until, previous_since, changes, now["volume"], tables)
