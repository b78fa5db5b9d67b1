"""Prometheus exposition of the app's metrics, and the drift of the served predictions."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from triage.api.clean_request import CleanRoute
from triage.api.deps import MetricsDep, ServiceDep, require_scope
from triage.api.openapi import error_response
from triage.api.schemas import ErrorOut
from triage.api.schemas_drift import DriftOut
from triage.core.auth import Scope

_EXAMPLE = (
    "# HELP triage_requests_total HTTP requests by route template, method and status.\n"
    "# TYPE triage_requests_total counter\n"
    'triage_requests_total{method="POST",route="/v1/classify",status="200"} 1042.0\n'
    "# HELP triage_model_info The model version being served (value 1).\n"
    "# TYPE triage_model_info gauge\n"
    'triage_model_info{version="20261128-093000-3f2a9c1e"} 1.0\n'
)

router = APIRouter(
    route_class=CleanRoute,
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
            "content": {"text/plain": {"schema": {"type": "string"}, "example": _EXAMPLE}},
        }
    },
)
def metrics(collected: MetricsDep) -> Response:
    """Prometheus metrics: requests, latency, predictions, abstentions, confidence, model, drift."""
    return Response(collected.render(), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/v1/metrics/drift",
    response_model=DriftOut,
    responses={404: error_response("model_not_found", "no model is loaded")},
)
def drift(service: ServiceDep) -> DriftOut:
    """Latest predicted-label shares and confidence per head against training (PSI)."""
    return DriftOut.of(service.drift_report())
