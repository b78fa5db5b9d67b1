"""Which helpdesks may call triage, and where suggestions are written back (settings types)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

# The helpdesks with an adapter: each has its own route, signature scheme and payload mapping.
SOURCES = ("zammad", "zendesk", "glpi", "freshdesk", "generic")
# The helpdesks triage can write its suggestion back to (an internal note, tags, the group);
# triage.webhooks.writeback_clients has a client for each.
WRITEBACK_SOURCES = ("zammad", "zendesk", "glpi", "freshdesk")
# The helpdesks whose tickets of one incident can be linked to a parent ticket (Zammad's
# parent/child links, Zendesk's problem and incidents), with TRIAGE_INCIDENT_WRITEBACK.
INCIDENT_LINK_SOURCES = ("zammad", "zendesk")
# ``jobs.source`` of the classification job each accepted delivery queues.
WEBHOOK_JOB_SOURCE = "webhook"


class WritebackTarget(BaseModel):
    """How to reach one helpdesk's API to post the suggestion back (off unless configured)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        pattern=r"^https?://", description="Base URL, e.g. https://helpdesk.example.com."
    )
    token: SecretStr = Field(
        description=(
            "Zammad: an access token; Zendesk: an API token; GLPI: the API user's user_token; "
            "Freshdesk: the agent's API key."
        )
    )
    app_token: SecretStr | None = Field(
        None, description="GLPI only: the API client's App-Token, where GLPI asks for one."
    )
    email: str | None = Field(
        None, description="Zendesk only: the agent's e-mail the API token authenticates as."
    )
    note: bool = Field(True, description="Post the suggestion as an internal note.")
    tags: bool = Field(True, description="Add tags such as triage_category__printers.")
    groups: dict[str, int] = Field(
        default_factory=dict,
        description=(
            "Assign the ticket to the helpdesk group of its route: route group name -> the "
            "helpdesk's group_id. Only auto routes to a listed group are written; empty: off."
        ),
    )
    timeout_seconds: float = Field(10.0, gt=0, le=120)
