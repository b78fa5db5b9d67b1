"""Bodies of the similar-ticket endpoints: the store of resolved tickets and searches in it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from triage.api.schemas import CLASSIFICATION_EXAMPLE, ClassificationOut

_QUERY_EXAMPLE: dict[str, Any] = {
    "id": "INC-2001",
    "subject": "VPN disconnects every hour",
    "body": "Since the update my VPN drops about once an hour.",
    "k": 5,
}
RESOLVED_EXAMPLE: dict[str, Any] = {
    "id": "INC-1042",
    "subject": "VPN drops after Windows update",
    "body": "The VPN client disconnects every hour since Tuesday's update.",
    "resolution": "Updated the VPN client to 7.2; the keep-alive bug is fixed there.",
    "category": "network",
    "tier": "L1",
    "resolved_at": "2026-11-20T14:03:00Z",
}

_MATCH_EXAMPLE: dict[str, Any] = {
    "id": "INC-0988",
    "score": 0.8731,
    "duplicate": False,
    "subject": "VPN drops after Windows update",
    "resolution": "Updated the VPN client to 7.2; the keep-alive bug is fixed there.",
    "resolution_hidden": False,
    "category": "network",
    "tier": "L1",
    "resolved_at": "2026-11-20T14:03:00Z",
    "tenant": None,
    "visibility": "public",
    "language": "en",
}
_DUPLICATE_EXAMPLE: dict[str, Any] = {
    "id": "INC-1999",
    "score": 0.9512,
    "subject": "VPN keeps disconnecting",
    "created_at": "2026-11-28T09:12:00Z",
    "tenant": None,
}


class _HasText(BaseModel):
    subject: str | None = Field(None, description="Subject line.")
    body: str | None = Field(None, description="Ticket text; HTML is reduced to plain text.")

    @model_validator(mode="after")
    def _has_text(self) -> _HasText:
        if not (self.subject or "").strip() and not (self.body or "").strip():
            raise ValueError("a ticket needs a non-empty 'subject' or 'body'")
        return self


class SimilarIn(_HasText):
    """A ticket to find similar resolved tickets (and likely duplicates) for."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_QUERY_EXAMPLE]})

    id: str | None = Field(
        None,
        max_length=200,
        description="The helpdesk's ticket id. With `remember`, the ticket is kept as open so "
        "later reports of the same incident are flagged as its duplicates.",
    )
    tenant: str | None = Field(
        None, max_length=200, description="Organisation: search only its tickets."
    )
    k: int = Field(5, ge=1, le=50, description="How many similar resolved tickets.")
    category: str | None = Field(None, description="Only resolved tickets of this category.")
    max_age_days: float | None = Field(
        # Bounded: a huge age overflows the date arithmetic of the search (a 500).
        None,
        gt=0,
        le=36_500,
        description="Only tickets resolved within this many days (at most 100 years).",
    )
    min_score: float = Field(0.0, ge=-1.0, le=1.0, description="Lowest cosine similarity.")
    remember: bool = Field(True, description="Keep a ticket with an id as open (see `id`).")


class TriageIn(SimilarIn):
    """Classification and similar tickets in one call (one embedding pass)."""

    explain: bool = Field(False, description="Also explain each head's answer.")
    created_at: AwareDatetime | None = Field(
        None,
        description="When the requester wrote the ticket, for incident detection (default: "
        "now). At most TRIAGE_INCIDENT_MAX_SKEW_MINUTES ahead of the server's clock and "
        "TRIAGE_INCIDENT_HISTORY_HOURS behind it; further is taken as that bound.",
    )


class MatchOut(BaseModel):
    id: str
    score: float = Field(description="Cosine similarity of the ticket texts' embeddings.")
    duplicate: bool = Field(description="Score at or above TRIAGE_DUPLICATE_THRESHOLD.")
    subject: str | None
    resolution: str | None = Field(
        description="How it was solved; null for an internal resolution unless the caller has "
        "the admin scope (see resolution_hidden)."
    )
    resolution_hidden: bool
    category: str | None
    tier: str | None
    resolved_at: datetime | None
    tenant: str | None
    visibility: Literal["public", "internal"]
    language: str | None = Field(
        None, description="Detected language (ISO 639-1) of the stored ticket; null if unknown."
    )


class DuplicateOut(BaseModel):
    id: str
    score: float
    subject: str | None
    created_at: datetime = Field(description="When triage first saw the open ticket.")
    tenant: str | None


class SimilarOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "similar": [_MATCH_EXAMPLE],
                    "duplicates": [_DUPLICATE_EXAMPLE],
                    "backend": "embedded",
                }
            ]
        }
    )

    similar: list[MatchOut] = Field(description="Most similar resolved tickets, best first.")
    duplicates: list[DuplicateOut] = Field(
        description="Recent open tickets that look like the same incident, best first."
    )
    backend: Literal["embedded", "pgvector"]


class IncidentRefOut(BaseModel):
    id: int = Field(description="See GET /v1/incidents/{id}.")
    status: Literal["open", "confirmed", "dismissed", "merged", "closed"]
    size: int = Field(description="Member tickets, this one included.")
    opened: bool = Field(description="This ticket's arrival opened the incident.")


class TriageOut(SimilarOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "classification": CLASSIFICATION_EXAMPLE,
                    "similar": [_MATCH_EXAMPLE],
                    "duplicates": [],
                    "backend": "embedded",
                    "degraded": [],
                }
            ]
        }
    )

    classification: ClassificationOut
    degraded: list[Literal["similar", "queue", "incidents"]] = Field(
        default_factory=list,
        description="Parts missing from this answer because the database was unreachable; "
        "empty when the answer is whole. 'similar': no similar tickets or duplicates were "
        "searched (both lists are empty) and the ticket was not kept for duplicate detection; "
        "'queue': the ticket was not added to the staff page's queue; 'incidents': it was not "
        "checked for an incident. The classification "
        "never needs the database.",
        examples=[[], ["similar", "queue"]],
    )
    incident: IncidentRefOut | None = Field(
        None,
        description="The incident (surge of similar tickets) this ticket is in; null when it is "
        "in none, or has no id, or `remember` is off.",
    )


class ResolvedTicketIn(_HasText):
    """A solved ticket to suggest from: the text it was reported with and how it was solved."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [RESOLVED_EXAMPLE]})

    id: str = Field(min_length=1, max_length=200)
    resolution: str | None = Field(None, description="How it was solved, shown to staff.")
    category: str | None = Field(None, max_length=200)
    tier: str | None = Field(None, max_length=64)
    resolved_at: datetime | None = Field(None, description="ISO 8601; default: now.")
    tenant: str | None = Field(None, max_length=200)
    visibility: Literal["public", "internal"] = Field(
        "public", description="internal: the resolution is shown to admin-scoped callers only."
    )


class ResolvedBatchIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"tickets": [RESOLVED_EXAMPLE]}]}
    )

    tickets: list[ResolvedTicketIn] = Field(min_length=1, description="Up to TRIAGE_MAX_BATCH.")


class ResolvedStoredOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"stored": 1, "embedded": 1}]})

    stored: int = Field(description="Tickets added or updated (committed before this answer).")
    embedded: int = Field(description="Of those, how many were (re-)embedded: new or changed text.")


class DeletedOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"deleted": 1, "queue": 1, "deliveries": 2, "job_items": 3}]
        }
    )

    deleted: int = Field(description="Stored tickets removed (one per tenant holding the id).")
    queue: int = Field(0, description="Rows removed from the staff page's queue.")
    deliveries: int = Field(
        0, description="Webhook deliveries of the ticket, kept without its text."
    )
    job_items: int = Field(0, description="Job items that held its text, kept without it.")
    emails: int = Field(
        0, description="E-mail messages of the ticket, kept without their text (only ids)."
    )
