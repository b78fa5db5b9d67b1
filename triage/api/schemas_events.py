"""Bodies of the ticket-event and report endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from triage.core.ticket_events import Channel, EventKind

EVENT_EXAMPLE: dict[str, Any] = {
    "id": "zd-88213-status-3",
    "ticket_id": "INC-1042",
    "kind": "resolved",
    "at": "2026-11-30T14:05:00Z",
    "tenant": "",
    "channel": "email",
    "tier": "L2",
    "agent": "rina",
    "group": "service-desk",
}
_Label = Field(None, min_length=1, max_length=200)


class PredictionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(None, max_length=200)
    decision: str | None = Field(None, max_length=16)


class EventIn(BaseModel):
    """One thing that happened to a ticket; ``id`` is the sender's: a repeat is stored once."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EVENT_EXAMPLE]})

    id: str = Field(min_length=1, max_length=200)
    ticket_id: str = Field(min_length=1, max_length=200)
    kind: EventKind
    at: datetime = Field(description="When it happened (ISO 8601; without a zone: server time).")
    tenant: str = Field("", max_length=200)
    channel: Channel | None = None
    category: str | None = _Label
    tier: str | None = Field(None, min_length=1, max_length=64, description="escalated: new tier.")
    priority: str | None = Field(None, min_length=1, max_length=64)
    group: str | None = _Label
    agent: str | None = _Label
    language: str | None = Field(None, min_length=1, max_length=16)
    source: str | None = Field(None, min_length=1, max_length=32)
    decision: str | None = Field(None, max_length=16, description="triaged: the ticket's.")
    head: str | None = Field(None, min_length=1, max_length=64, description="decided: the head.")
    predicted: str | None = _Label
    final: str | None = _Label
    predictions: dict[str, PredictionIn] | None = Field(None, description="triaged: per head.")
    match_score: float | None = Field(None, ge=0.0, le=1.0)


class EventsStoredOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"stored": 2, "duplicates": 1, "tickets": 2}]}
    )

    stored: int = Field(description="New events, committed.")
    duplicates: int = Field(description="Events whose id was stored already: ignored.")
    tickets: int = Field(description="Tickets whose facts were brought up to date.")


class ReportOut(BaseModel):
    """One report: a table whose rows hold every name in ``columns``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "report": "volume",
                    "since": "2026-11-02T00:00:00Z",
                    "until": "2026-11-04T00:00:00Z",
                    "bucket": "day",
                    "group_by": ["channel"],
                    "columns": ["period", "channel", "new", "resolved", "backlog"],
                    "rows": [
                        {
                            "period": "2026-11-02",
                            "channel": "email",
                            "new": 12,
                            "resolved": 9,
                            "backlog": 31,
                        },
                        {
                            "period": "2026-11-03",
                            "channel": "email",
                            "new": 8,
                            "resolved": 11,
                            "backlog": 28,
                        },
                    ],
                }
            ]
        }
    )

    report: str
    since: datetime
    until: datetime
    bucket: str
    group_by: list[str]
    columns: list[str]
    rows: list[dict[str, str | int | float | None]]
