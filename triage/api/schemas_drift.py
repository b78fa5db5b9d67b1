"""Body of GET /v1/metrics/drift: recent predictions against the training distribution."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from triage.service import DriftReport


class LabelShareOut(BaseModel):
    count: int = Field(description="Predictions of this label in the window.")
    current: float | None = Field(description="Its share of the window; null while empty.")
    reference: float | None = Field(
        description="Its share of the predictions on the training rows (out of fold)."
    )
    training: float | None = Field(description="Its share of the true training labels.")


class HeadDriftOut(BaseModel):
    status: Literal["stable", "moderate", "drifted", "insufficient_data", "no_reference"] = Field(
        description=(
            "stable: psi below half the threshold; moderate: up to the threshold; drifted: "
            "above it; insufficient_data: fewer than min_predictions so far; no_reference: "
            "the model was trained without a reference distribution."
        )
    )
    drifted: bool = Field(description="True when status is 'drifted'.")
    psi: float | None = Field(
        description=(
            "Population stability index of the predicted-label shares against the reference "
            "(null without a reference or a prediction); judged only from min_predictions on."
        )
    )
    threshold: float = Field(description="PSI above which the head is drifted.")
    window: int = Field(description="Latest predictions kept (TRIAGE_DRIFT_WINDOW).")
    observed: int = Field(description="Predictions in the window now.")
    min_predictions: int = Field(
        description="Predictions needed for a verdict (more for heads with many labels)."
    )
    mean_confidence: float | None = Field(description="Mean confidence of the window.")
    reference_mean_confidence: float | None = Field(
        description="Mean confidence on the training rows (out of fold)."
    )
    labels: dict[str, LabelShareOut]


class DriftOut(BaseModel):
    """Every head of the served model: its latest predictions against training."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model_version": "20261128-093000-3f2a9c1e",
                    "reference": True,
                    "drifted": False,
                    "heads": {
                        "tier": {
                            "status": "stable",
                            "drifted": False,
                            "psi": 0.031,
                            "threshold": 0.2,
                            "window": 5000,
                            "observed": 5000,
                            "min_predictions": 500,
                            "mean_confidence": 0.74,
                            "reference_mean_confidence": 0.72,
                            "labels": {
                                "L1": {
                                    "count": 3050,
                                    "current": 0.61,
                                    "reference": 0.6,
                                    "training": 0.58,
                                },
                                "L2": {
                                    "count": 1400,
                                    "current": 0.28,
                                    "reference": 0.29,
                                    "training": 0.3,
                                },
                                "L3": {
                                    "count": 550,
                                    "current": 0.11,
                                    "reference": 0.11,
                                    "training": 0.12,
                                },
                            },
                        }
                    },
                }
            ]
        }
    )

    model_version: str
    reference: bool = Field(
        description="False for a model trained without a reference distribution (retrain it)."
    )
    drifted: bool = Field(description="True when any head is drifted.")
    heads: dict[str, HeadDriftOut]

    @classmethod
    def of(cls, report: DriftReport) -> DriftOut:
        return cls(
            model_version=report.model_version,
            reference=report.has_reference,
            drifted=report.drifted,
            heads={
                head: HeadDriftOut.model_validate(drift, from_attributes=True)
                for head, drift in report.heads.items()
            },
        )
