"""Ticket events, stored once by id, and the per-ticket facts folded from them in step."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from triage.core.ticket_events import EventKind, TicketEvent, TicketFacts, fold, utc
from triage.store import report_rollups
from triage.store.database import Database
from triage.store.dialects import dialect_of
from triage.store.schema import ticket_events, ticket_facts, ticket_head_facts, utcnow

_KEY_FIELDS = ("id", "kind", "ticket_id", "at", "tenant")
_PAYLOAD_FIELDS = tuple(f.name for f in fields(TicketEvent) if f.name not in _KEY_FIELDS)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CHUNK = 500  # tickets folded per statement (SQLite allows 32,766 bound parameters)


@dataclass(frozen=True)
class StoredEvents:
    """What ``EventStore.add`` did: new events stored, repeats of stored ones ignored."""

    stored: int
    duplicates: int
    tickets: int


def day_number(value: datetime | None) -> int | None:
    """Days since 1970-01-01 in UTC: the volume report's unit."""
    return None if value is None else (utc(value) - _EPOCH).days


def _event_row(event: TicketEvent, now: datetime) -> dict[str, Any]:
    payload = {name: getattr(event, name) for name in _PAYLOAD_FIELDS}
    return {
        "id": event.id,
        "tenant": event.tenant,
        "ticket_id": event.ticket_id,
        "kind": event.kind.value,
        "at": event.at,
        "payload": {k: v for k, v in payload.items() if v is not None},
        "received_at": now,
    }


def _event(row: sa.RowMapping) -> TicketEvent:
    return TicketEvent(
        id=row["id"],
        kind=EventKind(row["kind"]),
        ticket_id=row["ticket_id"],
        at=row["at"],
        tenant=row["tenant"],
        **{k: v for k, v in row["payload"].items() if k in _PAYLOAD_FIELDS},
    )


def _facts_row(facts: TicketFacts) -> dict[str, Any]:
    return {
        "tenant": facts.tenant,
        "ticket_id": facts.ticket_id,
        "status": facts.status,
        "created_at": facts.created_at,
        "created_day": day_number(facts.created_at),
        "resolved_at": facts.resolved_at,
        "resolved_day": day_number(facts.resolved_at),
        "resolve_seconds": facts.resolve_seconds,
        "channel": facts.channel,
        "category": facts.category,
        "tier": facts.tier,
        "priority": facts.priority,
        "group_name": facts.group,
        "agent": facts.agent,
        "language": facts.language,
        "first_tier": facts.first_tier,
        "first_tier_level": facts.first_tier_level,
        "max_tier_level": facts.max_tier_level,
        "reached_l2": facts.reached_l2,
        "escalations": facts.escalations,
        "escalated_at": facts.escalated_at,
        "escalate_seconds": facts.escalate_seconds,
        "reopened": facts.reopened,
        "predicted_tier": facts.predicted_tier,
        "decision": facts.decision,
        "source": facts.source,
        "triaged_at": facts.triaged_at,
        "match_score": facts.match_score,
        "reviewed": facts.reviewed,
        "written_back": facts.written_back,
    }


def _head_rows(facts: TicketFacts) -> list[dict[str, Any]]:
    return [
        {
            "tenant": facts.tenant,
            "ticket_id": facts.ticket_id,
            "head": head.head,
            "predicted": head.predicted,
            "decision": head.decision,
            "source": head.source,
            "triaged_at": head.triaged_at,
            "written_back": head.written_back,
            "final": head.final,
            "kept": head.kept,
        }
        for head in facts.heads.values()
    ]


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _lock_facts(connection: sa.Connection, tickets: Sequence[tuple[str, str]]) -> None:
    """Lock the tickets' facts rows (made as placeholders where new) before their events are
    read. Without it two transactions adding events of one ticket at once each read their
    own event but not the other's (not committed yet), and the later write of the facts
    lost the other event until the ticket's next one. Holding the row, the second waits for
    the first to commit, then reads both. ``tickets`` come sorted: locks are taken in one
    order, so two batches cannot deadlock."""
    c = ticket_facts.c
    placeholders = [
        {
            "tenant": tenant,
            "ticket_id": ticket,
            "status": "open",
            "reached_l2": False,
            "escalations": 0,
            "reopened": 0,
            "reviewed": False,
            "written_back": False,
        }
        for tenant, ticket in tickets
    ]
    connection.execute(
        dialect_of(postgres=True)
        .insert(ticket_facts)
        .on_conflict_do_nothing(index_elements=["tenant", "ticket_id"]),
        placeholders,
    )
    by_tenant: dict[str, list[str]] = {}
    for tenant, ticket in tickets:
        by_tenant.setdefault(tenant, []).append(ticket)
    for tenant, ids in by_tenant.items():  # a pair IN list: 500 index scans OR'ed, slow to plan
        connection.execute(
            sa.select(c.ticket_id)
            .where(c.tenant == tenant, c.ticket_id.in_(ids))
            .order_by(c.ticket_id)
            .with_for_update()
        )


class EventStore:
    """Durable ticket events: committed (with the facts they change) before ``add`` returns."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def add(self, events: Sequence[TicketEvent]) -> StoredEvents:
        """Store the events not stored yet (by id) and fold their tickets' facts again."""
        unique = list({event.id: event for event in events}.values())
        if not unique:
            return StoredEvents(0, len(events), 0)
        now = utcnow()
        stored: list[TicketEvent] = []
        with self.database.begin() as connection:
            if self.database.is_postgres:
                # The driver prepares a statement run five times; PostgreSQL then came to
                # plan the reads by a long IN list once for all values, as a scan of the
                # whole table: each batch of a bulk import slower than the one before
                # (9 s, 20 s, 117 s, 177 s, 270 s a 20,000 events; README, Report speed).
                connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
            for chunk in _chunks(unique, _CHUNK):
                known = set(
                    connection.execute(
                        sa.select(ticket_events.c.id).where(
                            ticket_events.c.id.in_([e.id for e in chunk])
                        )
                    ).scalars()
                )
                new = [event for event in chunk if event.id not in known]
                if new:
                    connection.execute(
                        sa.insert(ticket_events), [_event_row(event, now) for event in new]
                    )
                stored += new
            tickets = sorted({(event.tenant, event.ticket_id) for event in stored})
            delta: report_rollups.Delta = {}
            for chunk in _chunks(tickets, _CHUNK):
                self._refold(connection, chunk, delta)
            report_rollups.apply(connection, delta)
        return StoredEvents(len(stored), len(events) - len(stored), len(tickets))

    def _refold(
        self,
        connection: sa.Connection,
        tickets: Sequence[tuple[str, str]],
        delta: report_rollups.Delta,
    ) -> None:
        """Fold the tickets' facts again, and add their change to the rollups' ``delta``."""
        if self.database.is_postgres:
            _lock_facts(connection, tickets)
        grouped: dict[tuple[str, str], list[TicketEvent]] = {key: [] for key in tickets}
        by_tenant: dict[str, list[str]] = {}
        for tenant, ticket in tickets:
            by_tenant.setdefault(tenant, []).append(ticket)
        # One tenant at a time: SQLite answers ``(a, b) IN (...)`` with a scan of the table.
        for tenant, ids in by_tenant.items():
            query = sa.select(ticket_events).where(
                ticket_events.c.tenant == tenant, ticket_events.c.ticket_id.in_(ids)
            )
            for row in connection.execute(query).mappings():
                grouped[(row["tenant"], row["ticket_id"])].append(_event(row))
            before = sa.select(*report_rollups.fact_columns()).where(
                ticket_facts.c.tenant == tenant, ticket_facts.c.ticket_id.in_(ids)
            )
            for old in connection.execute(before).mappings():
                report_rollups.contribute(delta, old, -1)
        folded = [fold(tenant, ticket, grouped[(tenant, ticket)]) for tenant, ticket in tickets]
        # Upserts, not deletes and inserts: a ticket's heads only ever grow, and PostgreSQL's
        # generic plan of a delete by a long IN list came to scan the whole table.
        rows = [_facts_row(facts) for facts in folded]
        connection.execute(self._upsert(ticket_facts, ("tenant", "ticket_id")), rows)
        heads = [row for facts in folded for row in _head_rows(facts)]
        if heads:
            connection.execute(
                self._upsert(ticket_head_facts, ("tenant", "ticket_id", "head")), heads
            )
        for new in rows:
            report_rollups.contribute(delta, new, 1)

    def _upsert(self, table: sa.Table, key: tuple[str, ...]) -> Any:
        dialect = dialect_of(self.database.is_postgres)
        statement = dialect.insert(table)
        return statement.on_conflict_do_update(
            index_elements=list(key),
            set_={c.name: statement.excluded[c.name] for c in table.columns if c.name not in key},
        )

    def events_of(self, ticket_id: str, tenant: str = "") -> list[TicketEvent]:
        """One ticket's stored events, in time order."""
        query = (
            sa.select(ticket_events)
            .where(ticket_events.c.tenant == tenant, ticket_events.c.ticket_id == ticket_id)
            .order_by(ticket_events.c.at, ticket_events.c.id)
        )
        with self.database.begin() as connection:
            return [_event(row) for row in connection.execute(query).mappings()]

    def count(self) -> int:
        with self.database.begin() as connection:
            total = connection.execute(sa.select(sa.func.count()).select_from(ticket_events))
            return int(total.scalar_one())
