"""The least-loaded agent of a route's group with the skills it needs (issue 20)."""

from __future__ import annotations

from triage.core.decisions import Decision
from triage.core.routing import Agent, AgentRoster, Route, RouteSource


def route(group: str = "desk-side", skills: tuple[str, ...] = ("language:id",)) -> Route:
    return Route(group, group, skills, RouteSource.RULE, "r1", Decision.AUTO, "rule r1")


def agent(agent_id: str, open_tickets: int, **extra: object) -> Agent:
    fields: dict[str, object] = {
        "groups": ("desk-side",),
        "skills": frozenset({"language:id", "language:en"}),
        "open_tickets": open_tickets,
    }
    fields.update(extra)
    return Agent(agent_id, **fields)  # type: ignore[arg-type]


def test_the_least_loaded_agent_with_the_skills_is_suggested_and_why() -> None:
    roster = AgentRoster.of(
        [
            agent("a-busy", 9),
            agent("a-free", 1),
            agent("a-english-only", 0, skills=frozenset({"language:en"})),
            agent("a-away", 0, available=False),
            agent("a-network", 0, groups=("network",)),
        ]
    )
    picked = roster.assign(route(), "").agent
    assert picked is not None
    assert (picked.agent_id, picked.open_tickets) == ("a-free", 1)
    assert picked.why == (
        "fewest open tickets (1) of the 2 available agent(s) of desk-side with language:id"
    )


def test_ties_go_to_the_smaller_id_and_tenants_stay_apart() -> None:
    roster = AgentRoster.of([agent("b", 2), agent("a", 2), agent("z", 0, tenant="acme")])
    picked = roster.pick(route(), "")
    assert picked is not None
    assert picked.agent_id == "a"
    acme = roster.pick(route(), "acme")
    assert acme is not None
    assert acme.agent_id == "z"


def test_no_able_agent_leaves_the_route_as_it_was() -> None:
    roster = AgentRoster.of([agent("a", 0, skills=frozenset())])
    assert roster.assign(route(), "") == route()
    assert roster.assign(route(group="network"), "") == route(group="network")
    assert AgentRoster().assign(route(), "") == route()
    anyone = roster.assign(route(skills=()), "").agent  # a route needing nothing
    assert anyone is not None
    assert anyone.agent_id == "a"
