"""Incidents as the API shows them, and the staff actions' bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

IncidentStatus = Literal["open", "confirmed", "dismissed", "merged", "closed"]

INCIDENT_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "tenant": None,
    "status": "open",
    "confirmed": False,
    "size": 12,
    "first_seen": "2026-12-07T08:41:10Z",
    "last_seen": "2026-12-07T09:02:55Z",
    "growth_per_10min": 6,
    "terms": {"en": ["vpn", "gateway", "connect"], "id": ["vpn", "tersambung"]},
    "category": "network",
    "tier": "L2",
    "parent_ticket_id": "INC-1042",
    "merged_into": None,
    "opened_at": "2026-12-07T08:47:31Z",
    "closed_at": None,
}
DETAIL_EXAMPLE: dict[str, Any] = {
    **INCIDENT_EXAMPLE,
    "members": [{"id": "INC-1040", "at": "2026-12-07T08:41:10Z"}],
    "decisions": [
        {
            "action": "confirm",
            "actor": "ops",
            "details": {},
            "size": 9,
            "at": "2026-12-07T08:55:00Z",
        }
    ],
}


class IncidentTermsOut(BaseModel):
    en: list[str] = Field(description="Top terms of its English (and other) members.")
    id: list[str] = Field(description="Top terms of its Bahasa Indonesia members.")


class IncidentOut(BaseModel):
    id: int
    tenant: str | None
    status: IncidentStatus = Field(
        description="open (a candidate), confirmed (by staff), dismissed (not an incident; its "
        "kind joins it quietly), merged (into `merged_into`), closed (quiet for "
        "TRIAGE_INCIDENT_QUIET_MINUTES)."
    )
    confirmed: bool
    size: int = Field(description="Member tickets.")
    first_seen: datetime
    last_seen: datetime
    growth_per_10min: int = Field(description="Members seen in the 10 minutes to last_seen.")
    terms: IncidentTermsOut
    category: str | None = Field(description="Most members' predicted category.")
    tier: str | None = Field(description="Most members' predicted tier.")
    parent_ticket_id: str | None = Field(
        description="Suggested parent: the member most similar to the others (its member id)."
    )
    merged_into: int | None
    opened_at: datetime
    closed_at: datetime | None


class IncidentListOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"incidents": [INCIDENT_EXAMPLE]}]})

    incidents: list[IncidentOut]


class IncidentMemberOut(BaseModel):
    id: str = Field(
        description=(
            "The ticket's id: as given to POST /v1/triage, or for a helpdesk webhook's ticket "
            "the helpdesk's id behind its name (`zammad:42`, `zendesk:42`)."
        )
    )
    at: datetime = Field(description="The ticket's time (its own, bounded).")


class IncidentDecisionOut(BaseModel):
    action: Literal["confirm", "dismiss", "merge", "split"]
    actor: str | None
    details: dict[str, object]
    size: int = Field(description="The incident's size when it was decided.")
    at: datetime


class IncidentDetailOut(IncidentOut):
    model_config = ConfigDict(json_schema_extra={"examples": [DETAIL_EXAMPLE]})

    members: list[IncidentMemberOut]
    decisions: list[IncidentDecisionOut]


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"into": 5}]})

    into: int = Field(ge=1, le=2**63 - 1, description="The incident to move every member into.")


class SplitIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"tickets": ["INC-1051", "INC-1053"]}]}
    )

    tickets: list[str] = Field(
        min_length=1,
        max_length=1000,
        description="Member ids (as the incident's `members` give them) to move to a new incident.",
    )
