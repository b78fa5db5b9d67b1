"""Bodies of the webhook endpoints: a delivery's state, its ticket and its write-back."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from triage.api.schemas import CLASSIFICATION_EXAMPLE, ClassificationOut, ErrorBody


class CurrentFieldsOut(BaseModel):
    """What the helpdesk had already set on the ticket when it called."""

    category: str | None = None
    priority: str | None = None
    group: str | None = None
    status: str | None = None


class WebhookTicketOut(BaseModel):
    """The delivery mapped onto triage's one ticket shape (the same for every helpdesk)."""

    source: str
    external_id: str = Field(description="The ticket's id in the helpdesk.")
    number: str | None = Field(None, description="The ticket number staff see, if different.")
    subject: str | None
    body: str | None
    body_format: Literal["text", "html"]
    requester: str | None = Field(description="E-mail, name or id, as the helpdesk sends it.")
    current: CurrentFieldsOut


class WritebackOut(BaseModel):
    """Posting the suggestion back to the helpdesk (present when configured for the source)."""

    status: Literal["pending", "done", "failed", "skipped"] = Field(
        description=(
            "pending: waiting for the result or for its next attempt; done; failed: given up "
            "after TRIAGE_WEBHOOK_WRITEBACK_MAX_ATTEMPTS or refused by the helpdesk; skipped: "
            "the ticket could not be classified."
        )
    )
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    steps_done: list[str] = Field(description="Requests already applied, e.g. note, tags.")
    done_at: datetime | None


class DeliveryOut(BaseModel):
    """A webhook delivery: accepted at once, triaged in the background."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0c5e2f4a9b7d4e21",
                    "source": "zammad",
                    "event": "ticket.create",
                    "status": "done",
                    "duplicate": False,
                    "ignored": None,
                    "vendor_delivery_id": "a3f1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b",
                    "sent_at": None,
                    "created_at": "2026-11-28T10:00:00Z",
                    "finished_at": "2026-11-28T10:00:01Z",
                    "ticket": {
                        "source": "zammad",
                        "external_id": "1042",
                        "number": "31042",
                        "subject": "Printer on 3rd floor jams",
                        "body": "Every job since this morning stops with a paper jam.",
                        "body_format": "text",
                        "requester": "emily@example.com",
                        "current": {"category": None, "priority": "2 normal", "group": "Users"},
                    },
                    "result": {**CLASSIFICATION_EXAMPLE, "id": "1042"},
                    "error": None,
                    "writeback": {
                        "status": "done",
                        "attempts": 1,
                        "next_attempt_at": None,
                        "last_error": None,
                        "steps_done": ["note", "tags"],
                        "done_at": "2026-11-28T10:00:02Z",
                    },
                    "links": {
                        "self": "https://triage.example.com/v1/webhooks/deliveries/0c5e2f4a9b7d4e21"
                    },
                }
            ]
        }
    )

    id: str
    source: str
    event: str = Field(description="The helpdesk's event or trigger name.")
    status: Literal["queued", "running", "done", "failed", "ignored"] = Field(
        description=(
            "queued/running: being triaged; done: `result` holds the classification; "
            "failed: `error` says why; ignored: accepted but not triaged (see `ignored`)."
        )
    )
    duplicate: bool = Field(
        False, description="True when this answers a retry: the first delivery's state."
    )
    ignored: str | None = None
    vendor_delivery_id: str | None = Field(description="The helpdesk's own delivery id, if any.")
    sent_at: datetime | None = Field(description="The signed timestamp, for sources sending one.")
    created_at: datetime
    finished_at: datetime | None
    ticket: WebhookTicketOut
    result: ClassificationOut | None = None
    error: ErrorBody | None = None
    writeback: WritebackOut | None = None
    links: dict[str, Any] = Field(default_factory=dict)
