"""Individual assignment (issue 20, optional): the least-loaded agent of a route's group who
has every skill the ticket needs.

The helpdesk sends its agents (their groups, skills and open-ticket counts) through
``PUT /v1/agents``; an :class:`AgentRoster` is one immutable snapshot of them, replaced whole
when a new roster arrives, so a request reads one consistent roster. A route's skills are the
rule's and the ticket's language (``language:id``); an agent's skills count a language as
``language:<code>`` too. Among the available agents of the tenant in the route's group who
hold all of them, the one with the fewest open tickets is suggested (ties: the smaller id).
Nothing is assigned: the suggestion is a field of the route.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from triage.core.routing.table import AgentPick, Route


@dataclass(frozen=True)
class Agent:
    agent_id: str
    tenant: str = ""
    name: str | None = None
    groups: tuple[str, ...] = ()
    skills: frozenset[str] = frozenset()
    open_tickets: int = 0
    available: bool = True


@dataclass(frozen=True)
class AgentRoster:
    """Every tenant's agents, by (tenant, group), least loaded first."""

    by_group: dict[tuple[str, str], tuple[Agent, ...]] = field(default_factory=dict)
    revision: int | None = None  # the stored roster it was read from (None: none stored)

    @classmethod
    def of(cls, agents: Iterable[Agent], revision: int | None = None) -> AgentRoster:
        grouped: dict[tuple[str, str], list[Agent]] = {}
        for agent in agents:
            for group in agent.groups:
                grouped.setdefault((agent.tenant, group), []).append(agent)
        return cls(
            {
                key: tuple(sorted(members, key=lambda a: (a.open_tickets, a.agent_id)))
                for key, members in grouped.items()
            },
            revision,
        )

    def __len__(self) -> int:
        return len({(a.tenant, a.agent_id) for members in self.by_group.values() for a in members})

    def pick(self, route: Route, tenant: str) -> AgentPick | None:
        """The least-loaded available agent of ``route``'s group with all its skills."""
        members = self.by_group.get((tenant, route.group), ())
        if not members:
            return None
        needed = set(route.skills)
        able = [a for a in members if a.available and needed <= a.skills]
        if not able:
            return None
        best = able[0]  # members are sorted, least loaded first
        skills = f" with {', '.join(route.skills)}" if route.skills else ""
        why = (
            f"fewest open tickets ({best.open_tickets}) of the {len(able)} available agent(s) "
            f"of {route.group}{skills}"
        )
        return AgentPick(best.agent_id, best.name, best.open_tickets, why)

    def assign(self, route: Route, tenant: str) -> Route:
        """``route`` with its suggested agent, where the roster has one."""
        if not self.by_group:
            return route
        pick = self.pick(route, tenant)
        return route if pick is None else replace(route, agent=pick)
