"""The helpdesk's agents, one roster per tenant, replaced whole (migration 0018)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from triage.core.routing import Agent, AgentRoster
from triage.store.database import Database
from triage.store.schema import agents, utcnow


class AgentStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def replace(self, tenant: str, roster: Sequence[Agent]) -> int:
        """The tenant's agents are now ``roster`` (others are removed); the new revision."""
        with self.database.begin() as connection:
            if self.database.is_postgres:  # one roster write at a time: revisions stay unique
                connection.execute(sa.text("LOCK TABLE agents IN SHARE ROW EXCLUSIVE MODE"))
            revision = (
                int(
                    connection.execute(
                        sa.select(sa.func.coalesce(sa.func.max(agents.c.revision), 0))
                    ).scalar_one()
                )
                + 1
            )
            connection.execute(agents.delete().where(agents.c.tenant == tenant))
            now = utcnow()
            if roster:
                connection.execute(
                    agents.insert(),
                    [
                        {
                            "tenant": tenant,
                            "agent_id": agent.agent_id,
                            "name": agent.name,
                            "groups": list(agent.groups),
                            "skills": sorted(agent.skills),
                            "open_tickets": agent.open_tickets,
                            "available": agent.available,
                            "revision": revision,
                            "updated_at": now,
                        }
                        for agent in roster
                    ],
                )
            else:  # an emptied roster still moves the revision on, for the other processes:
                # a row with no agent id stands for it (never read as an agent)
                connection.execute(
                    agents.insert().values(
                        tenant=tenant,
                        agent_id="",
                        name=None,
                        groups=[],
                        skills=[],
                        open_tickets=0,
                        available=False,
                        revision=revision,
                        updated_at=now,
                    )
                )
        return revision

    def revision(self) -> int | None:
        """The newest roster's revision (None: none stored)."""
        with self.database.begin() as connection:
            found = connection.execute(sa.select(sa.func.max(agents.c.revision))).scalar_one()
        return None if found is None else int(found)

    def roster(self) -> AgentRoster:
        """Every tenant's agents, as one snapshot."""
        with self.database.begin() as connection:
            rows = connection.execute(sa.select(agents).where(agents.c.agent_id != "")).all()
            revision = connection.execute(sa.select(sa.func.max(agents.c.revision))).scalar_one()
        return AgentRoster.of(map(_agent, rows), None if revision is None else int(revision))

    def listed(self, tenant: str) -> list[Agent]:
        """The tenant's agents, by id."""
        query = (
            sa.select(agents)
            .where(agents.c.tenant == tenant, agents.c.agent_id != "")
            .order_by(agents.c.agent_id)
        )
        with self.database.begin() as connection:
            return [_agent(row) for row in connection.execute(query)]


def _agent(row: sa.Row[Any]) -> Agent:
    return Agent(
        agent_id=row.agent_id,
        tenant=row.tenant,
        name=row.name,
        groups=tuple(row.groups),
        skills=frozenset(row.skills),
        open_tickets=row.open_tickets,
        available=row.available,
    )
