"""Bodies of PUT/GET /v1/agents: the helpdesk's agents, for individual assignment."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_AGENTS = 10_000
AGENT_EXAMPLE: dict[str, Any] = {
    "id": "agent-17",
    "name": "Sari Wulandari",
    "groups": ["desk-side", "network"],
    "skills": ["printers"],
    "languages": ["en", "id"],
    "open_tickets": 3,
    "available": True,
}


class AgentIn(BaseModel):
    """One agent: the groups they work in, their skills and their current load."""

    id: str = Field(min_length=1, max_length=200, description="The helpdesk's agent id.")
    name: str | None = Field(None, max_length=200)
    groups: list[str] = Field(
        min_length=1, max_length=100, description="Route groups (as in the routing table)."
    )
    skills: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="Skills as the routing table's rules name them.",
    )
    languages: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Languages spoken (ISO 639-1): the skill 'language:<code>' a route needs.",
    )
    open_tickets: int = Field(ge=0, le=1_000_000, description="Open tickets assigned now.")
    available: bool = Field(True, description="False: on leave or off shift; never suggested.")

    model_config = ConfigDict(extra="forbid")


class AgentsIn(BaseModel):
    """A tenant's whole roster: agents not listed are removed."""

    tenant: str | None = Field(None, max_length=200, description="Default: the default tenant ''.")
    agents: list[AgentIn] = Field(max_length=MAX_AGENTS)

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"agents": [AGENT_EXAMPLE]}]}
    )

    @model_validator(mode="after")
    def _ids_once(self) -> AgentsIn:
        seen: set[str] = set()
        for agent in self.agents:
            if agent.id in seen:
                raise ValueError(f"agent id {agent.id!r} is listed twice")
            seen.add(agent.id)
        return self


class AgentOutItem(BaseModel):
    id: str
    name: str | None
    groups: list[str]
    skills: list[str] = Field(description="Skills, languages as 'language:<code>'.")
    open_tickets: int
    available: bool


class AgentsOut(BaseModel):
    tenant: str
    revision: int | None = Field(description="The roster's revision (null: none stored).")
    agents: list[AgentOutItem]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant": "",
                    "revision": 12,
                    "agents": [
                        {
                            "id": "agent-17",
                            "name": "Sari Wulandari",
                            "groups": ["desk-side", "network"],
                            "skills": ["language:en", "language:id", "printers"],
                            "open_tickets": 3,
                            "available": True,
                        }
                    ],
                }
            ]
        }
    )
