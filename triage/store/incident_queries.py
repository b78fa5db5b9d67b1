"""The statements incident detection runs for every triaged ticket, built once.

Building a statement with SQLAlchemy's expression language costs ~80–100 µs of Python each
time (coercions, bind parameters, the cache key of a new object); running one built at import
with its values bound by name costs ~20 µs. Detection runs eight for each ticket under the
tenant's lock (``triage.store.incidents.IncidentSession``), so they are built here, once, with
named parameters; the statements staff actions and the rarer paths run are built where they
are used.
"""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa

from triage.store.dialects import dialect_of
from triage.store.schema import incident_decisions, incident_locks, incident_tickets, incidents

LIVE = ("open", "confirmed", "dismissed")  # tickets may still join these
OPEN = ("open", "confirmed")  # what staff and the metrics count as open

_tenant: sa.BindParameter[str] = sa.bindparam("tenant")


@cache
def take_lock(dialect: str, *, forgetting: bool = False) -> sa.Executable:
    """The tenant's lock row, written first (so SQLite takes its write lock at once), for the
    dialect named ``dialect``: tenant -> the count of tickets forgotten in the tenant so far;
    ``forgetting``: for a transaction that forgets a ticket of the tenant (the count goes up
    by one). Built at first use, not at import, so that a worker on SQLite never imports the
    PostgreSQL dialect."""
    bump = {"version": incident_locks.c.version + 1}
    if forgetting:
        bump["forgets"] = incident_locks.c.forgets + 1
    statement: sa.Executable = (
        dialect_of(dialect == "postgresql")
        .insert(incident_locks)
        .values(tenant=_tenant, version=1, forgets=int(forgetting))
        .on_conflict_do_update(index_elements=["tenant"], set_=bump)
        .returning(incident_locks.c.forgets)
    )
    return statement


# (tenant, before) -> ids of the open incidents last seen before ``before``.
QUIET = sa.select(incidents.c.id).where(
    incidents.c.tenant == _tenant,
    incidents.c.status.in_(OPEN),
    incidents.c.last_seen < sa.bindparam("before"),
)

# (tenant, ticket_id) -> the window's row of that ticket.
FIND_TICKET = incident_tickets.select().where(
    incident_tickets.c.tenant == _tenant,
    incident_tickets.c.ticket_id == sa.bindparam("ticket_id"),
)

# A window ticket's columns -> its sequence number.
INSERT_TICKET = incident_tickets.insert().returning(incident_tickets.c.seq)

# (tenant, after_seq, before_seq, since) -> the tickets stored between, in the order stored.
TICKETS_BETWEEN = (
    incident_tickets.select()
    .where(
        incident_tickets.c.tenant == _tenant,
        incident_tickets.c.seq > sa.bindparam("after_seq"),
        incident_tickets.c.seq < sa.bindparam("before_seq"),
        incident_tickets.c.at >= sa.bindparam("since"),
    )
    .order_by(incident_tickets.c.seq)
)

# (tenant, since) -> (id, status, first seen, last seen) of the incidents tickets may still
# join, seen at or after ``since``: what detection needs, not the summary (its terms' JSON).
LIVE_SINCE = sa.select(
    incidents.c.id, incidents.c.status, incidents.c.first_seen, incidents.c.last_seen
).where(
    incidents.c.tenant == _tenant,
    incidents.c.status.in_(LIVE),
    incidents.c.last_seen >= sa.bindparam("since"),
)

# (tenant, start, end) -> (ticket id, incident id) of the tickets in an incident timed within.
MEMBERSHIPS = sa.select(incident_tickets.c.ticket_id, incident_tickets.c.incident_id).where(
    incident_tickets.c.tenant == _tenant,
    incident_tickets.c.incident_id.is_not(None),
    incident_tickets.c.at.between(sa.bindparam("start"), sa.bindparam("end")),
)

# (tenant, since) -> (category, action, count) of the dismissals and confirmations since.
VERDICTS = (
    sa.select(incidents.c.category, incident_decisions.c.action, sa.func.count())
    .select_from(
        incident_decisions.join(incidents, incidents.c.id == incident_decisions.c.incident_id)
    )
    .where(
        incidents.c.tenant == _tenant,
        incident_decisions.c.action.in_(("dismiss", "confirm")),
        incident_decisions.c.at >= sa.bindparam("since"),
    )
    .group_by(incidents.c.category, incident_decisions.c.action)
)
