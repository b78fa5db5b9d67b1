"""Migration 0022: a webhook ticket's id in incident detection names its helpdesk
(``zammad:7``), so a Zendesk ticket numbered like a Zammad one is another ticket. Rows stored
before it are renamed (window tickets, suggested parents, queued links), and back on a
downgrade; a ticket is still forgotten by its helpdesk's own id."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import sqlalchemy as sa
from alembic import command

from triage.store.database import Database
from triage.store.incidents import IncidentStore
from triage.store.schema import incident_links, incident_tickets, incidents

AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _add_ticket(database: Database, ticket_id: str, source: str | None) -> None:
    vector = np.ones(4, dtype=np.float32).tobytes()
    row = {"tenant": "", "ticket_id": ticket_id, "at": AT, "terms": [], "vector": vector}
    with database.begin() as connection:
        connection.execute(incident_tickets.insert().values(**row, source=source))


def _ids(database: Database) -> tuple[list[str], list[str | None], list[tuple[str | None, ...]]]:
    with database.begin() as connection:
        tickets = connection.execute(
            sa.select(incident_tickets.c.ticket_id).order_by(incident_tickets.c.seq)
        ).scalars()
        parents = connection.execute(sa.select(incidents.c.parent_ticket_id)).scalars()
        links = connection.execute(
            sa.select(
                incident_links.c.ticket_id,
                incident_links.c.parent_ticket_id,
                incident_links.c.linked_parent_id,
            )
        ).all()
        return list(tickets), list(parents), [tuple(link) for link in links]


def test_the_migration_names_the_helpdesk_of_webhook_tickets_stored_before_it(
    database_url: str,
) -> None:
    with Database(database_url) as database:
        database.upgrade()
        command.downgrade(database.alembic_config(), "0021")
        _add_ticket(database, "7", "zammad")
        _add_ticket(database, "API-1", None)
        with database.begin() as connection:
            connection.execute(
                incidents.insert().values(
                    tenant="",
                    status="open",
                    confirmed=False,
                    size=2,
                    first_seen=AT,
                    last_seen=AT,
                    growth_per_10min=2,
                    terms={},
                    parent_ticket_id="7",
                    opened_at=AT,
                    updated_at=AT,
                )
            )
            connection.execute(
                incident_links.insert().values(
                    incident_id=1,
                    tenant="",
                    source="zammad",
                    ticket_id="8",
                    parent_ticket_id="7",
                    linked_parent_id=None,
                    status="pending",
                    attempts=0,
                    next_at=AT,
                    steps=[],
                    created_at=AT,
                )
            )
        command.upgrade(database.alembic_config(), "head")
        assert _ids(database) == (
            ["zammad:7", "API-1"],
            ["zammad:7"],
            [("zammad:8", "zammad:7", None)],
        )

        _add_ticket(database, "zendesk:7", "zendesk")  # numbered like Zammad's: another ticket
        command.downgrade(database.alembic_config(), "0021")
        # Before 0022 one id held one ticket: the later of the two is dropped.
        assert _ids(database) == (["7", "API-1"], ["7"], [("8", "7", None)])

        command.upgrade(database.alembic_config(), "head")
        _add_ticket(database, "zendesk:7", "zendesk")
        assert IncidentStore(database).forget("7") == 2  # the helpdesk's id forgets both
        assert _ids(database)[0] == ["API-1"]
