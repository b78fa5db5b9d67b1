"""The helpdesk's agents, for suggesting the least-loaded one of a route's group."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool

from triage.api.clean_request import CleanRoute
from triage.api.deps import AgentsDep, ServiceDep, key_tenant, require_scope
from triage.api.schemas import ErrorOut
from triage.api.schemas_agents import AgentIn, AgentOutItem, AgentsIn, AgentsOut
from triage.core.auth import ApiKey, Scope
from triage.core.routing import Agent

router = APIRouter(
    route_class=CleanRoute,
    prefix="/v1/agents",
    tags=["routing"],
    responses={
        400: {"model": ErrorOut},
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        413: {"model": ErrorOut},
        422: {"model": ErrorOut},
    },
)
FeedbackKey = Annotated[ApiKey | None, Depends(require_scope(Scope.FEEDBACK))]


def _agent(item: AgentIn, tenant: str) -> Agent:
    return Agent(
        agent_id=item.id,
        tenant=tenant,
        name=item.name,
        groups=tuple(dict.fromkeys(item.groups)),
        skills=frozenset(item.skills) | {f"language:{code}" for code in item.languages},
        open_tickets=item.open_tickets,
        available=item.available,
    )


def _out(tenant: str, revision: int | None, agents: list[Agent]) -> AgentsOut:
    return AgentsOut(
        tenant=tenant,
        revision=revision,
        agents=[
            AgentOutItem(
                id=a.agent_id,
                name=a.name,
                groups=list(a.groups),
                skills=sorted(a.skills),
                open_tickets=a.open_tickets,
                available=a.available,
            )
            for a in agents
        ],
    )


@router.put("", response_model=AgentsOut)
async def put_agents(
    body: AgentsIn, book: AgentsDep, service: ServiceDep, key: FeedbackKey
) -> AgentsOut:
    """Replace a tenant's agents (their groups, skills and open-ticket counts); every route
    then names the least-loaded available agent of its group with the skills it needs."""
    tenant = key_tenant(key, body.tenant)
    roster = [_agent(item, tenant) for item in body.agents]
    revision = await run_in_threadpool(book.replace, service, tenant, roster)
    return _out(tenant, revision, await run_in_threadpool(book.listed, tenant))


@router.get("", response_model=AgentsOut)
def get_agents(
    book: AgentsDep,
    service: ServiceDep,
    key: FeedbackKey,
    tenant: Annotated[str | None, Query(max_length=200, examples=["acme"])] = None,
) -> AgentsOut:
    """A tenant's agents as last sent."""
    chosen = key_tenant(key, tenant)
    return _out(chosen, service.agents.revision, book.listed(chosen))
