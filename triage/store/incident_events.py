"""The outbox of the incident webhook: events written with the change, sent and retried later."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from triage.store.database import Database
from triage.store.schema import incident_events


@dataclass(frozen=True)
class IncidentEvent:
    id: int
    incident_id: int
    event: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


def emit(
    connection: Connection,
    incident_id: int,
    event: str,
    payload: Mapping[str, Any],
    now: datetime,
) -> None:
    """Queue an event, in the caller's transaction (it lands with the change or not at all)."""
    connection.execute(
        incident_events.insert().values(
            incident_id=incident_id,
            event=event,
            payload=dict(payload),
            status="pending",
            attempts=0,
            next_at=now,
            created_at=now,
        )
    )


class IncidentEventStore:
    """Pending events claimed with a lease, so a sender that dies mid-request is taken over."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def claim(self, now: datetime, *, lease: timedelta, limit: int = 20) -> list[IncidentEvent]:
        query = (
            incident_events.select()
            .where(incident_events.c.status == "pending", incident_events.c.next_at <= now)
            .order_by(incident_events.c.id)
            .limit(limit)
        )
        if self.database.is_postgres:
            query = query.with_for_update(skip_locked=True)
        with self.database.begin() as connection:
            rows = connection.execute(query).mappings().all()
            ids = [int(r["id"]) for r in rows]
            if ids:
                connection.execute(
                    incident_events.update()
                    .where(incident_events.c.id.in_(ids))
                    .values(next_at=now + lease, attempts=incident_events.c.attempts + 1)
                )
        return [
            IncidentEvent(
                int(r["id"]),
                int(r["incident_id"]),
                r["event"],
                dict(r["payload"]),
                int(r["attempts"]) + 1,
                r["created_at"],
            )
            for r in rows
        ]

    def finish(
        self,
        event_id: int,
        status: str,
        now: datetime,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        """``sent``, ``failed`` (for good), or ``pending`` again at ``retry_at``."""
        values: dict[str, Any] = {"status": status, "error": error}
        if status == "sent":
            values["sent_at"] = now
        if retry_at is not None:
            values["next_at"] = retry_at
        with self.database.begin() as connection:
            connection.execute(
                incident_events.update().where(incident_events.c.id == event_id).values(**values)
            )

    def all(self) -> list[sa.RowMapping]:
        """Every event, oldest first (for tests and the operator's eye)."""
        with self.database.begin() as connection:
            query = incident_events.select().order_by(incident_events.c.id)
            return list(connection.execute(query).mappings().all())
