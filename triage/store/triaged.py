"""Tickets triage has answered, for the staff page's queue: what each head said, and when.

Written by the staff page's triage action and by ``POST /v1/triage`` for a ticket with an id
(unless ``remember`` is off). One row per (tenant, ticket id): triaging a ticket again replaces
its row. A ticket counts as reviewed once feedback for it arrives after it was triaged. Rows
older than the keep period are purged as new ones are written. With ``redact_pii`` the subject
and body are kept with personal data replaced (:func:`triage.core.redaction.redact_pii`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

from triage.core.redaction import redact_pii
from triage.store.database import Database
from triage.store.dialects import dialect_of
from triage.store.schema import feedback, triaged, utcnow

if TYPE_CHECKING:
    from triage.settings import Settings

# From most to least certain; a ticket's decision is its least certain head's.
DECISIONS = ("auto", "suggest", "review")


class HeadAnswer(Protocol):
    """What one head said (``triage.service.HeadResult`` is one)."""

    @property
    def label(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def threshold(self) -> float | None: ...
    @property
    def decision(self) -> str: ...


@dataclass(frozen=True)
class HeadOutcome:
    label: str
    confidence: float
    threshold: float | None
    decision: str


@dataclass(frozen=True)
class TriagedTicket:
    id: int
    tenant: str
    ticket_id: str
    subject: str | None
    body: str | None
    predictions: dict[str, HeadOutcome]
    decision: str
    model_version: str
    source: str
    triaged_at: datetime
    reviewed: bool
    route: dict[str, Any] | None = None


@dataclass(frozen=True)
class QueueFilter:
    """Which triaged tickets the queue shows (None: any)."""

    decision: str | None = None
    category: str | None = None
    tier: str | None = None
    pending_only: bool = False


def ticket_decision(decisions: list[str]) -> str:
    """The least certain of the heads' decisions."""
    return max(decisions, key=lambda d: DECISIONS.index(d) if d in DECISIONS else len(DECISIONS))


# Feedback that arrived after the ticket was (last) triaged.
_REVIEWED = (
    sa.exists()
    .where(feedback.c.ticket_id == triaged.c.ticket_id)
    .where(feedback.c.updated_at >= triaged.c.triaged_at)
)


def _ticket(row: sa.RowMapping) -> TriagedTicket:
    predictions: Mapping[str, Any] = row["predictions"]
    return TriagedTicket(
        id=int(row["id"]),
        tenant=row["tenant"],
        ticket_id=row["ticket_id"],
        subject=row["subject"],
        body=row["body"],
        predictions={head: HeadOutcome(**value) for head, value in predictions.items()},
        decision=row["decision"],
        model_version=row["model_version"],
        source=row["source"],
        triaged_at=row["triaged_at"],
        reviewed=bool(row["reviewed"]),
        route=row["route"],
    )


class TriagedStore:
    """The log of triaged tickets behind the staff page's queue."""

    def __init__(
        self,
        database: Database,
        *,
        keep: timedelta = timedelta(days=30),
        redact_pii: bool = False,
    ) -> None:
        self.database = database
        self.keep = keep
        self.redact_pii = redact_pii

    @classmethod
    def from_settings(cls, database: Database, settings: Settings) -> TriagedStore:
        return cls(
            database,
            keep=timedelta(days=min(settings.triaged_keep_days, settings.retention_days)),
            redact_pii=settings.redact_pii,
        )

    def record(
        self,
        *,
        ticket_id: str,
        subject: str | None,
        body: str | None,
        model_version: str,
        predictions: Mapping[str, HeadAnswer],
        source: str,
        tenant: str = "",
        route: Mapping[str, Any] | None = None,
    ) -> int:
        """Keep (or replace) a ticket's triage; returns its row id. Committed on return."""
        now = utcnow()
        outcomes = {
            head: HeadOutcome(
                label=p.label,
                confidence=float(p.confidence),
                threshold=None if p.threshold is None else float(p.threshold),
                decision=str(p.decision),
            )
            for head, p in predictions.items()
        }
        values: dict[str, Any] = {
            "tenant": tenant,
            "ticket_id": ticket_id,
            "subject": redact_pii(subject) if self.redact_pii else subject,
            "body": redact_pii(body) if self.redact_pii else body,
            "predictions": {head: asdict(o) for head, o in outcomes.items()},
            "decision": ticket_decision([o.decision for o in outcomes.values()]),
            "category": outcomes["category"].label if "category" in outcomes else None,
            "tier": outcomes["tier"].label if "tier" in outcomes else None,
            "model_version": model_version,
            "source": source,
            "triaged_at": now,
            "route": None if route is None else dict(route),
        }
        dialect = dialect_of(self.database.is_postgres)
        statement = (
            dialect.insert(triaged)
            .values(**values)
            .on_conflict_do_update(
                index_elements=["tenant", "ticket_id"],
                set_={k: v for k, v in values.items() if k not in ("tenant", "ticket_id")},
            )
            .returning(triaged.c.id)
        )
        with self.database.begin() as connection:
            row_id = int(connection.execute(statement).scalar_one())
            connection.execute(triaged.delete().where(triaged.c.triaged_at < now - self.keep))
        return row_id

    def get(self, entry_id: int) -> TriagedTicket | None:
        query = sa.select(triaged, _REVIEWED.label("reviewed")).where(triaged.c.id == entry_id)
        with self.database.begin() as connection:
            row = connection.execute(query).mappings().first()
        return _ticket(row) if row else None

    def recent(
        self, which: QueueFilter | None = None, *, limit: int = 50, offset: int = 0
    ) -> list[TriagedTicket]:
        """Triaged tickets, newest first."""
        query = (
            sa.select(triaged, _REVIEWED.label("reviewed"))
            .where(*self._where(which or QueueFilter()))
            .order_by(triaged.c.triaged_at.desc(), triaged.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self.database.begin() as connection:
            return [_ticket(row) for row in connection.execute(query).mappings()]

    def counts(self, which: QueueFilter | None = None) -> dict[str, int]:
        """How many tickets of each decision the filter admits (its own decision ignored)."""
        which = which or QueueFilter()
        where = self._where(QueueFilter(None, which.category, which.tier, which.pending_only))
        query = (
            sa.select(triaged.c.decision, sa.func.count())
            .where(*where)
            .group_by(triaged.c.decision)
        )
        with self.database.begin() as connection:
            found = {str(d): int(n) for d, n in connection.execute(query).all()}
        return {d: found.get(d, 0) for d in DECISIONS}

    def forget(self, ticket_id: str, *, tenant: str | None = None) -> int:
        """Remove a ticket (in every tenant, unless one is given); returns rows removed."""
        where = [triaged.c.ticket_id == ticket_id]
        if tenant is not None:
            where.append(triaged.c.tenant == tenant)
        with self.database.begin() as connection:
            return int(connection.execute(triaged.delete().where(*where)).rowcount)

    @staticmethod
    def _where(which: QueueFilter) -> list[sa.ColumnElement[bool]]:
        where: list[sa.ColumnElement[bool]] = []
        if which.decision is not None:
            where.append(triaged.c.decision == which.decision)
        if which.category is not None:
            where.append(triaged.c.category == which.category)
        if which.tier is not None:
            where.append(triaged.c.tier == which.tier)
        if which.pending_only:
            where.append(~_REVIEWED)
        return where
