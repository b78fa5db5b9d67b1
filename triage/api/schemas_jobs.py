"""Bodies of the job endpoints: a backlog classified in the background."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from triage.api.schemas import CLASSIFICATION_EXAMPLE, ClassificationOut, ErrorBody, TicketIn


class JobIn(BaseModel):
    """A list of tickets (or upload a CSV / JSON-lines file with the same route)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"tickets": [{"id": "INC-1", "subject": "VPN drops"}], "explain": False}]
        },
    )

    tickets: list[TicketIn] = Field(min_length=1, description="Up to TRIAGE_MAX_JOB_TICKETS.")
    explain: bool = False


class JobItemOut(BaseModel):
    position: int = Field(description="Place of the ticket in the submitted list (from 0).")
    id: str | None = Field(description="The ticket's id, if it had one.")
    result: ClassificationOut | None
    error: ErrorBody | None = Field(description="Why this one ticket could not be classified.")


class JobOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "7fc19d818d7647c88973c659b5479bc1",
                    "status": "done",
                    "total": 1,
                    "done": 1,
                    "failed": 0,
                    "progress": 1.0,
                    "model_version": CLASSIFICATION_EXAMPLE["model_version"],
                    "error": None,
                    "created_at": "2026-11-28T10:00:00.011905Z",
                    "started_at": "2026-11-28T10:00:00.016545Z",
                    "finished_at": "2026-11-28T10:00:00.040543Z",
                    "results": [
                        {
                            "position": 0,
                            "id": "INC-1042",
                            "result": CLASSIFICATION_EXAMPLE,
                            "error": None,
                        }
                    ],
                    "links": {
                        "self": "https://triage.example.com/v1/jobs/7fc19d818d7647c88973c659b5479bc1"
                    },
                }
            ]
        }
    )

    id: str
    status: Literal["queued", "running", "done", "failed"]
    total: int
    done: int = Field(description="Tickets classified so far.")
    failed: int = Field(description="Tickets that could not be classified (see their error).")
    progress: float = Field(ge=0.0, le=1.0)
    model_version: str | None
    error: str | None = Field(description="Why the whole job failed, if it did.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    results: list[JobItemOut] | None = Field(
        None, description="When the job has ended: one page of results (see offset, limit)."
    )
    links: dict[str, Any] = Field(default_factory=dict)
