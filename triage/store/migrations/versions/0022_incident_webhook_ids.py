"""A webhook ticket's id in incident detection names its helpdesk: ``zammad:42``, not ``42``.
Zammad and Zendesk both number their tickets from 1 and their webhooks feed one tenant, so a
Zendesk ticket with a Zammad ticket's id was taken for that ticket seen again (one row per
(tenant, ticket_id)). The window's tickets, the incidents' suggested parents and the queued
links are renamed; decisions and sent events keep the ids they were made with.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_TICKETS = sa.table(
    "incident_tickets",
    sa.column("seq", sa.Integer),
    sa.column("tenant", sa.String),
    sa.column("ticket_id", sa.String),
    sa.column("source", sa.String),
)
_INCIDENTS = sa.table(
    "incidents",
    sa.column("id", sa.Integer),
    sa.column("tenant", sa.String),
    sa.column("parent_ticket_id", sa.String),
)
_LINKS = sa.table(
    "incident_links",
    sa.column("id", sa.Integer),
    sa.column("source", sa.String),
    sa.column("ticket_id", sa.String),
    sa.column("parent_ticket_id", sa.String),
    sa.column("linked_parent_id", sa.String),
)
_LINK_IDS = ("ticket_id", "parent_ticket_id", "linked_parent_id")


def _named(
    source: sa.ColumnElement[str], ticket_id: sa.ColumnElement[str]
) -> sa.ColumnElement[str]:
    return source.concat(":").concat(ticket_id)  # NULL stays NULL


def upgrade() -> None:
    bind = op.get_bind()
    tickets, incidents, links = _TICKETS.c, _INCIDENTS.c, _LINKS.c
    # Parents first, while their tickets still carry the helpdesk's own id.
    webhook = {
        (tenant, ticket_id): source
        for tenant, ticket_id, source in bind.execute(
            sa.select(tickets.tenant, tickets.ticket_id, tickets.source).where(
                tickets.source.is_not(None)
            )
        )
    }
    parents = bind.execute(
        sa.select(incidents.id, incidents.tenant, incidents.parent_ticket_id).where(
            incidents.parent_ticket_id.is_not(None)
        )
    ).all()
    for incident_id, tenant, parent in parents:
        if (source := webhook.get((tenant, parent))) is not None:
            bind.execute(
                _INCIDENTS.update()
                .where(incidents.id == incident_id)
                .values(parent_ticket_id=f"{source}:{parent}")
            )
    bind.execute(
        _TICKETS.update()
        .where(tickets.source.is_not(None))
        .values(ticket_id=_named(tickets.source, tickets.ticket_id))
    )
    bind.execute(
        _LINKS.update().values(**{name: _named(links.source, links[name]) for name in _LINK_IDS})
    )


def downgrade() -> None:
    # Back to the helpdesk's own ids; of two tickets that then share one (a Zammad and a
    # Zendesk ticket numbered alike), the later is dropped from the window, as before 0022.
    bind = op.get_bind()
    tickets, incidents, links = _TICKETS.c, _INCIDENTS.c, _LINKS.c
    rows = bind.execute(
        sa.select(tickets.seq, tickets.tenant, tickets.ticket_id, tickets.source)
        .where(tickets.source.is_not(None))
        .order_by(tickets.seq)
    ).all()
    taken = {
        (tenant, ticket_id)
        for tenant, ticket_id in bind.execute(
            sa.select(tickets.tenant, tickets.ticket_id).where(tickets.source.is_(None))
        )
    }
    for seq, tenant, ticket_id, source in rows:
        own = str(ticket_id).removeprefix(f"{source}:")
        if (tenant, own) in taken:
            bind.execute(_TICKETS.delete().where(tickets.seq == seq))
            continue
        taken.add((tenant, own))
        bind.execute(_TICKETS.update().where(tickets.seq == seq).values(ticket_id=own))
        bind.execute(
            _INCIDENTS.update()
            .where(incidents.tenant == tenant, incidents.parent_ticket_id == ticket_id)
            .values(parent_ticket_id=own)
        )
    for link_id, source, *ids in bind.execute(
        sa.select(links.id, links.source, *(links[name] for name in _LINK_IDS))
    ).all():
        plain = [None if i is None else str(i).removeprefix(f"{source}:") for i in ids]
        bind.execute(
            _LINKS.update()
            .where(links.id == link_id)
            .values(**dict(zip(_LINK_IDS, plain, strict=True)))
        )
