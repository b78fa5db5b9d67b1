"""Staff feedback (the labels they finally chose) and the live quality measured from it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

import sqlalchemy as sa

from triage.store.database import Database
from triage.store.dialects import dialect_of
from triage.store.schema import feedback, utcnow


@dataclass(frozen=True)
class Feedback:
    """What staff finally chose for one head of one ticket, against what the model said."""

    ticket_id: str
    head: str
    predicted: str
    final: str
    model_version: str
    decision: str | None = None
    confidence: float | None = None


@dataclass(frozen=True)
class ClassQuality:
    """Live figures for one predicted label (or a whole head)."""

    feedback: int
    precision: float | None
    auto: int
    auto_precision: float | None
    coverage: float | None
    abstain_rate: float | None


@dataclass(frozen=True)
class HeadQuality:
    overall: ClassQuality
    classes: dict[str, ClassQuality] = field(default_factory=dict)


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


class FeedbackStore:
    """Durable feedback: an answer is committed before the caller hears it was taken."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def add(self, items: Sequence[Feedback]) -> int:
        """Insert or correct feedback; the same ticket, head and model version is one row."""
        if not items:
            return 0
        now = utcnow()
        # One row per key; within one call the last answer wins, as it would across calls.
        latest = {(i.ticket_id, i.head, i.model_version): i for i in items}
        rows = [{**asdict(item), "created_at": now, "updated_at": now} for item in latest.values()]
        dialect = dialect_of(self.database.is_postgres)
        statement = dialect.insert(feedback)
        statement = statement.on_conflict_do_update(
            index_elements=["ticket_id", "head", "model_version"],
            set_={
                "predicted": statement.excluded.predicted,
                "final": statement.excluded.final,
                "decision": statement.excluded.decision,
                "confidence": statement.excluded.confidence,
                "updated_at": statement.excluded.updated_at,
            },
        )
        with self.database.begin() as connection:
            connection.execute(statement, rows)
        return len(rows)

    def count(self) -> int:
        with self.database.begin() as connection:
            return int(
                connection.execute(sa.select(sa.func.count()).select_from(feedback)).scalar_one()
            )

    def for_ticket(self, ticket_id: str) -> dict[str, Feedback]:
        """The latest feedback on each head of one ticket (whichever model version it was on)."""
        query = (
            sa.select(feedback)
            .where(feedback.c.ticket_id == ticket_id)
            .order_by(feedback.c.updated_at, feedback.c.id)
        )
        with self.database.begin() as connection:
            rows = connection.execute(query).mappings().all()
        fields = Feedback.__dataclass_fields__
        return {row["head"]: Feedback(**{k: row[k] for k in fields}) for row in rows}

    def latest(self) -> list[Feedback]:
        """The latest answer on each (ticket, head), whichever model version it was given on
        (the newest ``updated_at`` wins; on a tie, the row inserted later)."""
        query = sa.select(feedback).order_by(feedback.c.updated_at, feedback.c.id)
        fields = Feedback.__dataclass_fields__
        latest: dict[tuple[str, str], Feedback] = {}
        with self.database.begin() as connection:
            for row in connection.execute(query).mappings():
                latest[row["ticket_id"], row["head"]] = Feedback(**{k: row[k] for k in fields})
        return list(latest.values())

    def quality(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        model_version: str | None = None,
    ) -> dict[str, HeadQuality]:
        """Per head and predicted label: precision, automatic share and its precision, abstains.

        ``precision`` is the share of predictions staff kept; ``auto_precision`` the same over
        the automatic decisions only; ``coverage`` the share decided automatically and
        ``abstain_rate`` the share sent to review (both over feedback that says its decision).
        """
        correct = sa.case((feedback.c.predicted == feedback.c.final, 1), else_=0)
        is_auto = sa.case((feedback.c.decision == "auto", 1), else_=0)
        auto_correct = sa.case(
            ((feedback.c.decision == "auto") & (feedback.c.predicted == feedback.c.final), 1),
            else_=0,
        )
        is_review = sa.case((feedback.c.decision == "review", 1), else_=0)
        with_decision = sa.case((feedback.c.decision.is_not(None), 1), else_=0)
        query = sa.select(
            feedback.c.head,
            feedback.c.predicted,
            sa.func.count().label("n"),
            sa.func.sum(correct).label("correct"),
            sa.func.sum(is_auto).label("auto"),
            sa.func.sum(auto_correct).label("auto_correct"),
            sa.func.sum(is_review).label("review"),
            sa.func.sum(with_decision).label("decided"),
        ).group_by(feedback.c.head, feedback.c.predicted)
        if since is not None:
            query = query.where(feedback.c.updated_at >= since)
        if until is not None:
            query = query.where(feedback.c.updated_at < until)
        if model_version is not None:
            query = query.where(feedback.c.model_version == model_version)
        with self.database.begin() as connection:
            rows = connection.execute(query).all()

        totals: dict[str, list[int]] = {}
        per_class: dict[str, dict[str, ClassQuality]] = {}
        for head, label, *counts in rows:
            n, good, auto, auto_good, review, decided = (int(c or 0) for c in counts)
            per_class.setdefault(head, {})[label] = _quality(
                n, good, auto, auto_good, review, decided
            )
            running = totals.setdefault(head, [0] * 6)
            for i, value in enumerate((n, good, auto, auto_good, review, decided)):
                running[i] += value
        return {
            head: HeadQuality(
                overall=_quality(*totals[head]), classes=dict(sorted(classes.items()))
            )
            for head, classes in sorted(per_class.items())
        }


def _quality(
    n: int, good: int, auto: int, auto_good: int, review: int, decided: int
) -> ClassQuality:
    return ClassQuality(
        feedback=n,
        precision=_ratio(good, n),
        auto=auto,
        auto_precision=_ratio(auto_good, auto),
        coverage=_ratio(auto, decided),
        abstain_rate=_ratio(review, decided),
    )
