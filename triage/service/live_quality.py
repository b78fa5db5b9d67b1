"""The served heads' live quality, from staff feedback: the last seven days, day by day."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from triage.store.feedback import FeedbackStore


@dataclass(frozen=True)
class DayQuality:
    """One day's live figures of one head (None: no feedback that day)."""

    day: date
    feedback: int
    precision: float | None
    coverage: float | None


@dataclass(frozen=True)
class HeadWeek:
    """One head's live quality: the seven days together, and day by day."""

    head: str
    feedback: int
    precision: float | None
    coverage: float | None
    days: list[DayQuality]


def week_quality(
    store: FeedbackStore, now: datetime, head_order: Sequence[str] = ()
) -> list[HeadWeek]:
    """Every head with feedback in the seven days up to ``now`` (today included), the heads
    of ``head_order`` first, in its order, then the others by name."""
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    starts = [today - timedelta(days=6 - i) for i in range(7)]
    daily = [store.quality(since=s, until=s + timedelta(days=1)) for s in starts]
    total = store.quality(since=starts[0])
    order = {head: i for i, head in enumerate(head_order)}
    weeks = []
    for head in sorted(total, key=lambda h: (order.get(h, len(order)), h)):
        days = []
        for start, report in zip(starts, daily, strict=True):
            quality = report.get(head)
            overall = quality.overall if quality else None
            days.append(
                DayQuality(
                    day=start.date(),
                    feedback=overall.feedback if overall else 0,
                    precision=overall.precision if overall else None,
                    coverage=overall.coverage if overall else None,
                )
            )
        overall = total[head].overall
        weeks.append(HeadWeek(head, overall.feedback, overall.precision, overall.coverage, days))
    return weeks
