"""Bodies of the feedback endpoints: what staff finally chose, and the quality measured from it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_FEEDBACK_EXAMPLE: dict[str, Any] = {
    "ticket_id": "INC-1042",
    "head": "category",
    "predicted": "printers",
    "final": "hardware",
    "model_version": "20261128-093000-3f2a9c1e",
    "decision": "suggest",
    "confidence": 0.71,
}

_QUALITY_EXAMPLE: dict[str, Any] = {
    "feedback": 120,
    "precision": 0.9,
    "auto": 80,
    "auto_precision": 0.975,
    "coverage": 0.6667,
    "abstain_rate": 0.05,
}


class FeedbackIn(BaseModel):
    """The label staff settled on for one head of a classified ticket."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_FEEDBACK_EXAMPLE]})

    ticket_id: str = Field(min_length=1, max_length=200)
    head: str = Field(min_length=1, max_length=64, description="e.g. 'category' or 'tier'.")
    predicted: str = Field(min_length=1, max_length=200, description="The label triage answered.")
    final: str = Field(min_length=1, max_length=200, description="The label staff chose.")
    model_version: str = Field(min_length=1, max_length=100, description="As triage answered it.")
    decision: Literal["auto", "suggest", "review"] | None = Field(
        None, description="The decision triage answered; needed for coverage and abstain rate."
    )
    confidence: float | None = Field(None, ge=0.0, le=1.0)


class FeedbackBatchIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"items": [_FEEDBACK_EXAMPLE]}]}
    )

    items: list[FeedbackIn] = Field(min_length=1, description="Up to TRIAGE_MAX_BATCH items.")


class FeedbackStoredOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"stored": 1}]})

    stored: int = Field(
        description="Items committed (a repeat of one ticket, head and model "
        "version replaces the earlier answer)."
    )


class QualityOut(BaseModel):
    feedback: int = Field(description="Feedback items counted.")
    precision: float | None = Field(description="Share of predictions staff kept.")
    auto: int = Field(description="Items that triage had decided automatically.")
    auto_precision: float | None = Field(description="Share of automatic decisions staff kept.")
    coverage: float | None = Field(description="Share decided automatically.")
    abstain_rate: float | None = Field(description="Share triage sent to review.")


class HeadQualityOut(BaseModel):
    overall: QualityOut
    classes: dict[str, QualityOut] = Field(description="By predicted label.")


class QualityReportOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "since": "2026-11-01T00:00:00Z",
                    "model_version": "20261128-093000-3f2a9c1e",
                    "heads": {
                        "category": {
                            "overall": _QUALITY_EXAMPLE,
                            "classes": {"printers": _QUALITY_EXAMPLE},
                        }
                    },
                }
            ]
        }
    )

    since: datetime | None
    model_version: str | None
    heads: dict[str, HeadQualityOut]
