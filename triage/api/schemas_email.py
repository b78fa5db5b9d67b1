"""``POST /v1/email``'s answer: what ``/v1/triage`` answers, and what became of the message."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from triage.api.schemas import CLASSIFICATION_EXAMPLE, ClassificationOut
from triage.api.schemas_similar import DuplicateOut, MatchOut

EMAIL_EXAMPLE: dict[str, Any] = {
    "ticket_id": "email-3f9a1c0b7d2e4f60",
    "joined": False,
    "duplicate": False,
    "skipped": None,
    "email": {
        "message_id": "<CAF=abc123@mail.gmail.com>",
        "subject": "VPN tidak bisa connect",
        "text": "VPN saya tidak bisa connect sejak pagi, muncul error authentication failed.",
        "attachments": [{"name": "error.png", "content_type": "image/png", "size": 48213}],
        "attachments_omitted": 0,
    },
    "classification": CLASSIFICATION_EXAMPLE,
    "similar": [],
    "duplicates": [],
    "backend": "embedded",
    "degraded": [],
}


class AttachmentOut(BaseModel):
    """An attachment as listed: it is never stored or opened."""

    name: str = Field(examples=["screenshot.png"])
    content_type: str = Field(examples=["image/png"])
    size: int = Field(description="Bytes (decoded size for base64 parts).", examples=[48213])


class EmailCleanedOut(BaseModel):
    """The message as triage read it."""

    message_id: str = Field(
        description="Its Message-ID, or sha256:<digest of the bytes> when it has none.",
        examples=["<CAF=abc123@mail.gmail.com>"],
    )
    subject: str = Field(examples=["Re: VPN tidak bisa connect"])
    text: str = Field(
        description="Its own words: quoted replies, signatures and disclaimers removed, a "
        "forwarded message's content kept; plain text (HTML converted, never rendered).",
        examples=["VPN saya masih tidak bisa connect sejak pagi."],
    )
    attachments: list[AttachmentOut] = Field(default_factory=list)
    attachments_omitted: int = Field(0, description="Attachments past the listed limit.")


class EmailOut(BaseModel):
    """A received message: triaged like ``/v1/triage``, or set aside with the reason."""

    model_config = ConfigDict(json_schema_extra={"examples": [EMAIL_EXAMPLE]})

    ticket_id: str | None = Field(
        description="The ticket the message opened or (a reply) joined; null if not a ticket.",
        examples=["email-3f9a1c0b7d2e4f60"],
    )
    joined: bool = Field(
        False, description="A reply to a message received before: its ticket was triaged again."
    )
    duplicate: bool = Field(
        False, description="Received before (same Message-ID): nothing was done again."
    )
    skipped: str | None = Field(
        None,
        description="Why the message was not triaged: an auto-reply, out-of-office reply, "
        "mailing-list mail or bounce.",
        examples=[None, "auto-submitted: auto-replied"],
    )
    email: EmailCleanedOut
    classification: ClassificationOut | None = Field(
        None, description="As /v1/triage; null when skipped (a duplicate repeats the first)."
    )
    similar: list[MatchOut] = Field(default_factory=list)
    duplicates: list[DuplicateOut] = Field(default_factory=list)
    backend: str | None = None
    degraded: list[str] = Field(default_factory=list, description="As /v1/triage.")
