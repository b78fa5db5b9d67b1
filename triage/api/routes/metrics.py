"""Prometheus exposition of the app's metrics, and the drift of the served predictions."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from triage.api.deps import MetricsDep, ServiceDep, require_scope
from triage.api.schemas import ErrorOut
from triage.api.schemas_drift import DriftOut
from triage.auth import Scope

router = APIRouter(
    tags=["metrics"],
    dependencies=[Depends(require_scope(Scope.ADMIN))],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The Prometheus text exposition format.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
def metrics(collected: MetricsDep) -> Response:
    """Prometheus metrics: requests, latency, predictions, abstentions, confidence, model, drift."""
    return Response(collected.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/metrics/drift", response_model=DriftOut, responses={404: {"model": ErrorOut}})
def drift(service: ServiceDep) -> DriftOut:
    """Latest predicted-label shares and confidence per head against training (PSI)."""
    return DriftOut.of(service.drift_report())
